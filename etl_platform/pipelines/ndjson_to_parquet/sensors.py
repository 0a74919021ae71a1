"""The file-events sensor: dispatch validation, observe the queue, plan manifest runs.

A tick does a bounded, constant amount of work, whatever the backlog:
1. the file-events queue's depth (one GetQueueAttributes). Locally, when messages wait and
   no validation run is in flight (a silent one is ended first: run_heartbeat.py), it
   requests one `ndjson_validation_job` run (validation.py), run key `validate-after-<the
   latest validation run>` so two ticks never start two. On AWS the validator Lambda
   consumes the queue; the tick only reports its depth. Validation itself (S3 reads,
   quarantines, conditional writes) never runs in the tick: it is in runs, logged and
   retryable, or in the Lambda, at the seed's concurrency;
2. unless the circuit breaker is open, for each date whose pending files reached a
   threshold (count, bytes, or the orphan-flush age), mint manifest ids, record them
   (MANIFEST# pending) and request one run per manifest, its id as run_key and run tag, its date as partition
   (planning.py: what that reads per date); and the runs of manifests an operator's flush
   minted (`etl-platform ingest flush`, `ndjson_flush_job`), whose run key is their id too.
What the tick saw and did is its skip reason or its log lines: per date, the files pending,
their bytes and the oldest one's age, and what forms the next manifest and when
(core/ingestion/backlog.py), from what planning read anyway. The same numbers go to the
`ndjson_landing_files` asset as observations, which Dagster plots over time.
"""

import json
import time

from dagster import (
    AssetObservation, DefaultSensorStatus, MetadataValue, RunRequest, RunsFilter, SensorEvaluationContext,
    SensorResult, sensor,
)

from etl_platform.config import Settings
from etl_platform.core.ingestion.backlog import (
    carried, describe, observation_cursor, observation_due, observation_metadata, summary,
)
from etl_platform.core.ingestion.breaker import blocking_reason
from etl_platform.core.liveness import ENDED
from etl_platform.pipelines.ndjson_to_parquet.partitions import manifest_run_request
from etl_platform.pipelines.ndjson_to_parquet.planning import TickPlan, plan_manifests, thresholds_from
from etl_platform.pipelines.ndjson_to_parquet.validation import LANDING_ASSET, VALIDATION_JOB
from etl_platform.resources.sqs import SqsQueue
from etl_platform.resources.tracking import FileTrackingTable
from etl_platform.run_heartbeat import end_silent_runs

# While files are pending, `ndjson_landing_files` gets an observation at most this often (and
# at once when a date appears or drains): plots that move, not an event per tick.
OBSERVATION_SECONDS = 60


def validation_request(instance, queue: SqsQueue, settings: Settings, now: float) -> tuple[RunRequest | None, str]:
    """The validation run to request now, if any, and what the queue and runs look like."""
    depth = queue.approximate_depth()
    seen = f"file events: {depth['visible']} waiting, {depth['in_flight']} being handled"
    if not settings.is_local:
        return None, f"{seen} (by the validator Lambda)"
    for run_id, verdict in end_silent_runs(instance, VALIDATION_JOB, now, settings.recovery.silent_run_seconds):
        seen += f"; validation run {run_id} ended: {verdict.reason}"
    [latest] = instance.get_runs(RunsFilter(job_name=VALIDATION_JOB), limit=1) or [None]
    if latest is not None and latest.status.value not in ENDED:
        return None, f"{seen}; validation run {latest.run_id} is {latest.status.value}"
    if not depth["visible"]:
        return None, seen
    request = RunRequest(job_name=VALIDATION_JOB, run_key=f"validate-after-{latest.run_id if latest else 'none'}",
                         tags={"etl/waiting_messages": str(depth["visible"])})
    return request, f"{seen}; validation run requested"


def build_file_events_sensor(settings: Settings, job, validation_job):
    names = settings.names
    thresholds = thresholds_from(settings)

    @sensor(jobs=[job, validation_job], minimum_interval_seconds=10, default_status=DefaultSensorStatus.RUNNING,
            description=f"Watches {names.file_events_queue}: requests a validation run when S3 events wait (locally), "
                        "and a run per manifest when enough files are tracked; says what each date waits for")
    def ndjson_file_events_sensor(context: SensorEvaluationContext, file_events_queue: SqsQueue,
                                  tracking_table: FileTrackingTable):
        now = time.time()
        validation, seen = validation_request(context.instance, file_events_queue, settings, now)
        (context.log.info if validation else context.log.debug)(seen)  # an idle tick says it in its skip reason
        requests = [validation] if validation else []
        ingestion = settings.ingestion
        paused = blocking_reason(tracking_table.breaker(), now, ingestion.circuit_breaker_failures,
                                 ingestion.circuit_breaker_cooldown_seconds)
        plan = TickPlan() if paused else plan_manifests(tracking_table, settings, now, warn=context.log.warning)
        for new_id, date_prefix, reason in plan.minted:
            context.log.info(f"requested the run of manifest {new_id} for {date_prefix}: {reason}")
        for new_id, date_prefix, reason in plan.flushed:
            context.log.info(f"requested the run of manifest {new_id} for {date_prefix}, formed by a flush ({reason})")
        if paused:
            context.log.info(paused)
        words = paused or summary(plan.backlogs, now, thresholds)
        previous = _cursor(context.cursor)
        events, cursor = [], context.cursor
        if not paused:
            observed_at = float((previous or {}).get("observed_at", 0))
            if observation_due(previous, plan.backlogs, now, OBSERVATION_SECONDS):
                events = [landing_observation(carried(previous, plan.backlogs), now, thresholds)]
                observed_at = now
            cursor = json.dumps(observation_cursor(previous, plan.backlogs, observed_at))
        runs = requests + [
            manifest_run_request(new_id, run_key=new_id, job_name=job.name,
                                 tags={"date_prefix": date_prefix, "trigger": reason})
            for new_id, date_prefix, reason in plan.minted + plan.flushed
        ]
        if not runs:
            return SensorResult(skip_reason=f"{words}. {seen}", cursor=cursor, asset_events=events)
        return SensorResult(run_requests=runs, cursor=cursor, asset_events=events)

    return ndjson_file_events_sensor


def landing_observation(backlogs, now: float, thresholds) -> AssetObservation:
    """What waits on `ndjson_landing_files`, as numbers Dagster plots and the tick's words."""
    metadata = {}
    for key, value in observation_metadata(backlogs, now, thresholds).items():
        if isinstance(value, int):
            metadata[key] = MetadataValue.int(value)
        elif isinstance(value, float):
            metadata[key] = MetadataValue.float(value)
        else:
            metadata[key] = MetadataValue.text(value)
    metadata["summary"] = MetadataValue.md(
        "\n".join(f"- {describe(b, now, thresholds)}" for b in backlogs) or "No files pending.")
    return AssetObservation(asset_key=LANDING_ASSET, metadata=metadata,
                            description=summary(backlogs, now, thresholds))


def _cursor(text: str | None) -> dict | None:
    try:
        return json.loads(text) if text else None
    except ValueError:  # a cursor from before observations: start afresh
        return None
