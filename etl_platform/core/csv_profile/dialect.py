"""Opening the source, rejecting empty or binary input, and sniffing the dialect.

Only a sample from the start of the file is read here (64 KiB, more if the first
records are longer); the profiler streams the rest.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import itertools
import os
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass
from typing import BinaryIO, Iterator

from .errors import CsvProfileError

DELIMITERS = (",", ";", "\t", "|")  # ties go to the earlier one
QUOTECHAR = '"'
BOM = b"\xef\xbb\xbf"
SAMPLE_BYTES = 64 * 1024
MAX_SAMPLE_BYTES = 16 * 1024 * 1024
SNIFF_RECORDS = 200
_WHITESPACE = b" \t\r\n\x0b\x0c"
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
UTF16_MESSAGE = "UTF-16 text is not supported: save the file as UTF-8"
# Python's csv module refuses a field over 128 KiB by default: a 1 MB cell in the sniffed
# sample (or in a ragged row) made every delimiter look unreadable. The limit is the
# process's; raising it to the largest record the profiler reads changes nothing else.
MAX_RECORD_BYTES = 64 << 20
csv.field_size_limit(max(csv.field_size_limit(), MAX_RECORD_BYTES))


@dataclass
class Dialect:
    delimiter: str
    encoding: str  # "utf-8", "utf-8-sig" or "latin-1"
    data_offset: int  # where the header row starts (after any BOM and blank lines)
    field_count: int  # fields in the header row
    quotechar: str = QUOTECHAR
    has_header: bool = True

    def as_dict(self) -> dict:
        return {"delimiter": self.delimiter, "quotechar": self.quotechar,
                "encoding": self.encoding, "has_header": self.has_header}


@contextlib.contextmanager
def open_seekable(source: str | os.PathLike | BinaryIO) -> Iterator[BinaryIO]:
    """Yield a seekable binary file positioned at the start of the CSV.

    A non-seekable stream (e.g. an S3 body) is spooled to a temporary file first:
    the encoding fallback may need a second pass, and disk keeps memory bounded.
    """
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as f:
            yield f
        return
    if _seekable(source):
        yield source
        return
    with tempfile.TemporaryFile(prefix="csv_profile_") as tmp:
        shutil.copyfileobj(source, tmp, 1 << 20)
        tmp.seek(0)
        yield tmp


def _seekable(f: BinaryIO) -> bool:
    try:
        return bool(f.seekable()) and f.tell() >= 0
    except (AttributeError, OSError, ValueError):
        return False


def sniff(f: BinaryIO) -> Dialect:
    start = f.tell()
    head = f.read(SAMPLE_BYTES)
    if not isinstance(head, bytes):
        raise TypeError("profile_csv needs a path or a binary file object")
    if _looks_utf16(head):
        raise CsvProfileError(UTF16_MESSAGE)
    has_bom = head.startswith(BOM)
    offset = start + (len(BOM) if has_bom else 0)
    offset = _skip_leading_whitespace(f, offset)

    f.seek(offset)
    size = SAMPLE_BYTES
    while True:
        sample = f.read(size)
        if b"\x00" in sample:
            raise CsvProfileError("not a text file (binary content)")
        complete = len(sample) < size
        text, encoding = _decode_sample(sample, complete)
        records = _records(text, complete)
        # Two complete records (header + one row) are enough to sniff on.
        if complete or size >= MAX_SAMPLE_BYTES or max(map(len, records.values())) >= 2:
            break
        f.seek(offset)
        size *= 4
    if encoding == "utf-8" and has_bom:
        encoding = "utf-8-sig"
    delimiter = _choose_delimiter(records)
    header = records[delimiter][:1]
    if not header:
        raise CsvProfileError("CSV parsing failed: the header row is longer than 16 MiB or unreadable")
    return Dialect(delimiter=delimiter, encoding=encoding, data_offset=offset, field_count=len(header[0]))


def _looks_utf16(head: bytes) -> bool:
    """A UTF-16 BOM, or (without one) a NUL in every other byte: text, just not in an
    encoding the profiler reads, which deserves a better word than "binary"."""
    if head.startswith(UTF16_BOMS):
        return True
    odd, even = head[1::2], head[0::2]
    return len(head) >= 4 and any(half.count(0) == len(half) and other.count(0) == 0
                                  for half, other in ((odd, even), (even, odd)))


def _skip_leading_whitespace(f: BinaryIO, offset: int) -> int:
    """Offset of the first line holding anything but whitespace, or raise "file is empty"."""
    f.seek(offset)
    pos = offset
    while chunk := f.read(SAMPLE_BYTES):
        if b"\x00" in chunk:
            raise CsvProfileError("not a text file (binary content)")
        stripped = chunk.lstrip(_WHITESPACE)
        if stripped:
            first = len(chunk) - len(stripped)
            return pos + chunk.rfind(b"\n", 0, first) + 1  # rfind is -1 when the line began earlier
        pos += len(chunk)
    raise CsvProfileError("file is empty")


def _decode_sample(sample: bytes, complete: bool) -> tuple[str, str]:
    """UTF-8 if the sample is valid UTF-8, else Latin-1 (which decodes any byte).

    The profiler still falls back to Latin-1 if invalid UTF-8 shows up later.
    """
    try:
        # Incremental, so a multi-byte character cut at the sample's end is not an error.
        return codecs.getincrementaldecoder("utf-8")().decode(sample, final=complete), "utf-8"
    except UnicodeDecodeError:
        return sample.decode("latin-1"), "latin-1"


def _records(text: str, complete: bool) -> dict[str, list[list[str]]]:
    if not complete:
        # The last record may be cut anywhere, even inside quotes: drop it.
        text = text[: text.rfind("\n") + 1]
    out = {}
    for d in DELIMITERS:
        reader = csv.reader(io.StringIO(text), delimiter=d, quotechar=QUOTECHAR, doublequote=True)
        try:
            rows = [r for r in itertools.islice(reader, SNIFF_RECORDS) if r]
        except csv.Error:
            rows = []
        out[d] = rows
    return out


def _choose_delimiter(records: dict[str, list[list[str]]]) -> str:
    """The delimiter giving the most consistent field count (>= 2), then the most fields."""
    best, best_score = DELIMITERS[0], None
    for d in DELIMITERS:
        counts = Counter(len(r) for r in records[d])
        if not counts:
            continue
        fields, freq = counts.most_common(1)[0]
        if fields < 2:
            continue
        score = (freq / sum(counts.values()), fields)
        if best_score is None or score > best_score:
            best, best_score = d, score
    return best


def unique_names(raw: list[str]) -> list[str]:
    """Strip header names; blank ones become ``col_<position>``; repeats get ``_2``, ``_3``..."""
    names = [name.strip() or f"col_{i}" for i, name in enumerate(raw, 1)]
    taken: set[str] = set()
    reserved = set(names)
    out = []
    for name in names:
        if name in taken:
            n = 2
            while f"{name}_{n}" in taken or f"{name}_{n}" in reserved:
                n += 1
            name = f"{name}_{n}"
        taken.add(name)
        out.append(name)
    return out
