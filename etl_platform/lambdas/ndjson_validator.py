"""The validator of pipeline B, a Lambda handler: `handler(event, context)`.

Given the event an SQS event source mapping delivers (`{"Records": [{"messageId", "body",
"eventSource": "aws:sqs", ...}]}`, each body an S3 event notification), it validates every
object of every message and answers a partial batch response: `batchItemFailures` names
the messages to redeliver (one that is not an S3 event, or whose handling raised), so one
bad message never fails the other nine (core/sqs_batches.py). Given an S3 event
notification itself (what the reconciliation hands it for a lost event), it validates
its objects the same way.

Every object created in the landing bucket reaches it (the bucket's notification has no key
filter), wherever it lands and whatever its name. Each is checked (key convention,
`.ndjson` suffix, size range, a JSON object on the first line), then either tracked as
`pending#N` or moved to the quarantine bucket with the reason in its object metadata and a
`quarantined` record: a `.json` file or a file outside `landing/ndjson/` is quarantined
with that reason, not left unseen. Only an empty folder marker (`<prefix>/`) is skipped. All writes are
conditional, so a duplicate event or a redelivery changes nothing. New content under a
tracked key (another ETag) replaces a file no manifest has claimed yet (pending or
quarantined); under the key of a claimed or ingested file it is quarantined as
`<key>.reupload-<etag>` with a `<file>#reupload-<etag>` record: ingested data is never
duplicated and a re-upload is never silently ignored.

The module level `handler` reads its settings from the environment: it is what the
template's `NdjsonValidatorFunction` runs on AWS. Locally, `ndjson_validation_job`
(pipelines/ndjson_to_parquet/validation.py) builds the same handler over its Dagster
resources and plays the event source mapping.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any, Callable

from botocore.exceptions import ClientError

from etl_platform.config import Settings
from etl_platform.core.ingestion.landing import (
    HEAD_BYTES, LandingRules, Placement, content_error, is_folder_marker, placement, shard_for, validation_error,
)
from etl_platform.core.partition_days import day_error
from etl_platform.core.s3_events import MalformedEvent, S3ObjectEvent, parse_s3_event
from etl_platform.core.sqs_batches import batch_item_failures
from etl_platform.core.s3_uri import contained_key
from etl_platform.resources.tracking import REUPLOAD_MARK, FileTrackingTable

NOT_FOUND = ("NoSuchKey", "NoSuchVersion", "404", "NotFound")
log = logging.getLogger(__name__)  # on Lambda: the function's CloudWatch log group


@dataclass(frozen=True)
class ValidatorDependencies:
    s3: Any
    tracking: FileTrackingTable
    rules: LandingRules
    quarantine_bucket: str
    shards: int


def rules_from(settings: Settings) -> LandingRules:
    ingestion = settings.ingestion
    return LandingRules(prefix=ingestion.landing_prefix, min_bytes=ingestion.file_min_bytes,
                        max_bytes=ingestion.file_max_bytes)


def validate_object(event: S3ObjectEvent, deps: ValidatorDependencies, now: float | None = None) -> dict[str, Any]:
    """Track or quarantine one landed object; returns what happened."""
    now = time.time() if now is None else now
    event_day = (event.occurred_at or datetime.fromtimestamp(now, timezone.utc)).date().isoformat()
    place = placement(event.key, deps.rules, fallback_date=event_day)
    result = {"key": event.key, "date_prefix": place.date_prefix, "file_key": place.file_key}
    if is_folder_marker(event.key, event.size):
        return {**result, "outcome": "skipped", "reason": "a folder marker (an empty object ending in /), not a file"}
    etag, version = event.etag, event.version_id
    reason = validation_error(event.key, event.size, deps.rules) or day_error(place.date_prefix, now)
    if reason is None:
        try:  # exactly the version the event announces (the current one if it names none)
            response = deps.s3.get_object(Bucket=event.bucket, Key=event.key, Range=f"bytes=0-{HEAD_BYTES - 1}",
                                          **_version(version))
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in NOT_FOUND:
                raise
            return _already_handled(result, deps, place, "the object no longer exists")
        head = response["Body"].read()
        # the stored object's ETag and version, not the event's: without a version id in the
        # event, a late event for an object replaced since is compared with what is there now
        etag = response.get("ETag", "").strip('"') or event.etag
        version = response.get("VersionId") or version
        reason = content_error(head, whole_file=event.size <= HEAD_BYTES)
    event = replace(event, etag=etag, version_id="" if version in (None, "null") else version)
    if reason is None:
        if _track_pending(event, deps, place, etag, now):
            return {**result, "outcome": "tracked"}
        return _already_tracked(event, deps, place, result, now, etag, None)
    existing = deps.tracking.file(place.date_prefix, place.file_key)
    if existing is None:
        return _quarantine(event, deps, place, reason, result, now, etag)
    return _already_tracked(event, deps, place, result, now, etag, reason, existing)


def _version(version_id: str) -> dict[str, str]:
    return {"VersionId": version_id} if version_id else {}


def _track_pending(event: S3ObjectEvent, deps: ValidatorDependencies, place: Placement, etag: str, now: float,
                   replacing: dict | None = None) -> bool:
    return deps.tracking.track_pending(place, shard=shard_for(place.file_key, deps.shards), size=event.size,
                                       etag=etag, s3_uri=event.uri, version_id=event.version_id, now=now,
                                       replacing=replacing)


def _superseded(event: S3ObjectEvent, deps: ValidatorDependencies) -> bool:
    """Whether a newer version of the object has been written since this event's version."""
    if not event.version_id:
        return False
    try:
        current = deps.s3.head_object(Bucket=event.bucket, Key=event.key)
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in NOT_FOUND:
            raise
        return False  # deleted since: a delete is no newer content
    return current.get("VersionId") not in (None, "null", event.version_id)


