"""Operator actions on pipeline B, for the CLI: replay a manifest, reset the circuit
breaker, redrive the dead-letter queue, and a status summary."""

from __future__ import annotations

import time
from typing import Any

from dagster import DagsterInstance

from etl_platform.config import Settings
from etl_platform.core.ingestion.breaker import BreakerState, blocking_reason
from etl_platform.core.ingestion.health import by_date
from etl_platform.core.timestamps import iso_utc
from etl_platform.pipelines.in_process import execute_partition, resolve_job
from etl_platform.pipelines.ndjson_to_parquet import JOB_NAME, ndjson_to_parquet_definitions
from etl_platform.pipelines.ndjson_to_parquet.assets import ENGINE_TAG
from etl_platform.core.ingestion.manifests import date_of_manifest
from etl_platform.pipelines.ndjson_to_parquet.health_reads import files_counted, newest_quarantined, pending_backlog
from etl_platform.pipelines.ndjson_to_parquet.partitions import MANIFEST_TAG, ndjson_dates_partitions
from etl_platform.pipelines.ndjson_to_parquet.reconciliation import dead_letters
from etl_platform.resources import platform_resources

LATEST_QUARANTINED = 10  # in `ingest status`; the tracking table holds every one


def replay(settings: Settings, manifest: str, instance: DagsterInstance, engine: str | None = None) -> bool:
    """Run the manifest again (in its date's partition, named by its run tag), recorded in `instance` (so it shows in the UI).
    An operator's replay starts a fresh count of attempts: if its run dies, the platform
    re-runs it (reaper.py) as it would a first run. It records when (`replayed_epoch`):
    `ops requeue-failed` replays the least recently replayed first."""
    tracking = platform_resources(settings)["tracking_table"]
    if tracking.manifest(manifest) is None:
        raise ValueError(f"unknown manifest {manifest!r}")
    tracking.update_manifest(manifest, attempts=1, replayed_epoch=time.time())
    job = resolve_job(settings, ndjson_to_parquet_definitions(settings), JOB_NAME)
    tags = {"replay": "true", MANIFEST_TAG: manifest, **({ENGINE_TAG: engine} if engine else {})}
    return execute_partition(job, instance, ndjson_dates_partitions, date_of_manifest(manifest), tags)


def reset_breaker(settings: Settings) -> BreakerState:
    """Close the breaker (idempotent); the state it replaced."""
    return platform_resources(settings)["tracking_table"].reset_breaker()


def redrive_dead_letters(settings: Settings, limit: int = 1000) -> int:
    """Move messages from the DLQ back to the file-events queue (after fixing their cause)."""
    resources = platform_resources(settings)
    dlq, queue = resources["dead_letter_queue"], resources["file_events_queue"]
    moved = 0
    while moved < limit:
        messages = dlq.receive(max_messages=10)
        if not messages:
            break
        for message in messages:
            queue.send(message.body)
        dlq.delete([m.receipt_handle for m in messages])
        moved += len(messages)
    return moved


def preview_dead_letters(settings: Settings, limit: int = 1000) -> list[dict[str, Any]]:
    """What `redrive_dead_letters` would move, moving and consuming nothing (see
    `SqsQueue.peek`: looking adds 1 to each message's receive count on the DLQ, which has
    no redrive policy, and a redrive sends a new message whose count starts at 0)."""
    return dead_letters(platform_resources(settings)["dead_letter_queue"], limit)


def status(settings: Settings, now: float) -> dict[str, Any]:
    """Counts with reads bounded by `health.per_shard_read_limit` per date and shard (as `ops
    health` reads them, health_reads.py), never the whole table: a count that reached the
    limit is shown `N+`."""
    resources = platform_resources(settings)
    tracking = resources["tracking_table"]
    ingestion = settings.ingestion
    limit = settings.health.per_shard_read_limit
    breaker = tracking.breaker()
    skipped: list[str] = []  # malformed pending items, named, instead of a crash
    pending = by_date(pending_backlog(tracking, limit, warn=skipped.append))
    quarantined, more_quarantined = newest_quarantined(tracking, limit)
    return {
        "pending_files_by_date": {d.date_prefix: _at_least(d.files, d.truncated) for d in pending},
        "skipped_malformed_items": skipped,
        "quarantined_files": _at_least(len(quarantined), more_quarantined),
        "latest_quarantined": latest_quarantined(quarantined),
        "failed_files": _at_least(*files_counted(tracking, "failed", limit)),
        "circuit_breaker": {
            "consecutive_failures": breaker.consecutive_failures,
            "opened_at": iso_utc(breaker.opened_at) if breaker.opened_at is not None else None,
            "times_opened": breaker.times_opened,
            "blocking": blocking_reason(breaker, now, ingestion.circuit_breaker_failures,
                                        ingestion.circuit_breaker_cooldown_seconds),
        },
        "queue": resources["file_events_queue"].approximate_depth(),
        "dead_letters": resources["dead_letter_queue"].approximate_depth(),
    }


def _at_least(count: int, truncated: bool) -> int | str:
    """The count, or `N+` when its read stopped at the limit."""
    return f"{count}+" if truncated else count


def latest_quarantined(items: list[dict[str, Any]], limit: int = LATEST_QUARANTINED) -> list[dict[str, Any]]:
    """The newest quarantined files of those read, each with where it landed, why, and where it is now."""
    newest = sorted(items, key=lambda i: str(i.get("first_seen", "")), reverse=True)[:limit]
    return [{"file_path": i.get("file_path"), "reason": i.get("reason"), "quarantine_path": i.get("quarantine_path"),
             "first_seen": i.get("first_seen")} for i in newest]
