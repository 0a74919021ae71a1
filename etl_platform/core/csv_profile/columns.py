"""Per-column accumulators: O(1) memory whatever the number of rows."""

from __future__ import annotations

import math

import numpy as np

from . import cell_types as ct
from .dates import date_key_to_iso

_EXAMPLE_KINDS = (ct.INT, ct.FLOAT, ct.DATE, ct.OTHER)


class ColumnProfile:
    """Everything the final profile needs about one column, in O(1) memory."""

    def __init__(self, max_examples: int) -> None:
        self.max_examples = max_examples
        self.counts = np.zeros(5, dtype=np.int64)
        # kind -> the first (data row, cell) pairs of that kind, in row order
        self.examples: dict[int, list[tuple[int, str]]] = {k: [] for k in _EXAMPLE_KINDS}
        self.int_stats: list | None = None  # [min, max, sum]
        self.float_stats: list | None = None  # [min, max, [partial sums]]
        self.date_stats: list | None = None

    def wanted(self, first_row: int) -> frozenset[int]:
        # Rows of ragged records arrive out of order, so a full list may still improve.
        return frozenset(k for k, ex in self.examples.items()
                         if len(ex) < self.max_examples or ex[-1][0] > first_row)

    def add(self, s: ct.BatchSummary, row_numbers) -> None:
        self.counts += s.counts
        for k, (local, cells) in s.examples.items():
            self.examples[k] = self._first(self.examples[k], zip(row_numbers(local), cells))
        self.int_stats = _merge(self.int_stats, s.int_stats)
        fs = s.float_stats
        self.float_stats = _merge(self.float_stats, fs and (fs[0], fs[1], [fs[2]]))
        self.date_stats = _merge(self.date_stats, s.date_stats)

    def merge(self, other: "ColumnProfile") -> None:
        self.counts += other.counts
        for k, ex in other.examples.items():
            self.examples[k] = self._first(self.examples[k], ex)
        self.int_stats = _merge(self.int_stats, other.int_stats)
        self.float_stats = _merge(self.float_stats, other.float_stats)
        self.date_stats = _merge(self.date_stats, other.date_stats)

    def finish(self, total_rows: int) -> tuple[str, dict | None, int, dict | None]:
        """(type, statistics or None, missing count, invalid entry or None)."""
        kind = ct.infer_type(self.counts)
        c = self.counts
        stats = None
        if kind == "int":
            lo, hi, total = self.int_stats
            stats = {"min": lo, "max": hi, "avg": total / int(c[ct.INT]), "count": int(c[ct.INT])}
        elif kind == "float":
            parts = [p for p in (self.int_stats, self.float_stats) if p]
            count = int(c[ct.INT] + c[ct.FLOAT])
            # fsum of the per-batch sums: exactly rounded, so independent of batch order.
            partials = list(self.float_stats[2]) if self.float_stats else []
            if self.int_stats:
                partials.append(self.int_stats[2])
            total = math.fsum(partials)
            stats = {"min": float(min(p[0] for p in parts)), "max": float(max(p[1] for p in parts)),
                     "avg": total / count, "count": count}
        elif kind == "date":
            lo, hi = (date_key_to_iso(k) for k in self.date_stats)
            stats = {"min": lo, "max": hi, "count": int(c[ct.DATE])}
        bad = [k for k in _EXAMPLE_KINDS if k not in ct.VALID_KINDS[kind]]
        n_bad = int(sum(c[k] for k in bad))
        invalid = None
        if n_bad:
            first = self._first([], (e for k in bad for e in self.examples[k]))
            invalid = {"count": n_bad, "percentage": pct(n_bad, total_rows),
                       "examples": [{"row": row, "value": cell} for row, cell in first]}
        return kind, stats, int(c[ct.MISSING]), invalid

    def _first(self, kept: list[tuple[int, str]], more) -> list[tuple[int, str]]:
        """The first `max_examples` (row, cell) pairs of both, by row; a row only once."""
        by_row = dict(kept)
        for row, cell in more:
            by_row.setdefault(int(row), cell)
        return sorted(by_row.items())[: self.max_examples]


def _merge(acc: list | None, new: tuple | None) -> list | None:
    if new is None:
        return acc
    if acc is None:
        return list(new)
    acc[0], acc[1] = min(acc[0], new[0]), max(acc[1], new[1])
    if len(acc) > 2:
        acc[2] += new[2]
    return acc


def pct(k: int, n: int) -> float:
    return round(100.0 * k / n, 2) if n else 0.0
