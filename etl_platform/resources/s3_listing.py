"""List a prefix for the upload sensors (pipelines A and C)."""

from __future__ import annotations

from typing import Any

from etl_platform.core.upload_cursor import ListedObject, UploadCursor, plan_new_uploads


def list_objects(s3: Any, bucket: str, prefix: str, suffix: str) -> list[ListedObject]:
    """The current version of each object under `prefix` whose key ends with `suffix`
    (case-insensitive), with its version id: a run reads exactly the version it was given."""
    suffix = suffix.lower()
    return [
        ListedObject(key=o["Key"], etag=o["ETag"].strip('"'), last_modified=o["LastModified"].timestamp(),
                     size=o["Size"], version_id=o.get("VersionId") or "null")
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix)
        for o in page.get("Versions", [])
        if o["IsLatest"] and o["Key"].lower().endswith(suffix)
    ]


def new_uploads(s3: Any, bucket: str, prefix: str, suffix: str, cursor: str | None,
                max_new: int) -> tuple[list[ListedObject], str]:
    """What an upload sensor acts on this tick, and the cursor to store after acting on it."""
    new, next_cursor = plan_new_uploads(
        list_objects(s3, bucket, prefix, suffix), UploadCursor.from_json(cursor), max_new=max_new
    )
    return new, next_cursor.to_json()
