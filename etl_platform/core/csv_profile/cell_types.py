"""Cell classification rules, applied to a whole string column batch at a time.

Every cell gets exactly one kind, after stripping leading/trailing ASCII whitespace:

- MISSING: empty, or exactly one of ``MISSING_TOKENS`` (case-sensitive).
- INT: ``[+-]?`` then 1-18 ASCII digits. Longer digit runs would overflow int64, so
  they are FLOAT.
- FLOAT: ``[+-]?(digits[.digits]|.digits)`` with an optional ``[eE][+-]?digits``
  exponent, and not INT. No thousands separators (``1,000``), no decimal commas
  (``3,14``), no ``inf``/``infinity`` and nothing that overflows a double (``1e999``):
  those are OTHER (``NaN`` is a missing token).
- DATE: a real calendar date (year >= 1) in one of ``YYYY-MM-DD``, ``YYYY/MM/DD``,
  ``DD.MM.YYYY``, ``MM/DD/YYYY`` (two-digit day and month), or an ISO datetime
  ``YYYY-MM-DD[T ]HH:MM:SS[.fff][Z|+HH:MM]`` whose date part is used.
  ``2023-02-30`` or ``13/01/2024`` are OTHER.
- OTHER: anything else (including cells of 32 KiB or more, never taken for numbers).

The kinds are disjoint, so a column's counts per kind decide its type (see
``infer_type``). The hot path never loops over cells in Python: numpy looks at the
bytes of the Arrow string buffers, pyarrow casts and runs the few regexes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .cells import Cells
from .dates import find_dates

MISSING_TOKENS = ("NA", "N/A", "n/a", "null", "NULL", "None", "NaN", "#N/A", "-")
TYPE_THRESHOLD_PERCENT = 90
EXAMPLE_MAX_CHARS = 80  # an example value longer than this is cut (a 1 MB cell stays out of the item)

MISSING, INT, FLOAT, DATE, OTHER = range(5)

_MISSING_SET = pa.array(MISSING_TOKENS)
_FLOAT_RE = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"
_MAX_INT_DIGITS = 18


def _byte_table(chars: str) -> np.ndarray:
    table = np.zeros(256, dtype=bool)
    table[list(chars.encode())] = True
    return table


# Byte tests route cells cheaply, so that casts and regexes only meet cells that
# could match them: free text never does.
_WS = _byte_table(" \t\n\r\x0b\x0c")
_NUMERIC_START = _byte_table("0123456789+-.")
_SIGN = _byte_table("+-")
_MISSING_START = _byte_table("".join({t[0] for t in MISSING_TOKENS}))
_MISSING_MAX_LEN = max(map(len, MISSING_TOKENS))
# One cumulative sum counts, per cell, the bytes outside the float alphabet (times
# 2**16) and the non-digit bytes inside it. int32 is several times faster than int64
# here; the running sum may wrap around, but a cell's difference stays exact as long
# as it is below 2**31, which cells shorter than _MAX_NUMBER_LEN guarantee.
_BYTE_WEIGHT = np.full(256, 1 << 16, dtype=np.int32)
_BYTE_WEIGHT[list(b"0123456789")] = 0
_BYTE_WEIGHT[list(b"+-.eE")] = 1
_MAX_NUMBER_LEN = 1 << 15


@dataclass
class BatchSummary:
    """What one column batch contributes to the column's profile."""

    counts: np.ndarray  # cells per kind, indexed by kind
    # kind -> (first batch-local indices, their cells as read, cut to EXAMPLE_MAX_CHARS)
    examples: dict[int, tuple[np.ndarray, list[str]]] = field(default_factory=dict)
    int_stats: tuple[int, int, int] | None = None  # min, max, sum
    float_stats: tuple[float, float, float] | None = None  # min, max, sum (FLOAT cells only)
    date_stats: tuple[int, int] | None = None  # min, max as YYYYMMDD integers


