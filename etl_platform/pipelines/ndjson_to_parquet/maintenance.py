"""Seed 002's state manager as operator actions (`etl-platform ops ...`): a health snapshot,
one manifest's files, and the maintenance of stuck and failed work. Every state change goes
through the platform's own paths, never a write of its own:

- `reset_stuck` settles what the reaper would have: files left `manifested#N` behind a
  settled MANIFEST take its outcome (`settle_stranded_files`), and each stuck manifest (open,
  no live run, unchanged for the stuck age) is failed through `give_up`, the reaper's give-up
  path (`record_manifest_failure`: MANIFEST and files failed, breaker count, SNS alert,
  metrics item). Its first write is conditional on the dead run still holding the manifest,
  so a run that took it over meanwhile wins and nothing is reset;
- `requeue_failed` replays each manifest with failed files, or failed as a whole, with
  `operations.replay` (`etl-platform ingest replay`): the same files into the same output
  paths, so converted rows are written once; the least recently replayed first, so manifests
  that fail at every replay do not starve the others.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from etl_platform.config import Settings
from etl_platform.core.ingestion.health import FailedManifest, HealthSnapshot, HealthThresholds
from etl_platform.core.ingestion.manifest_view import is_manifest_id, manifest_view
from etl_platform.liveness import fail_silent_run
from etl_platform.pipelines.ndjson_to_parquet.health_reads import (
    failed_manifests, health_thresholds, judge_open_manifests, take_snapshot,
)
from etl_platform.pipelines.ndjson_to_parquet.operations import replay
from etl_platform.pipelines.ndjson_to_parquet.reaper import give_up, settle_stranded_files
from etl_platform.resources import platform_resources

log = logging.getLogger(__name__)


def health(settings: Settings, instance: Any, now: float | None = None) -> tuple[HealthSnapshot, HealthThresholds]:
    resources = platform_resources(settings)
    snapshot = take_snapshot(settings, instance, resources["tracking_table"], resources["file_events_queue"],
                             resources["dead_letter_queue"], now)
    return snapshot, health_thresholds(settings)


def manifest_report(settings: Settings, manifest: str) -> dict[str, Any]:
    if not is_manifest_id(manifest):
        raise ValueError(f"not a manifest id: {manifest!r} (expected batch-NNNN-YYYYMMDD-HHMMSS)")
    tracking = platform_resources(settings)["tracking_table"]
    record = tracking.manifest(manifest)
    if record is None:
        raise ValueError(f"unknown manifest {manifest!r}")
    return manifest_view(record, tracking.files_of_manifest(manifest))


@dataclass(frozen=True)
class ResetOutcome:
    manifest_id: str
    reset: bool
    why: str


def reset_stuck(settings: Settings, instance: Any, older_than: float | None = None,
                dry_run: bool = False) -> tuple[list[ResetOutcome], dict[str, int]]:
    """Fail the stuck manifests (and settle stranded files); what happened to each open
    manifest, and the stranded files settled per manifest."""
    resources = platform_resources(settings)
    tracking = resources["tracking_table"]
    older_than = settings.health.stuck_manifest_seconds if older_than is None else older_than
    stranded = {} if dry_run else settle_stranded_files(log, instance, tracking, settings)
    now = time.time()
    outcomes = []
    for judged in judge_open_manifests(tracking, instance, settings, now):
        view, decision = judged.view, judged.decision
        if view.run_alive:
            outcomes.append(ResetOutcome(view.manifest_id, False, f"left alone: {view.run_reason}"))
            continue
        if now - view.since < older_than:
            outcomes.append(ResetOutcome(view.manifest_id, False, f"left alone: changed {now - view.since:.0f} s ago "
                                                                  f"(stuck after {older_than:.0f} s): {view.run_reason}"))
            continue
        if dry_run:
            outcomes.append(ResetOutcome(view.manifest_id, False, f"would be failed: {view.run_reason}"))
            continue
        if decision.fail_silent_run and judged.run is not None:
            fail_silent_run(instance, judged.run.run_id, judged.run.verdict)
        error = f"reset by an operator (etl-platform ops reset-stuck): {decision.reason}"
        done = give_up(log, judged.item, error, decision.dead_run, tracking, resources["alerts"],
                       resources["metrics_table"], settings, now)
        outcomes.append(ResetOutcome(view.manifest_id, done, "failed: `etl-platform ops requeue-failed` replays it" if done
                                     else "a run took it over or settled it meanwhile: left to that run"))
    return outcomes, stranded


def requeue_failed(settings: Settings, instance: Any, date_prefix: str | None = None, limit: int = 20,
                   dry_run: bool = False) -> tuple[list[tuple[FailedManifest, bool | None]], bool]:
    """Replay up to `limit` manifests with failed work (of `date_prefix`, or any date), one
    after the other, the least recently replayed first; each with its outcome (None in a dry
    run), and whether more were found than replayed."""
    tracking = platform_resources(settings)["tracking_table"]
    found, truncated = failed_manifests(tracking, settings.health.per_shard_read_limit, date_prefix)
    # least recently replayed first (never replayed before any): a manifest that fails again
    # at every replay goes to the back instead of taking the first of `limit` places for ever
    chosen = sorted(found, key=lambda f: (f.replayed_epoch, f.manifest_id))[:limit]
    results = [(failed, None if dry_run else replay(settings, failed.manifest_id, instance)) for failed in chosen]
    return results, truncated or len(found) > limit