def _drop_superseded_version(event: S3ObjectEvent, deps: ValidatorDependencies, replaced: dict) -> None:
    """Delete the landing version a re-upload replaced before any manifest claimed it: no
    record names it any more (the replacement was conditional on that), so it would never be
    ingested, tagged or expired."""
    version = replaced.get("version_id")
    if not version or version == event.version_id or not str(replaced.get("status", "")).startswith("pending#"):
        return
    try:
        deps.s3.delete_object(Bucket=event.bucket, Key=event.key, VersionId=version)
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in NOT_FOUND:
            raise


def _reupload_record(place: Placement, etag: str) -> Placement:
    """Where new content under an ingested key is recorded, beside the file's own record."""
    return Placement(place.date_prefix, f"{place.file_key}{REUPLOAD_MARK}{etag}")


def _already_tracked(event: S3ObjectEvent, deps: ValidatorDependencies, place: Placement, result: dict,
                     now: float, etag: str, reason: str | None, existing: dict | None = None) -> dict:
    """The key has a record: a duplicate event, or new content uploaded under the same key.

    New content supersedes a file not ingested yet (pending or quarantined: the old bytes
    are gone from landing anyway). A file already claimed by a manifest is write-once: the
    new content is quarantined with the reason, never silently ignored or ingested twice.
    """
    existing = existing or deps.tracking.file(place.date_prefix, place.file_key)
    if existing is None or existing.get("etag") == etag:
        return {**result, "outcome": "duplicate"}
    if _superseded(event, deps):
        # S3 events arrive in any order: a late event for a version written over since must
        # not replace (or quarantine) what a newer version's event tracked
        return {**result, "outcome": "superseded", "version_id": event.version_id}
    status = existing.get("status", "")
    reupload_key = f"{event.key}.reupload-{etag}"   # never overwrites an earlier quarantined copy
    if status.startswith("pending#") or status == "quarantined":
        if reason is not None:
            return _quarantine(event, deps, place, reason, result, now, etag, target_key=reupload_key, replacing=existing)
        if _track_pending(event, deps, place, etag, now, replacing=existing):
            _drop_superseded_version(event, deps, existing)
            return {**result, "outcome": "replaced", "replaced_etag": existing.get("etag")}
        existing = deps.tracking.file(place.date_prefix, place.file_key) or existing  # claimed meanwhile
        status = existing.get("status", "")
    state = status.partition("#")[0]
    manifest = f" by manifest {existing['manifest_id']}" if existing.get("manifest_id") else ""
    why = (f"re-upload with different content (etag {etag}) of a file already {state}{manifest} "
           f"(etag {existing.get('etag')}); landing keys are write-once: upload new content under a new file name")
    return _quarantine(event, deps, _reupload_record(place, etag), why, result, now, etag, target_key=reupload_key)


