"""Recovery of pipeline B's manifests outside their runs: the reaper and the run-failure sensor.

A run that dies without settling leaves its MANIFEST open (`pending` mid-claim, `processing`
mid-conversion) and its files `manifested#N`; a file-events sensor killed between minting
MANIFEST records and returning their run requests leaves records no run will ever take.
Two sensors in the daemon find such manifests and apply one rule
(etl_platform/core/ingestion/recovery.py) to each, with the liveness of its latest run
(etl_platform/core/liveness.py: a STARTED run whose heartbeat stopped is dead):

- `ndjson_manifest_reaper`, every `recovery.reaper_interval_seconds`: every open MANIFEST
  (the status GSI nominates, a consistent read confirms). It is what notices a run whose
  worker died (Dagster's default launcher leaves it STARTED for ever: the reaper reports it
  failed) and manifests no run ever held. It also settles files left `manifested#N` under
  a MANIFEST already `completed` or `failed` (a run killed while it updated its files):
  they take the manifest's outcome;
- `ndjson_failed_runs`, as soon as a run of the job fails: the manifest of that run (the
  fast path when a step process died and Dagster ended the run FAILURE). A manifest the asset
  settled itself (a deterministic conversion error is recorded `failed` before the run
  ends) is settled, so it is never re-run automatically: the breaker has counted it.

A re-run is a RunRequest for the same manifest (partitions.py), run key `<manifest>#rerun-of-<dead run id>` (tag `etl/attempt=<n>`), made only
after a conditional write counted attempt n on the MANIFEST for that dead run
(`FileTrackingTable.request_rerun`), so the two sensors, or two ticks, never both start it.
`ndjson_manifest` resumes a claim cut short (it claims more while the MANIFEST is not
`claimed`); `merged_parquet` converts again and overwrites the same deterministic output
paths, so nothing is duplicated. After `recovery.max_attempts` runs, or when the run was
cancelled, the manifest is failed like a failure the asset records (`record_manifest_failure`:
files `failed#N`, breaker count, SNS alert); `etl-platform ingest replay <id>` converts it.
The reaper re-runs whether or not the circuit breaker is open: it finishes manifests already
minted, it does not mint new ones.
"""

from __future__ import annotations

import time
from typing import Any

from dagster import (
    DefaultSensorStatus, RunFailureSensorContext, RunRequest, RunsFilter, SensorEvaluationContext, SensorResult,
    run_failure_sensor, sensor,
)

from etl_platform.config import Settings
from etl_platform.core.attempts import ATTEMPT_TAG
from etl_platform.core.ingestion.recovery import GIVE_UP, RERUN, Decision, LatestRun, ManifestRecord, decide
from etl_platform.liveness import fail_silent_run, run_verdict
from etl_platform.pipelines.ndjson_to_parquet.assets import ENGINE_TAG
from etl_platform.pipelines.ndjson_to_parquet.partitions import (
    LEGACY_PARTITION_TAG, MANIFEST_TAG, manifest_of_run, manifest_run_request,
)
from etl_platform.pipelines.ndjson_to_parquet.settlement import record_manifest_failure
from etl_platform.resources.dynamodb import DynamoTable
from etl_platform.resources.sns import AlertsTopic
from etl_platform.resources.tracking import FileTrackingTable
from etl_platform.run_heartbeat import last_heartbeat


def latest_run(instance: Any, item: dict[str, Any], now: float, settings: Settings) -> tuple[LatestRun | None, dict]:
    """The manifest's newest Dagster run, whether it is alive (by its own heartbeat), and its tags."""
    runs = instance.get_runs(RunsFilter(tags={MANIFEST_TAG: item["manifest_id"]}), limit=1) or \
        instance.get_runs(RunsFilter(tags={LEGACY_PARTITION_TAG: item["manifest_id"]}), limit=1)  # a run from before daily partitions
    if not runs:
        return None, {}
    run = runs[0]
    verdict = run_verdict(instance, run.run_id, last_heartbeat(run), now, settings.recovery.silent_run_seconds)
    return LatestRun(run.run_id, run.status.value, verdict), dict(run.tags)


def recover_manifest(log: Any, instance: Any, item: dict[str, Any], tracking_table: FileTrackingTable,
                     alerts: AlertsTopic, metrics_table: DynamoTable, settings: Settings,
                     detail: str = "") -> tuple[Decision, RunRequest | None]:
    """Apply the recovery rule to one MANIFEST record; the decision, and the run to request
    when it is a re-run this call won."""
    manifest = item["manifest_id"]
    now = time.time()
    run, tags = latest_run(instance, item, now, settings)
    decision = decide(ManifestRecord.from_item(item), run, now, grace_seconds=settings.recovery.grace_seconds,
                      max_attempts=settings.recovery.max_attempts)
    if decision.fail_silent_run and run is not None and fail_silent_run(instance, run.run_id, run.verdict):
        log.warning(f"{manifest}: reported run {run.run_id} failed: {run.verdict.reason}")
    if decision.action == RERUN:
        seen = int(item.get("attempts", 1))
        if tracking_table.request_rerun(manifest, seen_attempts=seen, dead_run=decision.dead_run, now=now,
                                        stale_after=settings.recovery.grace_seconds) is None:
            log.info(f"{manifest}: its re-run was counted by another sensor or tick meanwhile")
            return decision, None
        log.warning(f"{manifest}: re-run: {decision.reason}")
        kept = {k: tags[k] for k in (ENGINE_TAG,) if k in tags}  # an engine an operator forced stays forced
        # keyed by the dead run, not the attempt number: a replay starts the count again, and
        # the daemon silently skips a run key this sensor used before
        return decision, manifest_run_request(manifest, run_key=f"{manifest}#rerun-of-{decision.dead_run}",
                                              tags={**kept, ATTEMPT_TAG: str(seen + 1), "trigger": "recovery",
                                                    "rerun_of": decision.dead_run})
    if decision.action == GIVE_UP:
        give_up(log, item, f"{decision.reason}{': ' + detail if detail else ''}", decision.dead_run, tracking_table,
                alerts, metrics_table, settings, now)
    return decision, None


