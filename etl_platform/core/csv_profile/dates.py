"""Dates: fixed-width layouts checked on the bytes, calendar checked on YYYYMMDD keys."""

from __future__ import annotations

import numpy as np

from .cells import Cells

_DATETIME_RE = r"^\d{4}-\d\d-\d\d[T ](?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?$"

# Date layouts: separator, its two positions, and the positions of the digits of
# YYYYMMDD in the first 10 bytes.
_DATE_LAYOUTS = (
    (ord("-"), (4, 7), (0, 1, 2, 3, 5, 6, 8, 9)),  # YYYY-MM-DD (and ISO datetimes)
    (ord("/"), (4, 7), (0, 1, 2, 3, 5, 6, 8, 9)),  # YYYY/MM/DD
    (ord("."), (2, 5), (6, 7, 8, 9, 3, 4, 0, 1)),  # DD.MM.YYYY
    (ord("/"), (2, 5), (6, 7, 8, 9, 0, 1, 3, 4)),  # MM/DD/YYYY
)
_VALID_MMDD = np.zeros(1300, dtype=bool)  # MMDD -> exists in a leap year
for _m, _days in enumerate((31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31), 1):
    _VALID_MMDD[_m * 100 + 1 : _m * 100 + _days + 1] = True


def find_dates(c: Cells, cand: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(indices of valid dates, their YYYYMMDD keys, indices of date-shaped cells)."""
    if not cand.size:
        return cand, cand, cand
    h = np.lib.stride_tricks.sliding_window_view(c.data, 10)[c.starts[cand]]
    shaped, keys = [], []
    unseen = len(cand)
    for sep, (a, b), digit_order in _DATE_LAYOUTS:
        if not unseen:
            break  # the layouts are disjoint: typically one covers every candidate
        rows = np.flatnonzero((h[:, a] == sep) & (h[:, b] == sep))
        if not rows.size:
            continue
        unseen -= rows.size
        hr = h if rows.size == len(h) else h[rows]
        # uint8 arithmetic wraps bytes below "0" around, so one comparison tests 0-9.
        ok = (hr[:, list(digit_order)] - 48).max(axis=1) <= 9
        longer = c.lengths[cand[rows]] > 10
        if longer.any():
            # Only YYYY-MM-DD may go on, as an ISO datetime: a regex checks the time part.
            longer &= ok
            ok[longer] = c.match(cand[rows[longer]], _DATETIME_RE) if (a, sep) == (4, ord("-")) else False
        if not ok.all():
            rows, hr = rows[ok], hr[ok]
        key = np.zeros(len(rows), dtype=np.int32)
        for i in digit_order:
            key *= 10
            key += hr[:, i]
            key -= 48
        shaped.append(rows)
        keys.append(key)
    if not shaped:
        return cand[:0], cand[:0], cand[:0]
    rows, key = np.concatenate(shaped), np.concatenate(keys)
    mmdd = key % 10000
    valid = (key >= 10000) & _VALID_MMDD[np.minimum(mmdd, 1299)]  # year >= 1
    feb29 = np.flatnonzero(valid & (mmdd == 229))
    if feb29.size:
        year = key[feb29] // 10000
        valid[feb29] = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    return cand[rows[valid]], key[valid], cand[rows]


def date_key_to_iso(key: int) -> str:
    return f"{key // 10000:04d}-{key // 100 % 100:02d}-{key % 100:02d}"
