"""Numpy views of an Arrow string array's offsets and bytes, for byte-level tests."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


class Cells:
    """A string array with numpy views of its offsets and bytes (no copies)."""

    def __init__(self, arr: pa.Array) -> None:
        self.arr = arr
        offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset : arr.offset + len(arr) + 1]
        buf = arr.buffers()[2]
        self.data = np.frombuffer(buf, dtype=np.uint8) if buf is not None and buf.size else np.zeros(1, np.uint8)
        self.starts, self.ends = offsets[:-1], offsets[1:]
        self.lengths = self.ends - self.starts
        empty = self.lengths == 0
        # mode="clip" keeps the index of an empty last cell in bounds; its byte is zeroed.
        self.first = np.take(self.data, self.starts, mode="clip")
        self.last = np.take(self.data, self.ends - 1, mode="clip")
        self.first[empty] = 0
        self.last[empty] = 0

    def take(self, idx: np.ndarray) -> pa.Array:
        return self.arr if len(idx) == len(self.arr) else self.arr.take(idx)

    def masked(self, mask: np.ndarray) -> pa.Array:
        """The same strings with every cell outside ``mask`` null: kernels skip them, and
        unlike ``take`` nothing is copied."""
        a = self.arr
        bits = np.concatenate([np.zeros(a.offset, dtype=bool), mask]) if a.offset else mask
        validity = pa.py_buffer(np.packbits(bits, bitorder="little"))
        return pa.Array.from_buffers(pa.string(), len(a), [validity, a.buffers()[1], a.buffers()[2]], offset=a.offset)

    def subset(self, mask: np.ndarray, count: int) -> pa.Array:
        """The cells in ``mask``: a null-masked view when they are many, a copy when few."""
        return self.masked(mask) if count * 4 >= len(self.arr) else self.take(np.flatnonzero(mask))

    def match(self, idx: np.ndarray, pattern: str) -> np.ndarray:
        if not len(idx):
            return np.zeros(0, dtype=bool)
        return pc.match_substring_regex(self.take(idx), pattern).to_numpy(zero_copy_only=False)
