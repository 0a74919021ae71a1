"""Whether a manifest's files still hold the content that was claimed.

The landing bucket is versioned and tracking keeps each file's version id, so an
overwrite (or a plain delete) after the claim loses nothing: the engines read the claimed
version, and new content is handled as a re-upload by the validator. The claimed content
is gone for good only when its version itself was deleted, or, for a file claimed without
a version id (a bucket without versioning), when the key was overwritten. Such a file is
left out of the manifest with the reason (failing would fail every replay too). A file
claimed without a version that is merely missing (deleted, perhaps restorable) is left
in: the engine fails the manifest as for any unreadable input, and an operator can
restore the file and replay.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError

from etl_platform.core.ingestion.landing import INGESTED_TAG
from etl_platform.core.s3_uri import split_s3_uri
from etl_platform.resources.tracking import FileTrackingTable

MISSING = ("404", "NoSuchKey", "NoSuchVersion", "NotFound")
HEAD_THREADS = 16


def overwritten_sources(s3: Any, tracking: FileTrackingTable, document: dict) -> dict[str, str]:
    """file key -> why, for each manifest file whose claimed content is gone."""

    def check(entry: dict) -> str | None:
        bucket, key = split_s3_uri(entry["s3_uri"])
        if entry.get("version_id"):
            try:
                s3.head_object(Bucket=bucket, Key=key, VersionId=entry["version_id"])
                return None
            except ClientError as exc:
                if exc.response["Error"]["Code"] not in MISSING:
                    raise
                return f"its claimed version {entry['version_id']} was deleted after the claim: the content is gone"
        if not entry.get("etag"):  # a manifest written before etags were recorded
            return None
        try:
            current = s3.head_object(Bucket=bucket, Key=key)["ETag"].strip('"')
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in MISSING:
                raise
            reuploads = tracking.reuploads(document["date_prefix"], entry["file_key"])
            if not reuploads:
                return None
            return (f"overwritten after it was claimed (etag {entry['etag']} -> {reuploads[-1]['etag']}); "
                    f"the new content is quarantined at {reuploads[-1]['quarantine_path']}")
        if current != entry["etag"]:
            return (f"overwritten after it was claimed (etag {entry['etag']} -> {current}); "
                    "the claimed content no longer exists, the new content is handled as a re-upload")
        return None

    with ThreadPoolExecutor(HEAD_THREADS) as pool:
        reasons = list(pool.map(check, document["files"]))
    return {entry["file_key"]: reason for entry, reason in zip(document["files"], reasons) if reason}


def mark_ingested(s3: Any, files: list[dict]) -> list[str]:
    """Tag the landing version of each completed file with INGESTED_TAG, so the bucket's
    lifecycle expires it; pending and failed files carry no tag and never expire. Run after
    the files are settled completed, best effort: a file left untagged (a crash, a refusal)
    only stays longer, so the run goes on. The tag set replaces any tags a producer put on
    the object. Returns the keys of the files it could not tag (a missing one counts as done)."""

    def tag(item: dict) -> str | None:
        bucket, key = split_s3_uri(item["file_path"])
        version = {"VersionId": item["version_id"]} if item.get("version_id") else {}
        try:
            s3.put_object_tagging(Bucket=bucket, Key=key, Tagging={"TagSet": [INGESTED_TAG]}, **version)
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in MISSING:
                return item["file_key"]
        return None  # tagged, or removed since it was read: nothing left to expire

    with ThreadPoolExecutor(HEAD_THREADS) as pool:
        return [key for key in pool.map(tag, files) if key]
