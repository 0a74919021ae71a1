"""Whether a manifest's files still hold the content that was claimed.

Landing keys are write-once by rule, but S3 lets anyone overwrite one, and keeps no old
version. A file overwritten after its claim has lost the claimed content for good, so the
manifest goes on without it (failing would fail every replay too). A file that is merely
missing (deleted, perhaps restorable) is left in: the engine fails the manifest as for
any unreadable input, and an operator can restore the file and replay.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError

from etl_platform.core.s3_uri import split_s3_uri
from etl_platform.resources.tracking import FileTrackingTable

MISSING = ("404", "NoSuchKey", "NotFound")
HEAD_THREADS = 16


def overwritten_sources(s3: Any, tracking: FileTrackingTable, document: dict) -> dict[str, str]:
    """file key -> why, for each manifest file whose claimed content is gone."""

    def check(entry: dict) -> str | None:
        if not entry.get("etag"):  # a manifest written before etags were recorded
            return None
        bucket, key = split_s3_uri(entry["s3_uri"])
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
