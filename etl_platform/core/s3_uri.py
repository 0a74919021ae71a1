"""S3 URIs. Pure: shared by the platform and the Glue scripts (shipped with etl_platform.core)."""

from __future__ import annotations


def split_s3_uri(uri: str, *, require_key: bool = True) -> tuple[str, str]:
    """`s3://bucket/some/key` -> ("bucket", "some/key"). With `require_key`, the URI must
    name an object (not a bucket or a prefix ending in "/")."""
    if not uri.startswith("s3://"):
        raise ValueError(f"expected s3://bucket/key, got {uri!r}")
    bucket, _, key = uri[len("s3://"):].partition("/")
    if not bucket or (require_key and (not key or key.endswith("/"))):
        raise ValueError(f"expected s3://bucket/key, got {uri!r}")
    return bucket, key
