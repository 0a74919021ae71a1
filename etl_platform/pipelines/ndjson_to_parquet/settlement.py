"""Record a manifest that failed, from its run or, when the run could not, from the daemon.

The `merged_parquet` asset records a failure itself (the fast path): MANIFEST `failed`,
its files `failed#N`, the circuit breaker's count, an SNS alert and a metrics item. A run
cancelled from the UI (Dagster's interruption is a BaseException the asset does not catch)
or whose worker died does none of it, and left the MANIFEST `pending` or `processing` and
its files `manifested#N` for ever, with no alert. The sensor here runs in the daemon: for
each cancelled run of the job it records the same failure for the manifest the run held
(an operator's cancellation is not undone behind their back; `etl-platform ingest replay`
runs it again). A run that failed or died is recovered by reaper.py: re-run, and failed
through `record_manifest_failure` only after its last attempt. Every path goes through
`record_manifest_failure`, whose first write is conditional on the run still holding the
manifest, so the second to come changes nothing.
"""

from __future__ import annotations

import time
from typing import Any

from dagster import (
    DagsterRunStatus, DefaultSensorStatus, RunStatusSensorContext, run_status_sensor,
)

from etl_platform.config import Settings
from etl_platform.core.ingestion.manifests import date_of_manifest
from etl_platform.core.timestamps import iso_utc
from etl_platform.pipelines.ndjson_to_parquet.partitions import manifest_of_run
from etl_platform.resources.dynamodb import DynamoTable
from etl_platform.resources.sns import AlertsTopic
from etl_platform.resources.tracking import FileTrackingTable

def record_manifest_failure(log: Any, run_id: str, manifest: str, files: list[dict], error: str,
                            tracking_table: FileTrackingTable, alerts: AlertsTopic, metrics_table: DynamoTable,
                            duration: float, settings: Settings, judged_dead: bool = False) -> bool:
    """Fail `manifest` as run `run_id` held it: MANIFEST, files, breaker, alert, metrics.
    False (and nothing else written) when another run holds it or it finished meanwhile
    (`judged_dead`: see `FileTrackingTable.fail_manifest`)."""
    error = error[:2000]
    log.error(f"{manifest} failed: {error}")
    if tracking_table.fail_manifest(manifest, run_id, error, judged_dead=judged_dead) is None:
        # another run holds it (or finished it) since: its outcome settles the files and the breaker
        log.warning(f"{manifest}: not marked failed, another run holds it; leaving its files to that run")
        return False
    tracking_table.settle_files(files, "failed", manifest, error=error)
    breaker, opened = tracking_table.record_breaker_failure(
        threshold=settings.ingestion.circuit_breaker_failures,
        cooldown_seconds=settings.ingestion.circuit_breaker_cooldown_seconds)
    if opened:
        log.error(f"{manifest}: circuit breaker opened after {breaker.consecutive_failures} consecutive failed manifests")
    alerts.publish_alert(f"NDJSON manifest {manifest} failed", {
        "manifest_id": manifest, "date_prefix": date_of_manifest(manifest), "file_count": len(files), "error": error,
        "run_id": run_id, "consecutive_failures": breaker.consecutive_failures, "breaker_opened": opened,
    })
    record_metrics(metrics_table, manifest, "failed", {"files": len(files), "bytes_in": sum(int(f["size"]) for f in files)},
                   duration, settings, error=error)
    return True


def record_metrics(metrics_table: DynamoTable, manifest: str, status: str, stats: dict, duration: float,
                   settings: Settings, error: str | None = None) -> None:
    bytes_in = int(stats.get("bytes_in", 0))
    item = {
        "date_prefix": date_of_manifest(manifest), "manifest_id": manifest, "status": status,
        "files": int(stats.get("files", 0)), "bytes": bytes_in, "rows_in": int(stats.get("rows_in", 0)),
        "rows_out": int(stats.get("rows_out", 0)), "rejected": int(stats.get("rejected", 0)),
        "duration_s": round(duration, 3), "mb_per_s": round(bytes_in / 1024 / 1024 / max(duration, 1e-6), 2),
        "engine": stats.get("engine", ""), "finished_at": iso_utc(),
        "ttl": int(time.time() + settings.ingestion.tracking_ttl_days * 86400),
    }
    if error:
        item["error"] = error
    metrics_table.put(item)


def build_settlement_sensors(settings: Settings, job):
    @run_status_sensor(run_status=DagsterRunStatus.CANCELED, monitored_jobs=[job],
                       default_status=DefaultSensorStatus.RUNNING,
                       description="Fails a manifest whose run was cancelled")
    def ndjson_cancelled_runs(context: RunStatusSensorContext, tracking_table: FileTrackingTable, alerts: AlertsTopic,
                              metrics_table: DynamoTable):
        run = context.dagster_run
        why = f"run {run.run_id} was cancelled"
        manifest = manifest_of_run(run.tags)
        if not manifest or tracking_table.manifest(manifest) is None:
            return
        files = tracking_table.files_of_manifest(manifest)
        record = context.instance.get_run_record_by_id(run.run_id)
        started = (record.start_time or record.create_timestamp.timestamp()) if record else time.time()
        if record_manifest_failure(context.log, run.run_id, manifest, files, why, tracking_table, alerts,
                                   metrics_table, time.time() - started, settings):
            context.log.info(f"{manifest}: failed after run {run.run_id} was cancelled")

    return [ndjson_cancelled_runs]