def _quarantine(event: S3ObjectEvent, deps: ValidatorDependencies, place: Placement, reason: str, result: dict,
                now: float, etag: str, target_key: str | None = None, replacing: dict | None = None) -> dict:
    target_key = contained_key("", target_key or event.key)  # a `../` in a producer's key stays a name
    target_uri = f"s3://{deps.quarantine_bucket}/{target_key}"
    try:
        # Copy, record, then delete: a crash in between leaves the source in place for a redelivery.
        # Only this version moves: on a versioned landing bucket a claimed older version stays.
        deps.s3.copy_object(
            Bucket=deps.quarantine_bucket, Key=target_key,
            CopySource={"Bucket": event.bucket, "Key": event.key, **_version(event.version_id)},
            Metadata={"quarantine-reason": reason[:1024], "source-uri": event.uri}, MetadataDirective="REPLACE",
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in NOT_FOUND:
            raise
        return _already_handled(result, deps, place, "the object no longer exists")
    record = dict(reason=reason, size=event.size, etag=etag, source_uri=event.uri, quarantine_uri=target_uri,
                  version_id=event.version_id, now=now)
    created = deps.tracking.track_quarantined(place, replacing=replacing, **record)
    if not created and replacing is not None:   # the superseded record changed meanwhile: keep both
        created = deps.tracking.track_quarantined(_reupload_record(place, etag), **record)
    deps.s3.delete_object(Bucket=event.bucket, Key=event.key, **_version(event.version_id))
    return {**result, "outcome": "quarantined" if created else "duplicate", "reason": reason, "quarantine_uri": target_uri}


def _already_handled(result: dict, deps: ValidatorDependencies, place, why: str) -> dict:
    """An event for an object that is gone: a duplicate if tracked already, else nothing to do."""
    existing = deps.tracking.file(place.date_prefix, place.file_key)
    if existing is not None:
        return {**result, "outcome": "duplicate"}
    return {**result, "outcome": "skipped", "reason": why}


def is_sqs_batch(event: Any) -> bool:
    records = event.get("Records") if isinstance(event, dict) else None
    return bool(records) and isinstance(records, list) and all(
        isinstance(r, dict) and r.get("eventSource") == "aws:sqs" for r in records)


def validate_sqs_batch(event: dict, deps: ValidatorDependencies) -> dict:
    """Each message of an SQS batch, alone: the messages that failed are named in
    `batchItemFailures` (redelivered, then the DLQ); `results` says what happened to each
    object, and `failures` why each message failed (for the local run's log; the event
    source mapping reads only `batchItemFailures`)."""
    results, failures = [], []
    for record in event["Records"]:
        message_id = record.get("messageId", "")
        receives = record.get("attributes", {}).get("ApproximateReceiveCount", "?")
        try:
            results += [{**validate_object(e, deps), "message_id": message_id} for e in parse_s3_event(record["body"])]
        except MalformedEvent as exc:
            failures.append({"message_id": message_id, "kind": "malformed_messages",
                             "error": f"not an S3 event ({exc}); left for the DLQ (receive {receives})"})
        except Exception as exc:  # noqa: BLE001 - one message's failure must not fail the batch
            failures.append({"message_id": message_id, "kind": "errors",
                             "error": f"{exc!r}; it will be redelivered (receive {receives})"})
    for result in results:
        if result["outcome"] == "quarantined":
            log.warning("quarantined %s: %s", result["key"], result["reason"])
    for failure in failures:
        log.error("message %s failed: %s", failure["message_id"], failure["error"])
    return {**batch_item_failures(f["message_id"] for f in failures), "results": results, "failures": failures}


def make_handler(dependencies: Callable[[], ValidatorDependencies]) -> Callable[[Any, Any], dict]:
    def handler(event: Any, context: Any = None) -> dict:
        deps = dependencies()
        if is_sqs_batch(event):
            return validate_sqs_batch(event, deps)
        return {"results": [validate_object(e, deps) for e in parse_s3_event(event)]}

    return handler


def dependencies_for(settings: Settings) -> ValidatorDependencies:
    """The handler's clients and rules in the environment `settings` describe."""
    from etl_platform.resources.connection import AwsConnection

    connection = AwsConnection.from_settings(settings)
    return ValidatorDependencies(
        s3=connection.client("s3"),
        tracking=FileTrackingTable(connection=connection, table_name=settings.names.tracking_table,
                                   shards=settings.ingestion.status_shards, ttl_days=settings.ingestion.tracking_ttl_days),
        rules=rules_from(settings),
        quarantine_bucket=settings.names.quarantine_bucket,
        shards=settings.ingestion.status_shards,
    )


# The Lambda's entry point: settings from the environment the template gives the function,
# built once per execution environment and reused by its warm invocations.
handler = make_handler(functools.cache(lambda: dependencies_for(Settings.from_env())))
