"""Pipeline A's rules for jobs, files and keys. Pure: no boto3, no dagster.

Shared by the jobs table resource, the Dagster asset and sensor, the REST API and the CLI,
so a key or a file name is built one way everywhere (page tokens: job_listing.py).
"""

from __future__ import annotations

import json
import re
import unicodedata
import uuid
from typing import IO, Any

from etl_platform.core.timestamps import iso_utc

PENDING, RUNNING, COMPLETED, FAILED = "PENDING", "RUNNING", "COMPLETED", "FAILED"
STATUSES = (PENDING, RUNNING, COMPLETED, FAILED)

PARQUET_MAGIC = b"PAR1"
ENCRYPTED_MAGIC = b"PARE"  # Parquet modular encryption with an encrypted footer
NOT_PARQUET = "not a Parquet file (no PAR1 magic bytes at its start and end)"
ENCRYPTED = "an encrypted Parquet file (modular encryption, encrypted footer): it cannot be converted without its keys"
MIN_PARQUET_BYTES = 12  # magic + footer length + magic
DROP_SUFFIX = ".parquet"  # what the drop prefix takes (any case); anything else is a FAILED job
MAX_FILE_NAME = 200
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")

# Namespace of job ids derived from S3 object versions (sensor jobs): same version, same id.
_OBJECT_JOBS = uuid.UUID("6f1d8a52-3c1e-4d0b-9a51-2b7c64f0e1aa")


def now_iso() -> str:
    """UTC timestamp with milliseconds; sorts as text (the GSI's range key)."""
    return iso_utc(digits=3)


def new_job_id() -> str:
    return str(uuid.uuid4())


def job_id_for_object(bucket: str, key: str, etag: str) -> str:
    return str(uuid.uuid5(_OBJECT_JOBS, f"s3://{bucket}/{key}@{etag}"))


def sanitise_file_name(name: str) -> str:
    """A safe S3 key segment from a client-supplied name: no path, no control or shell
    characters, no leading dot, at most 200 characters, never empty."""
    base = unicodedata.normalize("NFKD", name.replace("\\", "/").rsplit("/", 1)[-1])
    base = base.encode("ascii", "ignore").decode()
    base = _UNSAFE.sub("_", base).strip("._-")
    if not base:
        return "upload.parquet"
    if len(base) > MAX_FILE_NAME:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: MAX_FILE_NAME - len(ext) - 1] + "." + ext) if dot and len(ext) < 16 else base[:MAX_FILE_NAME]
    return base


def output_file_name(file_name: str) -> str:
    stem = file_name.rsplit(".", 1)[0] if "." in file_name else file_name
    return f"{stem or 'output'}.ndjson"


def output_key(output_prefix: str, job_id: str, file_name: str) -> str:
    """Deterministic per job: a retry overwrites the same object."""
    return f"{output_prefix}{job_id}/{output_file_name(file_name)}"


def upload_key(upload_prefix: str, job_id: str, file_name: str) -> str:
    return f"{upload_prefix}{job_id}/{file_name}"


def parquet_magic_problem(head: bytes, tail: bytes, size: int) -> str | None:
    """Why a file with these first and last bytes is not convertible Parquet, or None.
    Parquet files start and end with the magic bytes PAR1; an encrypted footer makes them
    PARE, a file that is Parquet but needs keys the platform does not have: it gets its
    own reason rather than "not Parquet"."""
    if size >= MIN_PARQUET_BYTES and head[:4] == PARQUET_MAGIC and tail[-4:] == PARQUET_MAGIC:
        return None
    if size >= MIN_PARQUET_BYTES and head[:4] == ENCRYPTED_MAGIC and tail[-4:] == ENCRYPTED_MAGIC:
        return ENCRYPTED
    return NOT_PARQUET


def parquet_stream_problem(stream: IO[bytes], size: int) -> str | None:
    """The magic-bytes check on a seekable binary stream; leaves it at its start."""
    head = stream.read(4)
    stream.seek(max(size - 4, 0))
    tail = stream.read(4)
    stream.seek(0)
    return parquet_magic_problem(head, tail, size)


def preview_records(ndjson_head: bytes, limit: int, complete: bool) -> list[dict[str, Any]]:
    """The first `limit` records of an NDJSON document from its first bytes; the last line
    is ignored when cut (`complete` False: more bytes follow)."""
    lines = ndjson_head.split(b"\n")
    if not complete:
        lines = lines[:-1]
    return [json.loads(line) for line in lines if line.strip()][:limit]


def drop_suffix_problem(key: str, drop_prefix: str) -> str | None:
    """Why an object dropped under the drop prefix is refused by its name alone, or None."""
    if key.lower().endswith(DROP_SUFFIX):
        return None
    return f"not a {DROP_SUFFIX} file: {drop_prefix} takes Parquet files only; drop it again as <name>{DROP_SUFFIX}"
