"""A quote that is never closed: RFC 4180 lets a quoted field hold newlines, so pyarrow
reads everything from such a quote to the end of the file into one cell, and the lines it
swallowed are neither rows nor ragged rows: the profile would quietly count too few.

Only the file's LAST record can hold an unclosed quote (it runs to the end of the file),
so detection looks at that record alone and costs nothing per row. Two cases:
- the record has the wrong field count (the usual case: the quote opened a middle field):
  pyarrow hands its raw text to the ragged-row handler, which this scans for a field that
  opens a quote and never closes it;
- the record has the header's field count (the quote opened its last field): its last
  cell is then everything after the quote, so the file must end with the quote followed
  by that cell re-escaped (``"`` doubled). A closed field cannot produce that ending: the
  file would end with the closing quote instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import BinaryIO

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class UnclosedQuote:
    row: int              # 1-based data row whose field opens the quote
    lines_swallowed: int  # physical lines after it read into that field (not rows any more)

    def as_dict(self) -> dict:
        return {"row": self.row, "lines_swallowed": self.lines_swallowed}


def lines_swallowed(field_text: str) -> int:
    """Line breaks inside the unclosed field, less one that ends the file."""
    return len(_LINE_BREAK.findall(_strip_final_break(field_text)))


def _strip_final_break(text: str) -> str:
    for end in ("\r\n", "\n", "\r"):
        if text.endswith(end):
            return text[: -len(end)]
    return text


def unclosed_in_record(text: str, delimiter: str, quote: str) -> str | None:
    """The text after the opening quote of a field of one record's raw ``text`` that is
    never closed, or None. A quote is special only at a field's start; ``""`` inside a
    quoted field is an escaped quote. Jumps with str.find: no per-character Python."""
    i, n = 0, len(text)
    while i <= n:
        if i < n and text[i] == quote:
            j = i + 1
            while True:
                k = text.find(quote, j)
                if k < 0:
                    return text[i + 1:]
                if text.startswith(quote, k + 1):
                    j = k + 2
                    continue
                i = k + 1
                break
        d = text.find(delimiter, i)
        if d < 0:
            return None
        i = d + 1
    return None


def file_ends_in_open_quote(f: BinaryIO, last_cell: str, quote: str, encoding: str) -> bool:
    """Whether the file ends with ``quote`` + ``last_cell`` re-escaped: the last field of
    the last record opened a quote that never closed (see the module docstring)."""
    raw = (quote + last_cell.replace(quote, quote * 2)).encode("utf-8" if encoding.startswith("utf-8") else encoding)
    position = f.tell()
    try:
        size = f.seek(0, 2)
        if len(raw) > size:
            return False
        f.seek(size - len(raw))
        return f.read(len(raw)) == raw
    finally:
        f.seek(position)
