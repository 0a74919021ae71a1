"""Local validation runs: the file-events queue -> the validator, in Dagster runs.

On AWS the validator is a Lambda behind an SQS event source mapping (infra/template.yaml:
batch size 10, maximum concurrency dev 2 / prod 50). The emulator runs no Lambda, so
locally `ndjson_validation_job` plays the mapping's part with the same handler
(etl_platform/lambdas/ndjson_validator.py): `validator_concurrency` threads each receive up to `validator_batch_size`
messages, hand them to the handler as the event the mapping builds, and delete the
messages not named in its `batchItemFailures` (core/sqs_batches.py), until the queue is
empty or the run's bounds (`validation_max_messages_per_run`, `..._seconds_per_run`) are
reached. The file-events sensor only requests such a run when messages wait and none is in
flight; the work, its log lines and its counts are in the run, which can be retried.

Why threads and not Dagster steps or runs per batch: a batch is ~10 small requests, far
less than a run's or a step's own overhead (a process, event-log writes); the seed's
concurrency is a number of concurrent handlers, which threads give exactly.

A run killed at any point loses nothing: a message is deleted only after the handler
returned, so the ones it held come back after the visibility timeout, and the handler's
conditional writes make a second delivery a `duplicate`. The run beats (run_heartbeat.py):
the sensor ends a silent one as FAILURE before it asks for the next.

What a run did is on the `ndjson_landing_files` asset: one AssetObservation per run with
the counts of each outcome and the files quarantined, and a log line per batch.
"""


import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from dagster import AssetObservation, MetadataValue, OpExecutionContext, job, op

from etl_platform.config import Settings
from etl_platform.core.sqs_batches import deletable_message_ids, lambda_sqs_event
from etl_platform.faults import fault_point
from etl_platform.lambdas.ndjson_validator import ValidatorDependencies, make_handler, rules_from
from etl_platform.resources.connection import PlatformS3Resource
from etl_platform.resources.sqs import ReceivedMessage, SqsQueue
from etl_platform.resources.tracking import FileTrackingTable
from etl_platform.run_heartbeat import run_heartbeat
from etl_platform.console_log import CONSOLE_RUN_CONFIG

VALIDATION_JOB = "ndjson_validation_job"
LANDING_ASSET = "ndjson_landing_files"
QUARANTINES_SHOWN = 100  # in the run's observation; the tracking table and the run log hold every one


def validator_for(settings: Settings, tracking: FileTrackingTable, s3_client):
    """The validator handler over these resources: what a file's S3 event is handed to."""
    deps = ValidatorDependencies(s3=s3_client, tracking=tracking, rules=rules_from(settings),
                                 quarantine_bucket=settings.names.quarantine_bucket,
                                 shards=settings.ingestion.status_shards)
    return make_handler(lambda: deps)


@dataclass
class ValidationReport:
    """What one validation run did: messages received and deleted, outcomes per object
    (tracked, duplicate, quarantined, replaced, superseded, skipped), failed messages
    (malformed_messages, errors), and the quarantined files."""

    batches: int = 0
    messages: int = 0
    deleted: int = 0
    outcomes: Counter = field(default_factory=Counter)
    quarantined: list[dict] = field(default_factory=list)
    failure: Exception | None = None  # what stopped a validator thread (SQS unreachable, ...)

    def metadata(self) -> dict[str, Any]:
        return {"batches": self.batches, "messages": self.messages, "deleted": self.deleted,
                **{k: self.outcomes.get(k, 0) for k in ("tracked", "duplicate", "quarantined", "malformed_messages", "errors")},
                "outcomes": MetadataValue.json(dict(self.outcomes)),
                "quarantined_files": MetadataValue.json(self.quarantined[:QUARANTINES_SHOWN])}

    def summary(self) -> str:
        return f"{self.messages} messages in {self.batches} batches, {self.deleted} deleted: {dict(self.outcomes)}"


