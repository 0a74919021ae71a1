"""Pipeline B's self-healing: landed files whose S3 event was lost, and the dead-letter queue.

`ndjson_landing_reconciliation` (a sensor in the daemon, every 15 minutes) lists
`landing/ndjson/YYYY-MM-DD/` for each date of the lookback, and the strays of the bucket
(objects outside those date folders, whatever their name: `list_strays`), compares the
current version of each object with its tracking records (one consistent query per date,
one read per stray), and hands
each untracked version to the validator as the S3 event AWS would have sent for it
(`object_created_event`: key, size, ETag and version id). The validator is the same
handler the file-events sensor runs and its writes are conditional, so a file whose event
arrives after all, or a second reconciliation, changes nothing; from there the file is
pending like any other and the file-events sensor mints its manifest. Which files are
reconciled, and why an ingested file whose record expired is never handed over again, is
in core/reconciliation.py. Quarantined files leave landing (the validator moves them), and
their record names them while it lives, so they are never handed over again either.

The `dead_letter_queue` check (on `ndjson_landing_files`, every 15 minutes by schedule)
warns while the DLQ holds events, with the object keys of a sample of them: those files
are untracked until `etl-platform ingest redrive-dlq` (or the reconciliation) hands them
over again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from botocore.exceptions import ClientError
from dagster import (
    AssetCheckResult, AssetCheckSeverity, AssetSelection, DefaultScheduleStatus, DefaultSensorStatus, MetadataValue,
    ScheduleDefinition, SensorEvaluationContext, SensorResult, asset_check, define_asset_job, sensor,
)

from etl_platform.config import Settings
from etl_platform.core.ingestion.landing import INGESTED_TAG, placement
from etl_platform.core.reconciliation import ReconcileWindow, landing_dates, settled, stray_day, untracked_landing
from etl_platform.core.s3_events import MalformedEvent, object_created_event, parse_s3_event
from etl_platform.core.timestamps import iso_utc
from etl_platform.core.upload_cursor import ListedObject
from etl_platform.pipelines.ndjson_to_parquet.validation import LANDING_ASSET, validator_for
from etl_platform.lambdas.ndjson_validator import rules_from
from etl_platform.pipelines.reconciliation import (
    RECONCILE_INTERVAL_SECONDS, landing_reconciled_check, reconciliation_events,
)
from etl_platform.resources.connection import PlatformS3Resource
from etl_platform.resources.dynamodb import DynamoTable
from etl_platform.resources.s3_listing import list_objects, list_strays
from etl_platform.resources.sqs import SqsQueue
from etl_platform.resources.tracking import FileTrackingTable
from etl_platform.console_log import CONSOLE_RUN_CONFIG

RECOVERED = ("tracked", "replaced", "quarantined")  # validator outcomes that changed tracking
DEAD_LETTER_SAMPLE = 5


@dataclass
class Reconciliation:
    dates: list[str]
    listed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    recovered: list[str] = field(default_factory=list)
    skipped_ingested: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


def window_of(settings: Settings) -> ReconcileWindow:
    return ReconcileWindow(lookback_days=settings.ingestion.reconcile_lookback_days,
                           grace_seconds=settings.reconcile_grace_seconds)


def untracked_files(s3: Any, tracking: FileTrackingTable, settings: Settings, now: float,
                    report: Reconciliation | None = None) -> list[ListedObject]:
    """The landed versions tracking lacks, less those a run ingested (tagged): every object of
    the date folders (any suffix: the validator quarantines what is not `.ndjson`) and the
    strays beside them."""
    bucket, rules, window = settings.names.ndjson_input_bucket, rules_from(settings), window_of(settings)
    report = report or Reconciliation(dates=[])
    candidates = []
    for date_prefix in landing_dates(now, window.lookback_days):
        report.dates.append(date_prefix)
        objects = list_objects(s3, bucket, f"{rules.prefix}{date_prefix}/", "")
        report.listed += len(objects)
        if not objects:
            continue
        records = {i["file_key"]: i for i in tracking.query(
            key_condition="date_prefix = :d", values={":d": date_prefix}, consistent=True)}
        candidates += untracked_landing(objects, records, rules, now, window)
    strays = list_strays(s3, bucket, rules.prefix)
    report.listed += len(strays)
    # a stray's record: under the day its event (or reconciliation) recorded it, by its full key
    places = [placement(o.key, rules, fallback_date=stray_day(o)) for o in strays if settled(o, now, window)]
    stray_records = {place.file_key: record for place in places
                     if (record := tracking.file(place.date_prefix, place.file_key)) is not None}
    candidates += untracked_landing(strays, stray_records, rules, now, window, any_age=True)
    untracked = []
    for obj in candidates:
        try:
            ingested = _ingested(s3, bucket, obj)
        except Exception as exc:  # noqa: BLE001 - one object must not stop the pass; the next retries it
            report.errors[obj.key] = f"{type(exc).__name__}: {exc}"[:500]
            continue
        if ingested is None:
            continue  # deleted since the listing (by its producer, or quarantined): nothing to hand over
        if ingested:
            report.skipped_ingested.append(obj.key)
        else:
            untracked.append(obj)
    return untracked


def _ingested(s3: Any, bucket: str, obj: ListedObject) -> bool | None:
    """Whether a run tagged this version ingested; None if it is gone. Always by version id
    ("null" included: a version written while versioning was suspended), so one permission,
    s3:GetObjectVersionTagging, covers every case."""
    version = {"VersionId": obj.version_id} if obj.version_id else {}
    try:
        tags = s3.get_object_tagging(Bucket=bucket, Key=obj.key, **version)["TagSet"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("NoSuchKey", "NoSuchVersion", "404"):
            return None
        raise
    return INGESTED_TAG in tags


def reconcile_landing(s3: Any, tracking: FileTrackingTable, handler: Callable[[Any, Any], dict], settings: Settings,
                      now: float | None = None) -> Reconciliation:
    """Hand every untracked landed version to the validator `handler`, as its lost event."""
    now = time.time() if now is None else now
    report = Reconciliation(dates=[])
    bucket = settings.names.ndjson_input_bucket
    for obj in untracked_files(s3, tracking, settings, now, report):
        event = object_created_event(bucket, obj.key, size=obj.size, etag=obj.etag, version_id=obj.version_id,
                                     event_time=iso_utc(obj.last_modified, digits=3))
        try:
            results = handler(event, None)["results"]
        except Exception as exc:  # noqa: BLE001 - one file must not stop the others; the next pass retries it
            report.errors[obj.key] = f"{type(exc).__name__}: {exc}"[:500]
            continue
        for result in results:
            report.outcomes[result["outcome"]] = report.outcomes.get(result["outcome"], 0) + 1
            if result["outcome"] in RECOVERED:
                report.recovered.append(obj.key)
    return report


def _record_metric(metrics_table: DynamoTable, report: Reconciliation, now: float, settings: Settings) -> None:
    """One metrics item per pass, beside the manifests' (sort key RECONCILIATION#<time>)."""
    metrics_table.put({
        "date_prefix": iso_utc(now)[:10], "manifest_id": f"RECONCILIATION#{iso_utc(now, digits=3)}",
        "status": "reconciled", "listed": report.listed, "recovered": len(report.recovered),
        "skipped_ingested": len(report.skipped_ingested), "errors": len(report.errors), "finished_at": iso_utc(now),
        "ttl": int(now + settings.ingestion.tracking_ttl_days * 86400),
    })