def give_up(log: Any, item: dict[str, Any], error: str, dead_run: str, tracking_table: FileTrackingTable,
            alerts: AlertsTopic, metrics_table: DynamoTable, settings: Settings, now: float) -> bool:
    """Fail an open manifest for good (after its last attempt, or by an operator's
    `etl-platform ops reset-stuck`), through the one settlement path: MANIFEST and files
    failed, breaker, alert, metrics. False when a run took it over or settled it meanwhile
    (a re-run's claim included: the write holds only while the run judged dead holds it)."""
    files = tracking_table.files_of_manifest(item["manifest_id"])
    started = float(item.get("created_epoch", now))
    return record_manifest_failure(log, item.get("run_id") or dead_run, item["manifest_id"], files, error,
                                   tracking_table, alerts, metrics_table, now - started, settings, judged_dead=True)


def settle_stranded_files(log: Any, instance: Any, tracking_table: FileTrackingTable,
                          settings: Settings) -> dict[str, int]:
    """Files still `manifested#N` under a MANIFEST that is settled take its outcome: its run
    died between settling the MANIFEST and settling the files (or part-way through them).
    The status GSI nominates them; each manifest's files are read consistently. A run that
    settled the MANIFEST and whose worker then died is reported failed, as for open ones.
    How many moved, per manifest."""
    nominated = {i.get("manifest_id") for i in tracking_table.files_in_state("manifested")}
    moved = {}
    for manifest in sorted(m for m in nominated if m):
        record = tracking_table.manifest(manifest)
        if record is None or record["status"] not in ("completed", "failed"):
            continue  # open: the recovery rule handles it with the manifest
        run, _ = latest_run(instance, record, time.time(), settings)
        if run is not None and run.verdict.worker_silent and fail_silent_run(instance, run.run_id, run.verdict):
            log.warning(f"{manifest}: reported run {run.run_id} failed: {run.verdict.reason}")
        files = [f for f in tracking_table.files_of_manifest(manifest) if f["status"].startswith("manifested#")]
        # a completed MANIFEST lists the files its engine could not convert: those fail, never complete
        unconverted = set(record.get("failed_files") or ())
        count = tracking_table.settle_files([f for f in files if f["file_key"] in unconverted], "failed", manifest,
                                            error="the engine could not convert it (see the manifest's run)")
        if record["status"] == "completed":
            count += tracking_table.settle_files([f for f in files if f["file_key"] not in unconverted], "completed",
                                                 manifest, completed_by=record.get("run_id", ""),
                                                 engine=record.get("engine", ""))
        else:
            count += tracking_table.settle_files([f for f in files if f["file_key"] not in unconverted], "failed",
                                                 manifest, error=record.get("error"))
        if count:
            moved[manifest] = count
    return moved


def build_recovery_sensors(settings: Settings, job):
    @sensor(job=job, minimum_interval_seconds=settings.recovery.reaper_interval_seconds,
            default_status=DefaultSensorStatus.RUNNING,
            description="Re-runs (or, after max attempts, fails) manifests left pending/processing by a dead run")
    def ndjson_manifest_reaper(context: SensorEvaluationContext, tracking_table: FileTrackingTable,
                               alerts: AlertsTopic, metrics_table: DynamoTable):
        stranded = settle_stranded_files(context.log, context.instance, tracking_table, settings)
        if stranded:
            context.log.warning(f"settled files a dead run left behind its settled manifest: {stranded}")
        requests, counts = [], {}
        for item in tracking_table.open_manifests():
            decision, request = recover_manifest(context.log, context.instance, item, tracking_table, alerts,
                                                 metrics_table, settings)
            counts[decision.action] = counts.get(decision.action, 0) + 1
            if request is not None:
                requests.append(request)
        if not requests:
            return SensorResult(skip_reason=f"no manifest to re-run ({counts or 'none open'})")
        return SensorResult(run_requests=requests)

    @run_failure_sensor(monitored_jobs=[job], request_job=job, default_status=DefaultSensorStatus.RUNNING,
                        description="Re-runs (or fails, with the breaker count and an alert) a manifest its failed run "
                                    "left unsettled")
    def ndjson_failed_runs(context: RunFailureSensorContext, tracking_table: FileTrackingTable, alerts: AlertsTopic,
                           metrics_table: DynamoTable):
        run = context.dagster_run
        manifest = manifest_of_run(run.tags)
        item = tracking_table.manifest(manifest) if manifest else None
        if item is None:
            return None
        message = context.failure_event.message if context.failure_event else "the run failed"
        _, request = recover_manifest(context.log, context.instance, item, tracking_table, alerts, metrics_table,
                                      settings, detail=f"run {run.run_id} failed: {message}")
        return [request] if request else None

    return [ndjson_manifest_reaper, ndjson_failed_runs]
