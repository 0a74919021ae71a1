"""Profile one uploaded CSV: S3 in, summary JSON and metadata item out.

Shared by the Dagster asset and the Lambda-equivalent handler. The object is streamed to a
temporary file (bounded memory; the profiler streams it from there). On success the summary
is written first and the item last, so an item saying `success` always has its summary; on
bad input the item says `error` and any summary of an earlier version is removed, so
nothing stale or half-written remains.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from botocore.exceptions import ClientError

from etl_platform.config import ProfilingSettings
from etl_platform.core.csv_profile import CsvProfileError, profile_csv
from etl_platform.core.profile_checks import CheckVerdict, QualityThresholds, evaluate_checks, quality_verdict
from etl_platform.core.profile_records import (
    PER_COLUMN_ATTRIBUTES, error_item, file_name_for, stored_item, success_item, summary_document, summary_key,
    upload_name_problem,
)
from etl_platform.core.s3_uri import split_s3_uri
from etl_platform.core.timestamps import iso_utc
from etl_platform.faults import fault_point
from etl_platform.resources.file_metadata import FileMetadataTable


@dataclass(frozen=True)
class ProfileOutcome:
    file_name: str
    item: dict[str, Any]
    previous: dict[str, Any] | None
    summary_key: str | None
    source_bytes: int
    dialect: dict[str, Any] | None = None
    checks: tuple[CheckVerdict, ...] = ()  # a success's check verdicts (none for an error)

    @property
    def succeeded(self) -> bool:
        return self.item["status"] == "success"


def quality_thresholds(profiling: ProfilingSettings) -> QualityThresholds:
    return QualityThresholds(
        missing_warn_pct=profiling.missing_warn_pct, missing_error_pct=profiling.missing_error_pct,
        invalid_warn_pct=profiling.invalid_warn_pct, invalid_error_pct=profiling.invalid_error_pct,
        drift_null_rate_points=profiling.drift_null_rate_points, drift_mean_relative=profiling.drift_mean_relative,
    )


def profile_upload(s3: Any, metadata: FileMetadataTable, *, bucket: str, key: str, profiling: ProfilingSettings,
                   version_id: str | None = None) -> ProfileOutcome:
    """Profile `version_id` of the object (the version the sensor saw), or its current one;
    the item carries the verdict of its quality checks (core/profile_checks.py)."""
    upload_prefix, processed_prefix = profiling.upload_prefix, profiling.processed_prefix
    file_name = file_name_for(key, upload_prefix)
    previous = whole_profile(s3, metadata.latest_profile(file_name))
    version = _version(version_id)
    head = s3.head_object(Bucket=bucket, Key=key, **version)
    uploaded = head["LastModified"]
    target = summary_key(file_name, processed_prefix)
    refused = upload_name_problem(key, upload_prefix)
    if refused is not None:  # an upload not named *.csv: recorded as an error, not passed over
        return _record_error(s3, metadata, bucket, target, file_name, refused, uploaded, previous, head)
    with tempfile.NamedTemporaryFile(suffix=".csv") as local:
        s3.download_fileobj(bucket, key, local, ExtraArgs=version or None)
        local.flush()
        try:
            profile = profile_csv(local.name)
        except CsvProfileError as exc:
            return _record_error(s3, metadata, bucket, target, file_name, str(exc), uploaded, previous, head)
        except ValueError as exc:  # anything the profiler did not classify is still the file's fault
            return _record_error(s3, metadata, bucket, target, file_name, f"CSV parsing failed: {exc}", uploaded, previous, head)
    item = success_item(file_name, profile, uploaded=uploaded, processed=datetime.now(timezone.utc))
    checks = tuple(evaluate_checks(item, previous, quality_thresholds(profiling)))
    item = {**item, **quality_verdict(checks)}
    document = summary_document(item, profile, f"s3://{bucket}/{key}")
    s3.put_object(Bucket=bucket, Key=target, Body=json.dumps(document, indent=2).encode(), ContentType="application/json")
    fault_point("csv_profile.profile")  # tests: killed mid-profile, the summary written and the item not
    metadata.record_profile(stored_item(item, f"s3://{bucket}/{target}"))
    return ProfileOutcome(file_name, item, previous, target, head["ContentLength"], profile["dialect"], checks)


def _version(version_id: str | None) -> dict[str, str]:
    return {"VersionId": version_id} if version_id and version_id != "null" else {}


def whole_profile(s3: Any, item: dict[str, Any] | None) -> dict[str, Any] | None:
    """A stored item with its per-column attributes, read back from the summary JSON when
    the item was too large to hold them (see `stored_item`)."""
    if not item or "profile_uri" not in item:
        return item
    bucket, key = split_s3_uri(item["profile_uri"])
    try:
        document = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("NoSuchKey", "404"):
            raise
        return item  # the summary is gone: no per-column baseline, so no drift to compare
    return {**item, **{name: document[name] for name in PER_COLUMN_ATTRIBUTES}}


def settle_unfinished_run(s3: Any, metadata: FileMetadataTable, *, bucket: str, key: str, upload_prefix: str,
                          processed_prefix: str, message: str, run_started: datetime,
                          version_id: str | None = None, run_id: str = "") -> bool:
    """The error item of a profile run that ended without recording one (killed, cancelled),
    and no summary, unless a run profiled the file since this one started. True if recorded,
    again too when the item is this run's settlement already (a sensor tick that died after
    the write is evaluated again, and must still request the re-run)."""
    file_name = file_name_for(key, upload_prefix)
    try:
        uploaded = s3.head_object(Bucket=bucket, Key=key, **_version(version_id))["LastModified"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("404", "NoSuchKey", "NoSuchVersion", "NotFound"):
            raise
        uploaded = run_started  # the upload is gone: its time is unknown
    item = {**error_item(file_name, message, uploaded=uploaded, processed=datetime.now(timezone.utc)),
            **({"settled_run_id": run_id} if run_id else {})}
    if not metadata.record_error_unless_newer(item, iso_utc(run_started), run_id):
        return False
    s3.delete_object(Bucket=bucket, Key=summary_key(file_name, processed_prefix))  # possibly half-written
    return True


def _record_error(s3: Any, metadata: FileMetadataTable, bucket: str, target: str, file_name: str, message: str,
                  uploaded: datetime, previous: dict | None, head: dict) -> ProfileOutcome:
    item = error_item(file_name, message, uploaded=uploaded, processed=datetime.now(timezone.utc))
    s3.delete_object(Bucket=bucket, Key=target)
    metadata.record_profile(item)
    return ProfileOutcome(file_name, item, previous, None, head["ContentLength"])
