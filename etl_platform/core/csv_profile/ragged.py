"""Rows with more or fewer fields than the header."""

from __future__ import annotations

import bisect
import csv
import io
import threading

import numpy as np
import pyarrow as pa


class RaggedRows:
    """pyarrow's invalid-row handler: remembers rows with the wrong field count.

    pyarrow skips them; their fields are profiled here in vectorised chunks (absent
    fields as missing cells, extra fields dropped), and their row numbers let the
    profiler map a good row's position in the batches back to its file row.
    """

    def __init__(self, field_count: int, delimiter: str) -> None:
        self.field_count = field_count
        self.delimiter = delimiter
        self.rows: list[int] = []  # data row numbers (1-based, header excluded), ascending
        self.pending: list[tuple[int, str]] = []
        self.header_broken = False
        self.last: tuple[int, str] | None = None  # the latest ragged row: (data row, raw text)
        self._lock = threading.Lock()  # the reader thread appends while the profiler takes

    def __call__(self, row) -> str:
        # row.number counts records from 1 with the header, blank lines excluded.
        if row.number <= 1:
            self.header_broken = True
        else:
            with self._lock:
                self.rows.append(row.number - 1)
                self.pending.append((row.number - 1, row.text))
                self.last = (row.number - 1, row.text)
        return "skip"

    def data_row(self, good_index: int) -> int:
        """1-based file data row of the ``good_index``-th (0-based) non-ragged row."""
        r = good_index + 1
        while True:
            nxt = good_index + 1 + bisect.bisect_right(self.rows, r)
            if nxt == r:
                return r
            r = nxt

    def take_pending(self) -> tuple[np.ndarray, list[pa.Array]] | None:
        with self._lock:
            pending, self.pending = self.pending, []
        if not pending:
            return None
        numbers, cols = [], [[] for _ in range(self.field_count)]
        for number, text in pending:
            fields = next(csv.reader(io.StringIO(text), delimiter=self.delimiter, quotechar='"'), [])
            fields = (fields + [""] * self.field_count)[: self.field_count]
            numbers.append(number)
            for col, value in zip(cols, fields):
                col.append(value)
        return np.array(numbers, dtype=np.int64), [pa.array(c, pa.string()) for c in cols]
