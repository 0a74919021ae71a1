"""Give a restored S3 object the identity it had before the emulator stopped.

A snapshot restore puts each object version back through the API, which gives it a new
version id and, for a multipart upload, another ETag (`md5-of-parts-N` becomes the MD5 of
the bytes). Tracking records both, so a restart would otherwise make claimed files look
overwritten. No S3 API sets them, so this runs inside the emulator process and sets them
on moto's object directly. It only runs here, against moto; a real bucket keeps its ids.
"""

from __future__ import annotations

from moto.s3.models import s3_backends


def restore_identity(account_id: str, bucket: str, key: str, version_id: str | None, etag: str | None) -> None:
    """Set the version id and ETag of the newest version of `bucket/key` (just put back);
    a delete marker (etag None) gets its version id back."""
    newest = s3_backends[account_id]["aws"].buckets[bucket].keys.getlist(key)[-1]
    if version_id and version_id != "null":
        newest._version_id = version_id
    if etag is not None:
        newest._etag = etag.strip('"')
