"""Parse one NDJSON file into Arrow tables, separating malformed lines.

Fast path: ``pyarrow.json.read_json`` over the whole file in ONE block (so type
inference and the row numbers in error messages cover the whole file), accepted only
if it provably produced exactly one row per non-blank line: every line starts with
``{`` and ends with ``}`` (checked with ``bytes.count``, no per-line Python) and the
row count equals the line count, and no double is NaN/Infinity (pyarrow accepts those
tokens, JSON does not).

Slow path (only for files the fast path refuses): split into lines, validate each
non-blank line with orjson (not JSON, or not an object -> reject), then parse the good
lines with pyarrow in sub-batches cut at the row where pyarrow reports a type conflict
(``changed from number to string in row N``).  A row that pyarrow cannot parse even on
its own is either rejected (duplicate key, at any depth: one value would be lost) or
resolved in Python (e.g. ``[1, "x"]`` -> list of strings in typed mode, its canonical
text in string mode) and parsed again.  The sub-batches are unified like separate files.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.json as pj

from . import schema as sch
from .render import text_value

_ROW_RE = re.compile(r" in row (\d+)")
_BOM = b"\xef\xbb\xbf"
# typed mode: hidden column with the original JSON of a row resolved in Python (a row
# with a type conflict inside itself, e.g. [1, "x"]); never part of the output
ORIGINAL_ROW = "\x00original_row"
_WS = b" \t\r"
# Deepest nesting of objects/arrays a line may have (its own object is level 1).  Deeper
# lines are rejected in both modes: Arrow IPC (the spool) and Parquet refuse types nested
# much deeper, and the recursive renderers/unifiers would hit Python's recursion limit.
MAX_DEPTH = 32
# An integer token that may exceed 2**53: pyarrow would parse it as a double (beyond int64,
# or in a column mixed with fractions), losing digits.  Lines holding one are parsed in
# Python, whose ints are exact.  A digit run inside a string may match too: harmless.
_BIG_INT = re.compile(rb"[:,\[\s]-?\d{16,}[,}\]\s]")


@dataclass
class ParsedFile:
    tables: list[pa.Table]
    rows_in: int
    rejects: list[tuple[int, str, bytes]] = field(default_factory=list)   # (line_no, error, raw line)
    fast: bool = True


class Parser:
    """pyarrow JSON parsing with ISO-timestamp protection; hints are shared across threads.

    Hints only save re-parses: the parsed values never depend on them.
    """

    def __init__(self) -> None:
        self._hints: list[pa.Field] = []
        self._lock = threading.Lock()

    @staticmethod
    def _read(data: bytes, explicit: pa.Schema | None) -> pa.Table:
        ro = pj.ReadOptions(use_threads=False, block_size=max(len(data) + 1, 1 << 16))
        po = pj.ParseOptions(explicit_schema=explicit, unexpected_field_behavior="infer") \
            if explicit is not None else None
        return pj.read_json(pa.py_buffer(data), read_options=ro, parse_options=po)

    def parse(self, data: bytes) -> pa.Table:
        hints = self._hints
        table = None
        if hints:
            try:
                table = self._read(data, pa.schema(hints))
            except pa.ArrowInvalid:
                table = None
        if table is None:
            table = self._read(data, None)
        if sch.has_timestamp(table.schema):
            found = sch.timestamp_hints(table.schema)
            table = self._read(data, sch.timestamps_to_string(table.schema))
            with self._lock:
                self._hints = sch.merge_hints(self._hints, found)
        return table


def _all_lines_are_objects(data: bytes) -> int:
    """Number of lines if every line is ``{...}`` (optionally ``\\r``-terminated), else -1."""
    buf = np.frombuffer(data, np.uint8)
    n = len(buf)
    if n and buf[-1] == 10:
        n -= 1
    if n == 0 or buf[n - 1] == 10:     # empty, or a blank line at the end: slow path
        return -1
    buf = buf[:n]
    nl = np.flatnonzero(buf == 10)
    ends = np.append(nl - 1, n - 1)                 # last byte of every line
    if (buf[ends] == 13).any():
        ends = ends - (buf[ends] == 13)
    ok = buf[0] == 123 and (buf[nl + 1] == 123).all() and (buf[ends[ends >= 0]] == 125).all() \
        and (ends >= np.append(0, nl + 1)).all()
    return len(nl) + 1 if ok else -1


def _table_ok(table: pa.Table) -> bool:
    return not any(sch.has_nonfinite(c) for col in table.columns for c in col.chunks)


def _type_depth(schema: pa.Schema) -> int:
    """Nesting levels of the deepest column, the row itself counting as 1 (iterative: a
    type may be nested far deeper than Python's recursion limit)."""
    deepest, stack = 1, [(f.type, 2) for f in schema]
    while stack:
        t, d = stack.pop()
        if pa.types.is_struct(t):
            deepest = max(deepest, d)
            stack.extend((t.field(i).type, d + 1) for i in range(t.num_fields))
        elif pa.types.is_list(t) or pa.types.is_large_list(t):
            deepest = max(deepest, d)
            stack.append((t.value_type, d + 1))
    return deepest


def value_depth(value) -> int:
    """Nesting levels of a parsed JSON value (object/array = 1 + deepest member), iterative."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict):
            v = v.values()
        elif not isinstance(v, list):
            continue
        deepest = max(deepest, d)
        stack.extend((x, d + 1) for x in v if isinstance(x, (dict, list)))
    return deepest


def _has_big_int(data: bytes) -> bool:
    """Whether ``data`` may hold an integer token of 16+ digits.  Vectorised pre-check
    (any run of 16 digits, ~20 ms for 25 MB) before the exact but slower regex."""
    run = (np.frombuffer(data, np.uint8) - 48) < 10        # digits (uint8 wraps below '0')
    for shift in (1, 2, 4, 8):                             # run[i]: 2, 4, 8, 16 digits from i
        run = run[:-shift] & run[shift:]
    return bool(run.any()) and _BIG_INT.search(b" " + data) is not None


def _dup_check(pairs):
    seen = set()
    for k, _ in pairs:
        if k in seen:
            raise ValueError(f"duplicate key {k!r}")
        seen.add(k)
    return dict(pairs)


def _py_type(v) -> pa.DataType:
    if v is None:
        return pa.null()
    if isinstance(v, bool):
        return pa.bool_()
    if isinstance(v, int):      # wider than int64: its exact decimal text
        return pa.int64() if -2**63 <= v < 2**63 else sch.STRING
    if isinstance(v, float):
        return pa.float64()
    if isinstance(v, str):
        return sch.STRING
    if isinstance(v, dict):
        return pa.struct([pa.field(k, _py_type(x)) for k, x in v.items()])
    t = pa.null()
    for e in v:
        t = sch.unify_types(t, _py_type(e))
    return pa.list_(t)


def resolve_value(v, t: pa.DataType):
    """A parsed JSON value as a Python value of Arrow type ``t`` (typed-mode rules):
    string -> the value's text (strings unchanged, others canonical JSON), double ->
    float, struct -> dict with every field, list -> elements resolved."""
    if v is None:
        return None
    if pa.types.is_string(t):
        return text_value(v)
    if pa.types.is_floating(t):
        return float(v)
    if pa.types.is_struct(t):
        return {f.name: resolve_value(v.get(f.name), f.type) for f in t}
    if pa.types.is_list(t):
        return [resolve_value(e, t.value_type) for e in v]
    return v


class _LineParser:
    def __init__(self, parser: Parser, mode: str, rejects: list):
        self.parser, self.mode, self.rejects = parser, mode, rejects

    def one_row(self, line: bytes, line_no: int, err: Exception) -> pa.Table | None:
        try:
            value = json.loads(line, object_pairs_hook=_dup_check)
        except ValueError as e:
            self.rejects.append((line_no, str(e), line))
            return None
        if self.mode == "string":
            resolved = {k: text_value(x) for k, x in value.items()}
        else:
            resolved = resolve_value(value, _py_type(value))
        try:
            table = self.parser.parse(orjson.dumps(resolved))
        except pa.ArrowInvalid as e2:                       # last resort: never drop silently
            self.rejects.append((line_no, f"unparseable by Arrow: {err}; {e2}", line))
            return None
        if self.mode == "typed":
            # the resolution above only fits this row's own types; keep the original so
            # the row can be resolved again against the manifest-wide schema (pass 2)
            # json, not orjson: orjson refuses integers wider than 64 bits
            table = table.append_column(ORIGINAL_ROW, pa.array([json.dumps(value)]))
        return table

    def parse(self, lines: list[bytes], numbers: list[int], exact: set[int]) -> list[pa.Table]:
        """Tables of ``lines`` in order; lines at the indexes in ``exact`` are parsed in
        Python (big integers), the runs between them by Arrow."""
        tables, start = [], 0
        for i in sorted(exact):
            if start < i:
                tables += self._arrow(lines[start:i], numbers[start:i])
            t = self.one_row(lines[i], numbers[i], "integer of 16+ digits")
            if t is not None:
                tables.append(t)
            start = i + 1
        if start < len(lines):
            tables += self._arrow(lines[start:], numbers[start:])
        return tables

    def _arrow(self, lines: list[bytes], numbers: list[int]) -> list[pa.Table]:
        tables, start = [], 0
        while start < len(lines):
            chunk = lines[start:]
            try:
                tables.append(self.parser.parse(b"\n".join(chunk)))
                break
            except pa.ArrowInvalid as e:
                m = _ROW_RE.search(str(e))
                row = int(m.group(1)) if m else 0
                if 0 < row < len(chunk):
                    try:
                        tables.append(self.parser.parse(b"\n".join(chunk[:row])))
                        start += row
                        continue
                    except pa.ArrowInvalid:
                        row = 0
                if m is None or row >= len(chunk):  # unexpected message: go row by row
                    for line, n in zip(chunk, numbers[start:]):
                        t = self._single(line, n)
                        if t is not None:
                            tables.append(t)
                    break
                t = self._single(chunk[0], numbers[start])
                if t is not None:
                    tables.append(t)
                start += 1
        return tables

    def _single(self, line: bytes, n: int) -> pa.Table | None:
        try:
            return self.parser.parse(line)
        except pa.ArrowInvalid as e:
            return self.one_row(line, n, e)


def parse_file(data: bytes, parser: Parser, mode: str) -> ParsedFile:
    if data.startswith(_BOM):
        data = data[len(_BOM):]
    # pyarrow copies invalid UTF-8 into string columns unchecked (Parquet readers then
    # refuse the whole part): such a file takes the slow path, where orjson rejects the line
    big = _has_big_int(data)
    n_lines = _all_lines_are_objects(data) if _is_utf8(data) and not big else -1
    if n_lines > 0:
        try:
            table = parser.parse(data)
            if table.num_rows == n_lines and _table_ok(table) \
                    and _type_depth(table.schema) <= MAX_DEPTH:
                return ParsedFile([table], n_lines)
        except (pa.ArrowInvalid, RecursionError):    # e.g. a line nested 1000 levels deep
            pass
    elif not data.strip(_WS + b"\n"):
        return ParsedFile([], 0)
    return _slow(data, parser, mode, big)


def _is_utf8(data: bytes) -> bool:
    if data.isascii():                    # C-fast, no copy: the common case
        return True
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def _invalid_json(line: bytes, e: Exception) -> str:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as u:
        return f"invalid UTF-8 at byte {u.start + 1} of the line"
    if str(e).startswith("depth limit exceeded"):     # orjson stops at 1024 levels
        return f"nested deeper than {MAX_DEPTH} levels"
    return f"invalid JSON: {e}"


def _slow(data: bytes, parser: Parser, mode: str, big: bool = True) -> ParsedFile:
    rejects: list[tuple[int, str, bytes]] = []
    good, numbers, exact = [], [], set()
    for n, raw in enumerate(data.split(b"\n"), 1):
        line = raw.strip(_WS)
        if not line:
            continue
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as e:
            rejects.append((n, _invalid_json(line, e), raw))
            continue
        if not isinstance(value, dict):
            kind = {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
                type(value), "number")
            rejects.append((n, f"not a JSON object: {kind}", raw))
            continue
        # bytes.count is C-fast; only a line with that many brackets can be too deep
        if line.count(b"[") + line.count(b"{") > MAX_DEPTH and value_depth(value) > MAX_DEPTH:
            rejects.append((n, f"nested deeper than {MAX_DEPTH} levels", raw))
            continue
        if big and _BIG_INT.search(b" " + line):
            exact.add(len(good))
        good.append(line)
        numbers.append(n)
    rows_in = len(good) + len(rejects)
    tables = _LineParser(parser, mode, rejects).parse(good, numbers, exact) if good else []
    rejects.sort(key=lambda r: r[0])
    return ParsedFile(tables, rows_in, rejects, fast=False)
