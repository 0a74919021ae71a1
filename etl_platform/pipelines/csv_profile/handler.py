"""Lambda-equivalent entry point of pipeline C: `handler(event, context)`.

Deployable as an AWS Lambda behind the bucket's S3 notification, unchanged: it reads its
settings from the environment (ETL_ENV, ...), profiles each upload under `uploads/` of the
event (one not named `*.csv` is recorded as an error with the reason) and returns what it did. On this platform the Dagster asset calls the same service.
"""

from __future__ import annotations

from typing import Any

from etl_platform.config import Settings
from etl_platform.core.s3_events import parse_s3_event
from etl_platform.pipelines.csv_profile.service import profile_upload
from etl_platform.resources.connection import AwsConnection
from etl_platform.resources.file_metadata import FileMetadataTable


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    settings = Settings.from_env()
    connection = AwsConnection.from_settings(settings)
    s3 = connection.client("s3")
    metadata = FileMetadataTable(connection=connection, table_name=settings.names.file_metadata_table)
    prefix = settings.profiling.upload_prefix
    results = []
    for upload in parse_s3_event(event):
        if not upload.key.startswith(prefix):
            results.append({"key": upload.key, "status": "skipped", "reason": f"not under {prefix}"})
            continue
        outcome = profile_upload(s3, metadata, bucket=upload.bucket, key=upload.key, profiling=settings.profiling,
                                 version_id=upload.version_id or None)
        results.append({
            "key": upload.key,
            "file_name": outcome.file_name,
            "status": outcome.item["status"],
            "quality_status": outcome.item.get("quality_status"),
            "failed_checks": outcome.item.get("failed_checks"),
            "row_count": outcome.item["row_count"],
            "summary_key": outcome.summary_key,
            "error_message": outcome.item.get("error_message"),
        })
    return {"results": results}
