"""List a prefix for the upload sensors (pipelines A and C)."""

from __future__ import annotations

from typing import Any

from etl_platform.core.upload_cursor import ListedObject


def list_objects(s3: Any, bucket: str, prefix: str, suffix: str) -> list[ListedObject]:
    """Objects under `prefix` whose key ends with `suffix` (case-insensitive)."""
    suffix = suffix.lower()
    return [
        ListedObject(key=o["Key"], etag=o["ETag"].strip('"'), last_modified=o["LastModified"].timestamp(), size=o["Size"])
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for o in page.get("Contents", [])
        if o["Key"].lower().endswith(suffix)
    ]
