"""One day of pipeline B's metrics table as numbers (the `pipeline_health` asset). Pure.

The table (ndjson-parquet-sqs-metrics-{env}, PK date_prefix, SK manifest_id) holds one item
per manifest, written when it completes or fails (pipelines/ndjson_to_parquet/settlement.py
`record_metrics`; a replay overwrites the item of its manifest, so a day counts each
manifest's latest outcome), and one item per reconciliation pass (SK `RECONCILIATION#<time>`,
pipelines/ndjson_to_parquet/reconciliation.py).
"""

from __future__ import annotations

from typing import Any, Iterable

MB = 1024 * 1024
RECONCILIATION_PREFIX = "RECONCILIATION#"


def summarise_day(items: Iterable[dict[str, Any]]) -> dict[str, int | float]:
    manifests, passes = [], []
    for item in items:
        (passes if str(item.get("manifest_id", "")).startswith(RECONCILIATION_PREFIX) else manifests).append(item)
    completed = [m for m in manifests if m.get("status") == "completed"]
    failed = [m for m in manifests if m.get("status") == "failed"]
    seconds = sum(_number(m, "duration_s") for m in completed)
    converted_bytes = sum(_number(m, "bytes") for m in completed)
    finished = len(completed) + len(failed)
    return {
        "manifests_completed": len(completed),
        "manifests_failed": len(failed),
        "manifest_failure_pct": round(100.0 * len(failed) / finished, 2) if finished else 0.0,
        "files_converted": int(sum(_number(m, "files") for m in completed)),
        "files_in_failed_manifests": int(sum(_number(m, "files") for m in failed)),
        "input_mb": round(converted_bytes / MB, 3),
        "rows_in": int(sum(_number(m, "rows_in") for m in completed)),
        "rows_out": int(sum(_number(m, "rows_out") for m in completed)),
        "rejected_lines": int(sum(_number(m, "rejected") for m in completed)),
        "conversion_seconds": round(seconds, 3),
        # the day's throughput: all its bytes over all its conversion time (a mean of the
        # manifests' own rates would weigh a tiny manifest like a full one)
        "mb_per_s": round(converted_bytes / MB / seconds, 2) if seconds > 0 else 0.0,
        "slowest_manifest_s": round(max((_number(m, "duration_s") for m in completed), default=0.0), 3),
        "reconciliation_passes": len(passes),
        "files_recovered": int(sum(_number(p, "recovered") for p in passes)),
        "reconciliation_errors": int(sum(_number(p, "errors") for p in passes)),
    }


def _number(item: dict[str, Any], name: str) -> float:
    """A numeric attribute; 0 for one missing or not a number (an item written by hand or by
    an older version must not stop the day's summary)."""
    try:
        return float(item.get(name, 0) or 0)
    except (TypeError, ValueError):
        return 0.0