def validate_queued_events(queue: SqsQueue, handler: Callable[[Any, Any], dict], settings: Settings, *,
                           queue_arn: str, log: Any) -> ValidationReport:
    """Drain the queue into the handler as the event source mapping would (module docstring)."""
    ingestion = settings.ingestion
    deadline = time.monotonic() + ingestion.validation_max_seconds_per_run
    report, lock = ValidationReport(), threading.Lock()

    def take() -> list[ReceivedMessage]:
        with lock:
            room = ingestion.validation_max_messages_per_run - report.messages
        if room <= 0 or time.monotonic() >= deadline:
            return []
        messages = queue.receive(max_messages=min(room, ingestion.validator_batch_size), wait_seconds=1,
                                 visibility_timeout=ingestion.sqs_visibility_seconds)
        with lock:
            report.messages += len(messages)
        return messages

    def handle(messages: list[ReceivedMessage]) -> None:
        event = lambda_sqs_event([asdict(m) for m in messages], queue_arn=queue_arn, region=queue.connection.region_name)
        ids = [m.message_id for m in messages]
        try:
            response = handler(event, None)
        except Exception as exc:  # noqa: BLE001 - the mapping's rule: a function error fails the whole batch
            log.error(f"validator failed on a batch of {len(ids)} ({exc!r}); all will be redelivered")
            response = None
        fault_point("ndjson.validation_batch")  # fault injection: validated, not yet deleted
        deletable = set(deletable_message_ids(ids, response))
        failed_deletes = queue.delete([m.receipt_handle for m in messages if m.message_id in deletable])
        outcomes = Counter(r["outcome"] for r in (response or {}).get("results", []))
        outcomes.update(f["kind"] for f in (response or {}).get("failures", []))
        quarantined = [{"key": r["key"], "reason": r["reason"], "quarantine_uri": r["quarantine_uri"]}
                       for r in (response or {}).get("results", []) if r["outcome"] == "quarantined"]
        for entry in quarantined:
            log.warning(f"quarantined {entry['key']}: {entry['reason']}")
        for failure in (response or {}).get("failures", []):
            log.error(f"message {failure['message_id']}: {failure['error']}")
        with lock:
            report.batches += 1
            report.deleted += len(deletable) - len(failed_deletes)
            report.outcomes.update(outcomes)
            report.quarantined += quarantined
        log.info(f"batch of {len(ids)}: {len(deletable)} deleted, {dict(outcomes)}")

    def worker() -> None:
        try:
            while messages := take():
                handle(messages)
        except Exception as exc:  # noqa: BLE001 - the queue failed us (the handler's errors are the batch's)
            with lock:
                report.failure = report.failure or exc

    threads = [threading.Thread(target=worker, name=f"validator-{i}", daemon=True)
               for i in range(max(1, ingestion.validator_concurrency))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return report


def build_validation_job(settings: Settings):
    @op(description="Hands the waiting S3 events to the validator in batches, as the validator Lambda's "
                    "SQS event source mapping does on AWS")
    def validate_file_events(context: OpExecutionContext, file_events_queue: SqsQueue,
                             tracking_table: FileTrackingTable, s3: PlatformS3Resource) -> None:
        with run_heartbeat(context, settings.recovery.heartbeat_seconds):
            handler = validator_for(settings, tracking_table, s3.get_client())
            queue_arn = file_events_queue.connection.arn("sqs", file_events_queue.queue_name)
            report = validate_queued_events(file_events_queue, handler, settings, queue_arn=queue_arn, log=context.log)
        context.log.info(f"validation: {report.summary()}")
        context.log_event(AssetObservation(asset_key=LANDING_ASSET, metadata=report.metadata()))
        if report.failure is not None:  # after recording what was done: the run fails, visibly
            raise report.failure

    @job(name=VALIDATION_JOB, config=CONSOLE_RUN_CONFIG, description="Validate the landed files whose S3 events wait on the file-events "
                                          "queue (locally; on AWS the validator Lambda does it)")
    def ndjson_validation_job():
        validate_file_events()

    return ndjson_validation_job
