"""List a prefix for the upload sensors (pipelines A and C) and the reconciliations."""

from __future__ import annotations

from typing import Any

from etl_platform.core.ingestion.landing import is_folder_marker
from etl_platform.core.reconciliation import folders_to_walk, is_stray_folder
from etl_platform.core.upload_cursor import ListedObject, UploadCursor, plan_new_uploads


def list_objects(s3: Any, bucket: str, prefix: str, suffix: str) -> list[ListedObject]:
    """The current version of each object under `prefix` whose key ends with `suffix`
    (case-insensitive; "" for every file), with its version id: a run reads exactly the
    version it was given. Folder markers (empty `<folder>/` objects) are no files."""
    suffix = suffix.lower()
    return [
        _listed(o)
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix)
        for o in page.get("Versions", [])
        if o["IsLatest"] and o["Key"].lower().endswith(suffix) and not is_folder_marker(o["Key"], o["Size"])
    ]


def list_strays(s3: Any, bucket: str, landing_prefix: str) -> list[ListedObject]:
    """The current versions of `bucket` outside the date folders of `landing_prefix`
    (core/reconciliation.py, "strays"): one delimited listing per level down to the prefix,
    and a whole listing of each stray folder met, so the cost follows what lies outside the
    date folders, never their files."""
    strays = []
    for level in folders_to_walk(landing_prefix):
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=level, Delimiter="/"):
            strays += [_listed(o) for o in page.get("Versions", [])
                       if o["IsLatest"] and not is_folder_marker(o["Key"], o["Size"])]
            for folder in page.get("CommonPrefixes", []):
                if is_stray_folder(folder["Prefix"], landing_prefix):
                    strays += list_objects(s3, bucket, folder["Prefix"], "")
    return strays


def _listed(version: dict[str, Any]) -> ListedObject:
    return ListedObject(key=version["Key"], etag=version["ETag"].strip('"'),
                        last_modified=version["LastModified"].timestamp(), size=version["Size"],
                        version_id=version.get("VersionId") or "null")


def new_uploads(s3: Any, bucket: str, prefix: str, suffix: str, cursor: str | None,
                max_new: int) -> tuple[list[ListedObject], str]:
    """What an upload sensor acts on this tick, and the cursor to store after acting on it."""
    new, next_cursor = plan_new_uploads(
        list_objects(s3, bucket, prefix, suffix), UploadCursor.from_json(cursor), max_new=max_new
    )
    return new, next_cursor.to_json()
