"""Which landed objects tracking lacks, for the scheduled reconciliation of each pipeline. Pure.

S3 event notifications are at-least-once and can be missed, an event that fails three
times rests in the DLQ, and the upload sensors of A and C only look back one hour below
their watermark: a landed object nothing tracks would go unnoticed for ever. The
reconciliation sensors list each pipeline's landing prefixes and hand every object that
tracking lacks to the path its event or upload sensor would have taken; these functions
decide which objects those are, from what the sensors read.

Rules shared by the three pipelines:
- grace: an object modified less than `grace_seconds` ago is left to its event or upload
  sensor (its event may still be queued); handing it over anyway would be harmless (every
  path is idempotent) but would report a recovery that was not one.
- the hand-off is idempotent in each pipeline (B: the validator's put-if-absent; A: the
  job id derived from the object version and a conditional launch claim; C: the run key of
  the upload sensor, checked against the runs of every sensor), so a reconciliation racing
  its pipeline's own sensor, or running twice, hands nothing over twice.

Pipeline B only (its tracking records expire): an object is reconciled only if it was
last modified within `lookback_days` (default 7, less than the records' `ttl_days` of 30).
A file's record is written after its upload and, once completed or quarantined, expires
`ttl_days` after that, so an object modified within the lookback cannot have an expired
record: an ingested file whose record expired is never handed over again. As a second
guard, a version tagged `ingestion=completed` (a run ingested it) is never handed over.
Each listing is one date prefix `landing/ndjson/YYYY-MM-DD/` for the dates of the lookback
(and tomorrow, for producers ahead of UTC), so it stays bounded; an object under another
date's prefix is outside the reconciliation (a producer writes the date it lands). Every
object of those prefixes is listed, whatever its suffix (a `.json` file there is
quarantined, not skipped), except empty folder markers. Objects elsewhere in the bucket
("strays": at its root, beside `landing/ndjson/`, directly in it or in a folder of it that
is not a date) are found level by level (`folders_to_walk`, `is_stray_folder`) and
reconciled by the same rule, each looked up under the day it was last modified (the day
its event, or its reconciliation, records it under).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable

from etl_platform.core.ingestion.landing import REUPLOAD_MARK, LandingRules, is_date, is_folder_marker, placement
from etl_platform.core.upload_cursor import ListedObject


@dataclass(frozen=True)
class ReconcileWindow:
    lookback_days: int = 7
    grace_seconds: float = 900.0


def landing_dates(now: float, lookback_days: int) -> list[str]:
    """The date prefixes to list, newest first: tomorrow, today and `lookback_days` back (UTC)."""
    today = datetime.fromtimestamp(now, timezone.utc).date()
    return [(today - timedelta(days=n)).isoformat() for n in range(-1, lookback_days + 1)]


def settled(obj: ListedObject, now: float, window: ReconcileWindow) -> bool:
    """Old enough that its event or upload sensor should have handled it."""
    return obj.last_modified <= now - window.grace_seconds


def untracked_landing(objects: Iterable[ListedObject], records: dict[str, dict[str, Any]], rules: LandingRules,
                      now: float, window: ReconcileWindow, any_age: bool = False) -> list[ListedObject]:
    """Pipeline B: the landed objects of one date whose version no tracking record names.

    `records`: that date's tracking items by file key. A version is tracked when the file's
    record names it (its version id, or its ETag on a bucket without versioning), or when
    it was recorded as a quarantined re-upload (`<file>#reupload-<etag>`). New content
    under a tracked key is untracked: the validator decides whether it replaces the file
    or is quarantined as a re-upload. `any_age`: strays, which the validator can only
    quarantine (never ingest twice), are reconciled however old, so files left unseen
    before every object had its event are found too."""
    oldest = float("-inf") if any_age else now - window.lookback_days * 86400
    missing = []
    for obj in objects:
        if not settled(obj, now, window) or obj.last_modified < oldest or is_folder_marker(obj.key, obj.size):
            continue
        file_key = placement(obj.key, rules, fallback_date="").file_key
        record = records.get(file_key)
        if record is not None and _names_version(record, obj):
            continue
        if f"{file_key}{REUPLOAD_MARK}{obj.etag}" in records:
            continue
        missing.append(obj)
    return sorted(missing, key=lambda o: (o.last_modified, o.key))


def folders_to_walk(landing_prefix: str) -> list[str]:
    """`landing/ndjson/` -> ["", "landing/", "landing/ndjson/"]: the levels from the bucket's
    root down to the landing prefix, each listed one level deep (Delimiter "/") to find the
    objects and folders beside the way down."""
    parts = landing_prefix.split("/")[:-1]
    return ["".join(f"{part}/" for part in parts[:depth]) for depth in range(len(parts) + 1)]


def is_stray_folder(folder: str, landing_prefix: str) -> bool:
    """Whether a folder met on the way down holds only strays (listed whole): not a level of
    the way down, and not a date folder of the landing prefix (those are listed by date)."""
    if folder in folders_to_walk(landing_prefix):
        return False
    if folder.startswith(landing_prefix) and is_date(folder[len(landing_prefix):].rstrip("/")):
        return False
    return True


def stray_day(obj: ListedObject) -> str:
    """The day a stray's tracking record is under: the UTC day it was last modified."""
    return datetime.fromtimestamp(obj.last_modified, timezone.utc).date().isoformat()


def _names_version(record: dict[str, Any], obj: ListedObject) -> bool:
    if record.get("version_id") and obj.version_id not in ("", "null"):
        return record["version_id"] == obj.version_id
    return record.get("etag") == obj.etag


def unprofiled_uploads(objects: Iterable[ListedObject], profiles: dict[str, dict[str, Any]], upload_prefix: str,
                       now: float, window: ReconcileWindow, uploaded_at) -> list[ListedObject]:
    """Pipeline C: uploads whose file has no metadata item, or an item of an older upload
    (its `upload_timestamp`, whole seconds, is before the object's; `uploaded_at` formats
    an epoch the way the items store it). Seed 004's item names no version, so a re-upload
    within the same second as the profiled one is not told apart."""
    missing = []
    for obj in objects:
        if not settled(obj, now, window):
            continue
        item = profiles.get(obj.key[len(upload_prefix):])
        if item is not None and str(item.get("upload_timestamp", "")) >= uploaded_at(obj.last_modified):
            continue
        missing.append(obj)
    return sorted(missing, key=lambda o: (o.last_modified, o.key))


def unlaunched_drops(objects: Iterable[ListedObject], job_of: Callable[[ListedObject], dict[str, Any] | None],
                     now: float, window: ReconcileWindow) -> list[ListedObject]:
    """Pipeline A: dropped files whose job (`job_of`: the item under the id derived from the
    object version, or None) is missing or still PENDING. Whether a PENDING job's launch is
    under way (a run exists) is for the caller, which knows the runs."""
    missing = []
    for obj in objects:
        if not settled(obj, now, window):
            continue
        job = job_of(obj)
        if job is None or job.get("status") == "PENDING":
            missing.append(obj)
    return sorted(missing, key=lambda o: (o.last_modified, o.key))
