"""What a manifest's attempt leaves in the output bucket, whichever engine made it.

Both engines (the single-node one in the run's process and the Glue job) finish the same
way, so a retry with either one leaves exactly its own parts and rejects. Takes any S3
client (boto3's in practice) and imports none, so the Glue job can ship it.
"""

from __future__ import annotations

from typing import Any

from etl_platform.core.ingestion.manifests import output_prefix, rejects_key


def settle_outputs(s3: Any, bucket: str, manifest: str, written: list[str], rejects_file: str | None) -> list[str]:
    """Delete this manifest's parts that this attempt did not write; upload its rejects
    file, or delete an earlier attempt's when it rejected nothing. Returns the deleted parts."""
    prefix = output_prefix(manifest) + manifest + "-part-"
    keep = set(written)
    stale = [
        o["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for o in page.get("Contents", [])
        if o["Key"] not in keep
    ]
    for key in stale:
        s3.delete_object(Bucket=bucket, Key=key)
    if rejects_file:
        s3.upload_file(rejects_file, bucket, rejects_key(manifest))
    else:
        s3.delete_object(Bucket=bucket, Key=rejects_key(manifest))
    return stale
