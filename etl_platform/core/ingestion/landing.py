"""What makes a landed NDJSON file valid, and where it is tracked (seeds 002/003)."""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass
from datetime import date

LANDING_KEY = re.compile(r"^(?P<prefix>.*?)(?P<date>\d{4}-\d{2}-\d{2})/(?P<file_key>.+)$")


@dataclass(frozen=True)
class LandingRules:
    prefix: str = "landing/ndjson/"
    min_bytes: int = 104857
    max_bytes: int = 20 * 1024 * 1024
    suffix: str = ".ndjson"


@dataclass(frozen=True)
class Placement:
    """Where a landed object is tracked: PK date_prefix, SK file_key."""

    date_prefix: str
    file_key: str


def placement(key: str, rules: LandingRules, fallback_date: str) -> Placement:
    """`landing/ndjson/2026-02-01/data-001.ndjson` -> (2026-02-01, data-001.ndjson). A key
    outside the convention is tracked under `fallback_date` (the event's day) by its full key
    from the bucket's root, `/x.json`: the leading `/` keeps it from sharing a record with a
    file of the same name in that day's folder (`landing/ndjson/<day>/x.json`)."""
    if key.startswith(rules.prefix):
        match = LANDING_KEY.match(key[len(rules.prefix):])
        if match and not match.group("prefix") and is_date(match.group("date")):
            return Placement(match.group("date"), match.group("file_key"))
    return Placement(fallback_date, f"{STRAY_MARK}{key}")


STRAY_MARK = "/"  # leads the file_key of a key outside the convention


def is_folder_marker(key: str, size: int) -> bool:
    """An empty object whose key ends in `/`: what the S3 console's "Create folder" writes.
    It holds no data, so it is neither ingested nor quarantined (moving it would only make
    the producer's folder vanish)."""
    return size == 0 and key.endswith("/")


def validation_error(key: str, size: int, rules: LandingRules) -> str | None:
    """Why the object cannot be ingested, judged from its key and size; None if it can."""
    if not key.startswith(rules.prefix):
        return f"key is outside {rules.prefix}"
    match = LANDING_KEY.match(key[len(rules.prefix):])
    if not match or match.group("prefix") or not is_date(match.group("date")):
        return f"key is not {rules.prefix}YYYY-MM-DD/<file>"
    if not key.endswith(rules.suffix):
        return f"not a {rules.suffix} file"
    if size < rules.min_bytes:
        return f"too small: {size} bytes < {rules.min_bytes}"
    if size > rules.max_bytes:
        return f"too large: {size} bytes > {rules.max_bytes}"
    return None


# `<file>#reupload-<etag>`: the tracking record of new content under an already-claimed key
REUPLOAD_MARK = "#reupload-"

# The tag a run puts on each landing file version it ingested; the landing bucket's lifecycle
# rule (infra/template.yaml) expires only versions carrying it.
INGESTED_TAG = {"Key": "ingestion", "Value": "completed"}

HEAD_BYTES = 64 * 1024  # a first line longer than this is judged by its opening brace


def content_error(head: bytes, *, whole_file: bool) -> str | None:
    """The file must start with a JSON object line: judged on its first HEAD_BYTES.

    Never raises on content: a first line nested too deeply to parse here is accepted
    (the engine turns that line alone into a reject)."""
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if not text:
        return "no content: the file holds only blank lines"
    if not text.startswith(b"{"):
        return "not NDJSON: the first line is not a JSON object"
    line, newline, _ = text.partition(b"\n")
    if newline or whole_file:
        try:
            value = json.loads(line)
        except UnicodeDecodeError as exc:   # a ValueError too: say what is wrong
            return f"wrong encoding: the first line is not valid UTF-8 (byte {exc.start + 1})"
        except ValueError as exc:
            return f"not NDJSON: the first line is not valid JSON ({str(exc)[:80]})"
        except RecursionError:
            # nested too deep for Python to judge; it starts with "{", so the file is
            # tracked and the engine rejects that one line (nested deeper than MAX_DEPTH)
            # with its line number while converting the rest: the file is not lost for it
            return None
        if not isinstance(value, dict):
            return "not NDJSON: the first line is not a JSON object"
    return None


def shard_for(file_key: str, shards: int) -> int:
    """Stable across processes and Python versions (unlike hash())."""
    return zlib.crc32(file_key.encode()) % shards


def is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
        return True
    except ValueError:
        return False
