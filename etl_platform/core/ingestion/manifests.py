"""When a date's pending files become a manifest, which files it takes, and where its
outputs go. Pure: the sensor and the run feed it what they read from the tracking table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Iterable, TypeVar

T = TypeVar("T")

MANIFEST_ID_FORMAT = "batch-{sequence:04d}-{day}-{time}"
# A MANIFEST item keeps its files' keys (resources/tracking.py) and DynamoDB caps an item at
# 400 KB. The keys get at most this much; the failed and excluded files it may list too are
# subsets of them, and its other fields stay well under the rest. 200 files (the seed's
# manifest size) fit with keys up to 614 bytes; a manifest of longer keys holds fewer files.
FILE_KEYS_BUDGET_BYTES = 120 * 1024


@dataclass(frozen=True)
class PendingFile:
    date_prefix: str
    file_key: str
    size: int
    first_seen: float  # epoch seconds
    s3_uri: str = ""
    shard: int = 0
    etag: str = ""  # of the object the validator tracked
    version_id: str = ""  # its S3 version (versioned landing bucket): the engines read exactly that version


@dataclass(frozen=True)
class ManifestThresholds:
    max_files: int = 200
    max_bytes: int = 700 * 1024 * 1024
    orphan_flush_seconds: float = 900.0


def manifest_id(sequence: int, date_prefix: str, now: datetime) -> str:
    """`batch-0001-20260201-120000` (seed 003): a per-date sequence, the date, the time."""
    return MANIFEST_ID_FORMAT.format(sequence=sequence, day=date_prefix.replace("-", ""), time=now.strftime("%H%M%S"))


def date_of_manifest(manifest: str) -> str:
    day = manifest.split("-")[2]
    return f"{day[:4]}-{day[4:6]}-{day[6:]}"


def flush_reason(pending: list[PendingFile], now: float, thresholds: ManifestThresholds) -> str | None:
    """Why this date's pending files should form a manifest now, or None to keep waiting."""
    if not pending:
        return None
    if len(pending) >= thresholds.max_files:
        return f"{len(pending)} pending files >= {thresholds.max_files}"
    total = sum(f.size for f in pending)
    if total >= thresholds.max_bytes:
        return f"{total} pending bytes >= {thresholds.max_bytes}"
    oldest = min(f.first_seen for f in pending)
    if now - oldest >= thresholds.orphan_flush_seconds:
        return f"orphan flush: oldest pending file waited {now - oldest:.0f} s"
    return None


def manifests_needed(pending: list[PendingFile], thresholds: ManifestThresholds) -> int:
    """How many full manifests the backlog fills now (at least one once a flush is due);
    a remainder below the thresholds waits for more files or the orphan flush."""
    return max(1, len(pending) // thresholds.max_files)


def claim_in_order(candidates: Iterable[PendingFile], thresholds: ManifestThresholds,
                   claim: Callable[[PendingFile], T | None], *, held_files: int = 0, held_bytes: int = 0,
                   size_of: Callable[[T], int] | None = None) -> list[T]:
    """Claim candidates oldest first until the manifest is full: `max_files` files (with the
    `held_files` it holds already) and `max_bytes` bytes (always at least one file). A
    candidate whose claim fails (a stale nomination: claimed elsewhere meanwhile) takes no
    room, so the next one is tried. A claim counts the size `size_of` reads from what it
    returned (the file as stored: a re-upload may have changed it), else the nominated size.
    Returns what the successful claims returned."""
    won: list[T] = []
    files, total = held_files, held_bytes
    for candidate in sorted(candidates, key=lambda f: (f.first_seen, f.file_key)):
        if files >= thresholds.max_files or (files and total + candidate.size > thresholds.max_bytes):
            break
        claimed = claim(candidate)
        if claimed is not None:
            won.append(claimed)
            files, total = files + 1, total + (size_of(claimed) if size_of else candidate.size)
    return won


def key_bytes(keys: Iterable[str]) -> int:
    """What file keys take in a DynamoDB string set: their UTF-8 bytes."""
    return sum(len(k.encode()) for k in keys)


def within_key_budget(files: list[PendingFile], used_bytes: int,
                      budget: int = FILE_KEYS_BUDGET_BYTES) -> list[PendingFile]:
    """The leading `files` whose keys still fit in `budget` with `used_bytes` taken."""
    fitting = []
    for f in files:
        used_bytes += len(f.file_key.encode())
        if used_bytes > budget:
            break
        fitting.append(f)
    return fitting


def manifest_key(manifest: str) -> str:
    return f"manifests/{date_of_manifest(manifest)}/{manifest}.json"


def output_prefix(manifest: str) -> str:
    return f"output/merged-parquet-{date_of_manifest(manifest)}/"


def rejects_key(manifest: str) -> str:
    return f"rejects/{date_of_manifest(manifest)}/{manifest}.ndjson"


def manifest_document(manifest: str, files: list[PendingFile], created_at: str) -> dict:
    return {
        "manifest_id": manifest,
        "date_prefix": date_of_manifest(manifest),
        "created_at": created_at,
        "file_count": len(files),
        "total_bytes": sum(f.size for f in files),
        "files": [{"s3_uri": f.s3_uri, "file_key": f.file_key, "size": f.size, "etag": f.etag,
                   "version_id": f.version_id} for f in files],
    }


def claimed_content(entry: dict) -> dict[str, str]:
    """Extra GetObject arguments for a manifest file: exactly the claimed content, never
    bytes written over it since. Its version when tracked (an overwrite leaves it readable),
    else its ETag (an overwrite then fails the read with 412)."""
    if entry.get("version_id"):
        return {"VersionId": entry["version_id"]}
    return {"IfMatch": f'"{entry["etag"]}"'} if entry.get("etag") else {}


def exclude_files(document: dict, reasons: dict[str, str]) -> dict:
    """The manifest without the files named in `reasons` (file key -> why), which it lists
    under `excluded_files`; counts and bytes are of the files that remain."""
    kept = [f for f in document["files"] if f["file_key"] not in reasons]
    excluded = [{**f, "reason": reasons[f["file_key"]]} for f in document["files"] if f["file_key"] in reasons]
    return {**document, "file_count": len(kept), "total_bytes": sum(f["size"] for f in kept), "files": kept,
            "excluded_files": document.get("excluded_files", []) + excluded}