def build_reconciliation(settings: Settings) -> tuple[list, list, list, list]:
    """(sensors, asset checks, jobs, schedules) of pipeline B's reconciliation and DLQ watch."""
    names = settings.names

    @sensor(name="ndjson_landing_reconciliation", minimum_interval_seconds=RECONCILE_INTERVAL_SECONDS,
            default_status=DefaultSensorStatus.RUNNING,
            description=f"Hands landed files whose S3 event was lost (s3://{names.ndjson_input_bucket}/"
                        f"{settings.ingestion.landing_prefix}YYYY-MM-DD/, untracked) to the validator")
    def reconciliation_sensor(context: SensorEvaluationContext, tracking_table: FileTrackingTable,
                              s3: PlatformS3Resource, metrics_table: DynamoTable):
        now = time.time()
        client = s3.get_client()
        report = reconcile_landing(client, tracking_table, validator_for(settings, tracking_table, client), settings, now)
        for key, error in report.errors.items():
            context.log.error(f"reconciliation could not hand over {key}: {error}; the next pass retries it")
        if report.recovered:
            context.log.warning(f"recovered {len(report.recovered)} landed file(s) whose event was lost: "
                                f"{report.recovered[:20]}")
        _record_metric(metrics_table, report, now, settings)
        return SensorResult(asset_events=reconciliation_events(
            LANDING_ASSET, listed=report.listed, recovered=report.recovered, outcomes=report.outcomes,
            skipped_ingested=len(report.skipped_ingested), errors=report.errors, dates=report.dates))

    def untracked_now(resources) -> tuple[int, list[str]]:
        report = Reconciliation(dates=[])
        missing = untracked_files(resources.s3, resources.tracking_table, settings, time.time(), report)
        return report.listed, [o.key for o in missing]

    reconciled = landing_reconciled_check(LANDING_ASSET, {"s3", "tracking_table"}, untracked_now)

    @asset_check(asset=LANDING_ASSET, name="dead_letter_queue",
                 description=f"WARN while {names.file_events_dlq} holds S3 events (their files are untracked): "
                             "`etl-platform ingest redrive-dlq --dry-run` lists them")
    def dead_letter_queue_check(dead_letter_queue: SqsQueue) -> AssetCheckResult:
        depth = dead_letter_queue.approximate_depth()
        total = depth["visible"] + depth["in_flight"]
        sample = dead_letters(dead_letter_queue, DEAD_LETTER_SAMPLE) if total else []
        return AssetCheckResult(
            passed=total == 0, severity=AssetCheckSeverity.WARN,
            metadata={"depth": MetadataValue.int(depth["visible"]), "in_flight": MetadataValue.int(depth["in_flight"]),
                      "sample": MetadataValue.json(sample), "queue": names.file_events_dlq},
            description=f"{total} dead-lettered event(s)" if total else "the DLQ is empty",
        )

    job = define_asset_job("ndjson_dead_letters_job", selection=AssetSelection.checks(dead_letter_queue_check),
                           config=CONSOLE_RUN_CONFIG,
                           description=f"Checks the depth of {names.file_events_dlq}")
    schedule = ScheduleDefinition(name="ndjson_dead_letters_schedule", job=job, cron_schedule="*/15 * * * *",
                                  default_status=DefaultScheduleStatus.RUNNING)
    return [reconciliation_sensor], [reconciled, dead_letter_queue_check], [job], [schedule]


def dead_letters(queue: SqsQueue, limit: int) -> list[dict[str, Any]]:
    """What the DLQ holds (up to `limit` messages), left in place: each message's id, how many
    times it was received before this look, and the object keys its S3 event names."""
    listed = []
    for message in queue.peek(limit=limit):
        try:
            keys = [event.key for event in parse_s3_event(message.body)]
        except MalformedEvent as exc:
            keys = [f"(not an S3 event: {exc})"]
        listed.append({"message_id": message.message_id, "receives": message.receive_count - 1, "object_keys": keys})
    return listed
