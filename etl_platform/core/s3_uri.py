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


DOT_SEGMENTS = {".": "%2E", "..": "%2E%2E"}


def contained_key(prefix: str, relative: str) -> str:
    """`prefix` + `relative`, where no segment of `relative` is `.` or `..` (each is written
    `%2E`/`%2E%2E`). S3 keys are opaque, but a key derived from a producer's key (a
    quarantine copy, a summary) ends up on local disks and in tools that normalise paths
    (`aws s3 sync`, a browser's URL): there `../` would leave the prefix. Any other
    character, spaces and Unicode included, is kept as the producer wrote it."""
    return prefix + "/".join(DOT_SEGMENTS.get(segment, segment) for segment in relative.split("/"))