def classify(column: pa.Array, wanted_examples: frozenset[int] = frozenset(), max_examples: int = 5) -> BatchSummary:
    """Classify every cell of a string batch column and summarise the result.

    ``wanted_examples``: kinds whose first ``max_examples`` batch-local indices (and cells,
    untrimmed) to return.
    """
    if column.type != pa.string():
        column = column.cast(pa.string())
    c = Cells(column)
    if (_WS[c.first] | _WS[c.last]).any():
        c = Cells(pc.ascii_trim_whitespace(column))
    n = len(column)
    kind = np.full(n, OTHER, dtype=np.int8)
    kind[c.lengths == 0] = MISSING
    maybe = np.flatnonzero((c.lengths <= _MISSING_MAX_LEN) & _MISSING_START[c.first])
    if maybe.size:
        kind[maybe[pc.is_in(c.take(maybe), value_set=_MISSING_SET).to_numpy(zero_copy_only=False)]] = MISSING

    summary = BatchSummary(counts=np.zeros(5, dtype=np.int64))
    numeric = (kind == OTHER) & _NUMERIC_START[c.first] & (c.lengths < _MAX_NUMBER_LEN)
    count = int(np.count_nonzero(numeric))
    if count == n:
        kind = _classify_numeric_start(c, None, summary)
    elif count * 4 >= n:
        kind[numeric] = _classify_numeric_start(c, numeric, summary)[numeric]
    elif count:
        # A few candidates among text: pack them into a compact array first.
        idx = np.flatnonzero(numeric)
        kind[idx] = _classify_numeric_start(Cells(c.take(idx)), None, summary)

    summary.counts = np.bincount(kind, minlength=5)
    for k in wanted_examples:
        if summary.counts[k]:
            idx = np.flatnonzero(kind == k)[:max_examples]
            summary.examples[k] = (idx, [_example(v) for v in column.take(idx).to_pylist()])
    return summary


def _example(cell: str) -> str:
    """A cell as an example value: a long one is cut, marked with an ellipsis (items stay small)."""
    return cell if len(cell) <= EXAMPLE_MAX_CHARS else cell[:EXAMPLE_MAX_CHARS] + "\u2026"


def _classify_numeric_start(c: Cells, sel: np.ndarray | None, summary: BatchSummary) -> np.ndarray:
    """Kinds of the selected cells (``None``: all), which start with a digit, sign or
    dot; fills the statistics. Cells outside ``sel`` get meaningless kinds."""
    kind = np.full(len(c.arr), OTHER, dtype=np.int8)
    # Cheapest test first: unsigned ints are all an int column needs.
    is_int = pc.ascii_is_decimal(c.arr).to_numpy(zero_copy_only=False) & (c.lengths <= _MAX_INT_DIGITS)
    if sel is not None:
        is_int &= sel
    rest = ~is_int if sel is None else sel & ~is_int
    has_plus = False
    if rest.any():
        date_idx, keys, date_shaped = find_dates(c, np.flatnonzero(rest & (c.lengths >= 10)))
        kind[date_idx] = DATE
        if date_idx.size:
            summary.date_stats = (int(keys.min()), int(keys.max()))
        rest[date_shaped] = False  # a date shape is never a number, valid date or not
    if rest.any():
        weight = _byte_weights(c, rest)
        float_alphabet = rest & (weight < (1 << 16))
        short = (c.lengths >= 2) & (c.lengths <= _MAX_INT_DIGITS + 1)
        signed = float_alphabet & _SIGN[c.first] & (weight == 1) & short  # [+-] and digits
        if signed.any():
            is_int |= signed
            has_plus = bool((signed & (c.first == ord("+"))).any())
        is_float, values = _floats(c, float_alphabet & ~signed)
        kind[is_float] = FLOAT
        if values.size:
            summary.float_stats = (float(values.min()), float(values.max()), float(values.sum()))
    kind[is_int] = INT
    if is_int.any():
        summary.int_stats = _int_stats(c, is_int, has_plus)
    return kind


