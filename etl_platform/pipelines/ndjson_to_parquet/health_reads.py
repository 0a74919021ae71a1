"""Read a health snapshot of pipeline B (core/ingestion/health.py judges it), with reads
bounded by the work waiting, never by the table (README, "What each file costs"):

- pending files: the dates the status GSI lists (`pending_dates`, one item per date and
  shard), then per date and shard one query of at most `per_shard_read_limit` items; a
  shard with more shows `N+`, and the oldest file of those read;
- open manifests: the status GSI's `pending`/`processing` MANIFESTs, confirmed by a
  consistent read (`open_manifests`, as the reaper reads them), each judged by the
  recovery rule (core/ingestion/recovery.py) with its latest Dagster run;
- failed manifests: per shard one query of at most the limit of `failed#N` files, and one
  of `failed` MANIFESTs, confirmed by a consistent read of the MANIFESTs they name;
- the queues' approximate depths and the breaker item: one request each.

`ingest status` (operations.py) counts with the same bounded reads: pending files per date
and shard, failed files per shard, and the quarantined files of the newest dates.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from etl_platform.config import Settings
from etl_platform.core.ingestion.breaker import blocking_reason
from etl_platform.core.ingestion.health import (
    FailedManifest, HealthSnapshot, HealthThresholds, OpenManifest, ShardBacklog,
)
from etl_platform.core.ingestion.manifests import date_of_manifest
from etl_platform.core.ingestion.recovery import WAIT, Decision, LatestRun, ManifestRecord, decide
from etl_platform.pipelines.ndjson_to_parquet.reaper import latest_run
from etl_platform.resources.sqs import SqsQueue
from etl_platform.resources.tracking import MANIFEST_PREFIX, FileTrackingTable, sound_pending

Warn = Callable[[str], Any]


def health_thresholds(settings: Settings) -> HealthThresholds:
    """The health check's ages (not planning.py's `thresholds_from`, the manifests' batching
    thresholds): pending files are late after twice the orphan flush unless set."""
    health = settings.health
    pending = health.pending_age_seconds
    if pending is None:
        pending = 2 * settings.ingestion.orphan_flush_seconds
    return HealthThresholds(pending_age_seconds=pending, stuck_manifest_seconds=health.stuck_manifest_seconds)


def _by_status(tracking: FileTrackingTable, status: str, limit: int, date_prefix: str | None = None):
    condition = "#s = :s" + (" AND date_prefix = :d" if date_prefix else "")
    values = {":s": status, **({":d": date_prefix} if date_prefix else {})}
    return tracking.query_page(key_condition=condition, names={"#s": "status"}, values=values, limit=limit,
                               index_name=tracking.status_index)


def files_counted(tracking: FileTrackingTable, state: str, limit: int) -> tuple[int, bool]:
    """How many files are `state#N` across the shards, reading at most `limit` per shard;
    and whether a read stopped at its limit (then the count is a floor)."""
    counted, truncated = 0, False
    for shard in range(tracking.shards):
        items, following = _by_status(tracking, f"{state}#{shard}", limit)
        counted += len(items)
        truncated |= following is not None
    return counted, truncated


def newest_quarantined(tracking: FileTrackingTable, limit: int) -> tuple[list[dict[str, Any]], bool]:
    """At most `limit` quarantined files of the newest dates (the status GSI's range key is
    the date: one query read backwards); and whether more are quarantined."""
    items = list(tracking.query(key_condition="#s = :s", names={"#s": "status"}, values={":s": "quarantined"},
                                index_name=tracking.status_index, limit=limit + 1, forward=False))
    return items[:limit], len(items) > limit


def pending_backlog(tracking: FileTrackingTable, limit: int, warn: Warn | None = None) -> list[ShardBacklog]:
    backlog = []
    for date_prefix in tracking.pending_dates():
        for shard in range(tracking.shards):
            items, following = _by_status(tracking, f"pending#{shard}", limit, date_prefix)
            files = sound_pending(items, warn)
            if files or following:
                backlog.append(ShardBacklog(date_prefix, shard, len(files), sum(f.size for f in files),
                                            min((f.first_seen for f in files), default=None), following is not None))
    return backlog


def failed_manifests(tracking: FileTrackingTable, limit: int,
                     date_prefix: str | None = None) -> tuple[list[FailedManifest], bool]:
    """Manifests with failed files, or failed as a whole (some before claiming any file), as
    a consistent read of each MANIFEST confirms; and whether a read stopped at its limit."""
    failed_files: Counter = Counter()
    truncated = False
    for shard in range(tracking.shards):
        items, following = _by_status(tracking, f"failed#{shard}", limit, date_prefix)
        truncated |= following is not None
        failed_files.update(i["manifest_id"] for i in items if i.get("manifest_id"))
    items, following = _by_status(tracking, "failed", limit, date_prefix)
    truncated |= following is not None
    named = set(failed_files) | {i["manifest_id"] for i in items if str(i.get("file_key", "")).startswith(MANIFEST_PREFIX)}
    records = tracking.batch_get([{"date_prefix": date_of_manifest(m), "file_key": MANIFEST_PREFIX + m} for m in sorted(named)])
    found = [FailedManifest(r["manifest_id"], r["status"], failed_files[r["manifest_id"]], str(r.get("error", "")),
                            float(r.get("replayed_epoch") or 0))
             for r in records if r.get("status") == "failed" or (r.get("status") == "completed" and failed_files[r["manifest_id"]])]
    return sorted(found, key=lambda f: f.manifest_id), truncated


@dataclass(frozen=True)
class JudgedManifest:
    item: dict[str, Any]
    decision: Decision
    run: LatestRun | None  # its latest Dagster run, as the rule saw it

    @property
    def view(self) -> OpenManifest:
        return OpenManifest(self.item["manifest_id"], self.item["status"], last_change(self.item),
                            self.decision.action == WAIT, self.decision.reason)


def judge_open_manifests(tracking: FileTrackingTable, instance: Any, settings: Settings, now: float) -> list[JudgedManifest]:
    """Every open MANIFEST with the recovery rule's decision on it (the reaper's own reads)."""
    judged = []
    for item in tracking.open_manifests():
        run, _ = latest_run(instance, item, now, settings)
        decision = decide(ManifestRecord.from_item(item), run, now, grace_seconds=settings.recovery.grace_seconds,
                          max_attempts=settings.recovery.max_attempts)
        judged.append(JudgedManifest(item, decision, run))
    return judged


def last_change(item: dict[str, Any]) -> float:
    """When a MANIFEST last changed: minted, claimed, started, re-run (epoch s)."""
    moments = [float(item.get("created_epoch") or 0), float(item.get("rerun_epoch") or 0)]
    for name in ("updated_at", "claim_started_at"):
        try:
            moments.append(datetime.fromisoformat(str(item[name]).replace("Z", "+00:00")).timestamp())
        except (KeyError, ValueError):
            pass
    return max(moments)


def take_snapshot(settings: Settings, instance: Any, tracking: FileTrackingTable, queue: SqsQueue,
                  dead_letters: SqsQueue, now: float | None = None) -> HealthSnapshot:
    now = time.time() if now is None else now
    limit = settings.health.per_shard_read_limit
    skipped: list[str] = []
    breaker = tracking.breaker()
    depth, dead = queue.approximate_depth(), dead_letters.approximate_depth()
    failed, failed_truncated = failed_manifests(tracking, limit)
    return HealthSnapshot(
        taken_at=now, queue_visible=depth["visible"], queue_in_flight=depth["in_flight"],
        dead_letters=dead["visible"] + dead["in_flight"],
        backlog=tuple(pending_backlog(tracking, limit, warn=skipped.append)),
        open_manifests=tuple(j.view for j in judge_open_manifests(tracking, instance, settings, now)),
        failed=tuple(failed), failed_truncated=failed_truncated,
        breaker_failures=breaker.consecutive_failures,
        breaker_blocking=blocking_reason(breaker, now, settings.ingestion.circuit_breaker_failures,
                                         settings.ingestion.circuit_breaker_cooldown_seconds),
        skipped=tuple(skipped),
    )
