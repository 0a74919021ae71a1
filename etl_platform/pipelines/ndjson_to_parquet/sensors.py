"""The file-events sensor: SQS -> validator -> tracking table -> manifest runs.

One tick (bounded in messages and seconds, far under Dagster's 60 s limit):
1. receive S3 events from the file-events queue and hand each to the validator; a message
   is deleted only once every object in it is tracked or quarantined, so a failure leaves
   it for redelivery (and the DLQ after 3 receives);
2. unless the circuit breaker is open, for each date whose pending files reached a
   threshold (count, bytes, or the orphan-flush age), mint manifest ids, record them
   (MANIFEST# pending) and request one run per manifest, its id as run_key and run tag, its date as partition
   (planning.py: what that reads per date).
"""

import time
from collections import defaultdict

from dagster import DefaultSensorStatus, SensorEvaluationContext, SensorResult, sensor

from etl_platform.config import Settings
from etl_platform.core.ingestion.breaker import blocking_reason
from etl_platform.core.s3_events import MalformedEvent
from etl_platform.pipelines.ndjson_to_parquet.partitions import manifest_run_request
from etl_platform.pipelines.ndjson_to_parquet.planning import plan_manifests
from etl_platform.pipelines.ndjson_to_parquet.validator import ValidatorDependencies, make_handler, rules_from
from etl_platform.resources.connection import PlatformS3Resource
from etl_platform.resources.sqs import SqsQueue
from etl_platform.resources.tracking import FileTrackingTable


def validator_for(settings: Settings, tracking: FileTrackingTable, s3_client):
    """The validator handler over these resources: what a file's S3 event is handed to."""
    deps = ValidatorDependencies(s3=s3_client, tracking=tracking, rules=rules_from(settings),
                                 quarantine_bucket=settings.names.quarantine_bucket,
                                 shards=settings.ingestion.status_shards)
    return make_handler(lambda: deps)


def ingest_file_events(context, queue: SqsQueue, handler, settings: Settings) -> dict[str, int]:
    ingestion = settings.ingestion
    deadline = time.monotonic() + ingestion.sqs_max_seconds_per_tick
    counts: dict[str, int] = defaultdict(int)
    received = 0
    while received < ingestion.sqs_max_messages_per_tick and time.monotonic() < deadline:
        messages = queue.receive(max_messages=10, wait_seconds=1, visibility_timeout=ingestion.sqs_visibility_seconds)
        if not messages:
            break
        received += len(messages)
        done = []
        for message in messages:
            try:
                for result in handler(message.body, None)["results"]:
                    counts[result["outcome"]] += 1
                    if result["outcome"] == "quarantined":
                        context.log.warning(f"quarantined {result['key']}: {result['reason']}")
                done.append(message.receipt_handle)
            except MalformedEvent as exc:
                counts["malformed_messages"] += 1
                context.log.error(f"message {message.message_id} is not an S3 event ({exc}); "
                                  f"left for the DLQ (receive {message.receive_count} of 3)")
            except Exception as exc:  # noqa: BLE001 - one bad message must not stop the tick
                counts["errors"] += 1
                context.log.error(f"message {message.message_id} failed ({exc!r}); it will be redelivered")
        queue.delete(done)
    counts["messages"] = received
    return dict(counts)


def build_file_events_sensor(settings: Settings, job):
    names = settings.names

    @sensor(job=job, minimum_interval_seconds=10, default_status=DefaultSensorStatus.RUNNING,
            description=f"Ingests S3 events from {names.file_events_queue} and starts a run per manifest")
    def ndjson_file_events_sensor(context: SensorEvaluationContext, file_events_queue: SqsQueue,
                                  tracking_table: FileTrackingTable, s3: PlatformS3Resource):
        counts = ingest_file_events(context, file_events_queue, validator_for(settings, tracking_table, s3.get_client()),
                                    settings)
        if counts["messages"]:
            context.log.info(f"file events: {counts}")
        now = time.time()
        ingestion = settings.ingestion
        paused = blocking_reason(tracking_table.breaker(), now, ingestion.circuit_breaker_failures,
                                 ingestion.circuit_breaker_cooldown_seconds)
        if paused:
            return SensorResult(skip_reason=paused)
        planned = plan_manifests(tracking_table, settings, now, warn=context.log.warning)
        if not planned:
            return SensorResult(skip_reason=f"no manifest due ({counts.get('tracked', 0)} files tracked this tick)")
        for new_id, date_prefix, reason in planned:
            context.log.info(f"manifest {new_id} for {date_prefix}: {reason}")
        return SensorResult(
            run_requests=[
                manifest_run_request(new_id, run_key=new_id, tags={"date_prefix": date_prefix, "trigger": reason})
                for new_id, date_prefix, reason in planned
            ],
        )

    return ndjson_file_events_sensor