def _byte_weights(c: Cells, cells: np.ndarray) -> np.ndarray:
    """Per cell, the ``_BYTE_WEIGHT`` sum of its bytes; only meaningful inside ``cells``."""
    idx = np.flatnonzero(cells)
    if len(idx) * 4 < len(c.arr):  # few cells: sum over a packed copy of just those
        sub = Cells(c.take(idx))
        weight = np.zeros(len(c.arr), dtype=np.int32)
        weight[idx] = _byte_weights(sub, np.ones(len(idx), dtype=bool))
        return weight
    cs = np.zeros(len(c.data) + 1, dtype=np.int32)
    np.cumsum(_BYTE_WEIGHT[c.data], dtype=np.int32, out=cs[1:])
    return cs[c.ends] - cs[c.starts]


def _floats(c: Cells, cand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mask of FLOAT cells among ``cand``, their values); ``cand`` holds float-alphabet cells."""
    count = int(np.count_nonzero(cand))
    if not count:
        return cand, np.zeros(0)
    cells = c.subset(cand, count)
    compact = len(cells) != len(c.arr)
    try:
        # On the float alphabet pyarrow's parser accepts exactly the FLOAT grammar
        # (inf/nan need letters other than e), so a clean cast needs no regex.
        values = pc.cast(cells, pa.float64())
    except pa.ArrowInvalid:  # something like "1.2.3" or "1-2": the regex sorts them out
        ok = pc.match_substring_regex(cells, _FLOAT_RE).fill_null(False).to_numpy(zero_copy_only=False)
        cand = cand.copy()
        if compact:
            cand[np.flatnonzero(cand)[~ok]] = False
            cells = cells.filter(pa.array(ok))
        else:
            cand &= ok
            cells = c.masked(cand)
        values = pc.cast(cells, pa.float64())
    v = values.to_numpy(zero_copy_only=False)
    if not compact:
        v = v[cand]
    finite = np.isfinite(v)  # 1e999 overflows to inf: not a usable number
    if not finite.all():
        cand = cand.copy()
        cand[np.flatnonzero(cand)[~finite]] = False
        v = v[finite]
    return cand, v


def _int_stats(c: Cells, is_int: np.ndarray, has_plus: bool) -> tuple[int, int, int]:
    count = int(np.count_nonzero(is_int))
    if has_plus:
        # The int64 cast rejects a leading '+'.
        cells = pc.utf8_ltrim(c.take(np.flatnonzero(is_int)), characters="+")
    else:
        cells = c.subset(is_int, count)
    values = pc.cast(cells, pa.int64())
    lo, hi = (v.as_py() for v in pc.min_max(values).values())
    # Sums of int64 wrap around on overflow; fall back to exact Python ints when they could.
    if max(abs(lo), abs(hi)) * count < 2**63:
        total = pc.sum(values).as_py()
    else:
        total = sum(v for v in values.to_pylist() if v is not None)
    return lo, hi, total


def infer_type(counts: np.ndarray) -> str:
    """Majority rule over non-missing cells; a column with none is ``string``.

    ``int`` if INT cells are >= 90% of non-missing cells, else ``float`` if INT+FLOAT
    cells are, else ``date`` if DATE cells are, else ``string``. Checked in that
    order, so 95% ints plus 5% floats is ``int`` with the floats invalid.
    """
    present = int(counts[INT] + counts[FLOAT] + counts[DATE] + counts[OTHER])
    if present == 0:
        return "string"

    def reaches(k: int) -> bool:
        # Integer arithmetic: 0.9 * 70 is 63.00000000000001 in floating point.
        return int(k) * 100 >= TYPE_THRESHOLD_PERCENT * present

    if reaches(counts[INT]):
        return "int"
    if reaches(counts[INT] + counts[FLOAT]):
        return "float"
    if reaches(counts[DATE]):
        return "date"
    return "string"


VALID_KINDS = {"int": {INT}, "float": {INT, FLOAT}, "date": {DATE}, "string": {INT, FLOAT, DATE, OTHER}}
