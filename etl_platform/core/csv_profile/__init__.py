"""Pure CSV profiler of pipeline C: schema, statistics and quality issues of one file.

No AWS or Dagster code here; the caller passes a path or a binary file object.

    profile_csv(source, *, max_invalid_examples=5) -> dict   # JSON-serialisable
    CsvProfileError                                         # str(exc) is for humans

Rules
-----
Reading
  - Streams 1 MiB blocks through ``pyarrow.csv.open_csv`` (all columns as strings),
    parsed on a background thread while the calling thread classifies the previous
    2 MiB; peak memory (~220 MB RSS, half of it pyarrow's own baseline) does not grow
    with the file size. A non-seekable stream is first spooled to a temporary file.
  - Encoding: a UTF-8 BOM is skipped and reported as ``utf-8-sig``; otherwise
    ``utf-8``; if the file is not valid UTF-8 (in the 64 KiB sample, or anywhere
    later, which restarts the pass) it is decoded as ``latin-1``.
  - Dialect: the delimiter among ``,`` ``;`` tab ``|`` that gives the most consistent
    field count (at least 2) over the first 200 records, then the most fields; ties
    go to that order; a one-column file is ``,``. Quoting is RFC 4180: ``"`` quotes,
    ``""`` escapes a quote, quoted fields may hold delimiters and newlines. Single
    quotes are data. An unterminated quote runs to the end of the file: the lines after
    it are one cell, not rows, so the profile reports it under
    ``quality_issues.unterminated_quote`` = ``{"row": <data row of the quote>,
    "lines_swallowed": <physical lines read into that cell>}`` and ``has_issues`` is true
    (only the last record can hold one; see ``quotes``).
  - The first non-blank row is the header. Names are stripped; a blank name becomes
    ``col_<position>`` (1-based), a repeated one ``<name>_2``, ``<name>_3``...
  - Blank lines are skipped and are not rows. Row numbers in examples are 1-based
    data rows (the header is not counted).
  - Ragged rows (more or fewer fields than the header) are counted in ``row_count``
    and reported under ``quality_issues.ragged_rows``; their fields are profiled:
    absent fields count as missing, extra fields are ignored.
Cells (``cell_types``)
  - Leading/trailing ASCII whitespace is stripped first.
  - Missing: empty, or exactly one of ``NA N/A n/a null NULL None NaN #N/A -``.
    Missing cells are neither valid nor invalid.
  - int: ``[+-]?`` and 1-18 digits. float: decimal or exponent notation
    (``1.5``, ``.5``, ``5.``, ``-1e3``), plus digit runs too long for int64. Thousands
    separators (``1,000``), decimal commas, ``inf`` and overflowing values are not
    numbers.
  - date: a real calendar date as ``YYYY-MM-DD``, ``YYYY/MM/DD``, ``DD.MM.YYYY``,
    ``MM/DD/YYYY`` (two-digit day and month) or ISO datetime
    ``YYYY-MM-DD[T ]HH:MM:SS[.f][Z|+HH:MM]`` (date part used).
Types (majority rule over non-missing cells, threshold 90%)
  - ``int`` if int cells reach 90%; else ``float`` if int + float cells do (ints are
    valid floats); else ``date`` if date cells do; else ``string``. Checked in that
    order. A column with no non-missing cell is ``string``.
  - In a typed column every non-missing cell of another kind is invalid (int column:
    floats, dates, text; float column: dates, text; date column: numbers, text). A
    ``string`` column has no invalid values.
Output
  - statistics: int columns ``min``/``max`` as ints, float columns as floats, ``avg``
    a float, ``count`` the valid cells; date columns ISO ``min``/``max`` and ``count``;
    string columns have no entry.
  - missing/invalid percentages are ``round(100 * count / row_count, 2)``; only
    columns with a non-zero count are listed; an invalid column's ``examples`` are its
    first ``max_invalid_examples`` invalid cells as ``{"row": <data row>, "value": <the
    cell as read, untrimmed>}``, in row order, a value over 80 characters cut and ended
    with ``…``; ``ragged_rows.examples`` are row numbers. ``has_issues`` is true if
    anything is missing, invalid or ragged, or a quote is left open.
  - A header-only file is valid: ``row_count`` 0, every column ``string``.
Errors (``CsvProfileError``)
  - ``file is empty`` (0 bytes or whitespace only), ``UTF-16 text is not supported:
    save the file as UTF-8`` (a UTF-16 BOM, or a NUL in every other byte of the first
    block), ``not a text file (binary content)`` (any other NUL byte in the first block;
    a NUL later in the file is data), ``CSV parsing failed: ...`` (pyarrow
    rejects the file, the header cannot be parsed, a record exceeds 64 MiB).
"""

from .errors import CsvProfileError
from .profiler import profile_csv

__all__ = ["CsvProfileError", "profile_csv"]
