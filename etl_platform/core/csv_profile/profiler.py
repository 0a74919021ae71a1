"""Streaming aggregation: pyarrow parses 1 MiB blocks into string columns on a reader
thread; groups of 2 batches are classified (``cell_types``) on the calling thread and
folded into per-column accumulators, so memory depends on the block size, not on the
file size.
"""

from __future__ import annotations

import contextlib
import io
import os
import queue
import threading
from typing import BinaryIO, Callable, Iterator

import pyarrow as pa
import pyarrow.csv as pacsv

from . import cell_types as ct
from .columns import ColumnProfile, pct
from .dialect import MAX_RECORD_BYTES, Dialect, open_seekable, sniff, unique_names
from .errors import CsvProfileError
from .quotes import UnclosedQuote, file_ends_in_open_quote, lines_swallowed, unclosed_in_record
from .ragged import RaggedRows

BLOCK_SIZE = 1 << 20
MAX_BLOCK_SIZE = MAX_RECORD_BYTES  # a single record may not exceed this
RAGGED_FLUSH_ROWS = 20_000
GROUP_BATCHES = 2  # parsed blocks classified together (more: faster, but more memory)
# Threads classifying batches, besides the one that parses. Two measured no faster
# than one on 2 cores: classification is many short numpy calls, so the GIL, not the
# CPU, limits it. Results do not depend on this number.
WORKERS = 1


class _Utf8Invalid(Exception):
    pass


def profile_csv(source: str | os.PathLike | BinaryIO, *, max_invalid_examples: int = 5) -> dict:
    """Profile a CSV file; see the package docstring for the rules."""
    with open_seekable(source) as f:
        dialect = sniff(f)
        block = BLOCK_SIZE
        while True:
            try:
                with _data_stream(source, f, dialect.data_offset) as stream:
                    return _profile(stream, dialect, block, max_invalid_examples)
            except _Utf8Invalid:
                dialect.encoding = "latin-1"  # decodes any byte sequence: no further retry
            except pa.ArrowInvalid as exc:
                if "straddl" in str(exc) and block < MAX_BLOCK_SIZE:
                    block *= 4
                    continue
                raise CsvProfileError(f"CSV parsing failed: {exc}") from exc


def _data_stream(source, f: BinaryIO, offset: int):
    """The input for pyarrow, positioned at ``offset``.

    Native pyarrow files where possible: reading through a Python file object takes
    the GIL for every block, and the classifying thread holds it most of the time.
    """
    if isinstance(source, (str, os.PathLike)):
        stream = pa.OSFile(os.fspath(source))
    elif isinstance(source, io.BytesIO):
        stream = pa.BufferReader(pa.py_buffer(source.getbuffer()))
    else:
        f.seek(offset)
        return contextlib.nullcontext(f)
    stream.seek(offset)
    return stream


def _run_parallel(tasks: Iterator[Callable[[list], None]], states: list[list]) -> None:
    """Run ``task(state)`` for every task, on one thread per state (this one included).

    ``tasks`` is consumed on its own thread (it parses: pyarrow releases the GIL), and
    the bounded queue keeps at most one parsed batch per worker waiting. Each worker
    folds into its own accumulators, merged by the caller. The first error stops all
    threads and is re-raised here.
    """
    q: queue.Queue = queue.Queue(maxsize=len(states))
    failures: list[BaseException] = []

    def produce() -> None:
        try:
            for task in tasks:
                while not failures:
                    try:
                        q.put(task, timeout=0.1)
                        break
                    except queue.Full:
                        pass
                if failures:
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            failures.append(exc)
        finally:
            for _ in states:
                q.put(None)  # workers drain the queue until they see this

    def work(state: list) -> None:
        while (task := q.get()) is not None:
            if not failures:
                try:
                    task(state)
                except BaseException as exc:  # noqa: BLE001 - handed to the caller
                    failures.append(exc)

    threads = [threading.Thread(target=produce, name="csv-profile-reader", daemon=True)]
    threads += [threading.Thread(target=work, args=(st,), name=f"csv-profile-{i}", daemon=True)
                for i, st in enumerate(states[1:], 1)]
    for t in threads:
        t.start()
    # The calling thread is a worker too: numpy's temporaries then live in the main
    # malloc arena, which returns freed memory to the OS (thread arenas keep it).
    work(states[0])
    for t in threads:
        t.join()
    if failures:
        raise failures[0]


def _open_reader(f: BinaryIO, dialect: Dialect, block: int, handler: RaggedRows):
    names = [f"f{i}" for i in range(dialect.field_count)]
    return pacsv.open_csv(
        f,
        read_options=pacsv.ReadOptions(
            # Serial parsing is what makes pyarrow number the invalid rows.
            use_threads=False, block_size=block, column_names=names,
            encoding="latin-1" if dialect.encoding == "latin-1" else "utf8"),
        parse_options=pacsv.ParseOptions(
            delimiter=dialect.delimiter, quote_char=dialect.quotechar, double_quote=True,
            escape_char=False, newlines_in_values=True, ignore_empty_lines=True,
            invalid_row_handler=handler),
        convert_options=pacsv.ConvertOptions(
            column_types={n: pa.string() for n in names},
            strings_can_be_null=False, quoted_strings_can_be_null=False),
    )


def _profile(f: BinaryIO, dialect: Dialect, block: int, max_examples: int) -> dict:
    ragged = RaggedRows(dialect.field_count, dialect.delimiter)
    header: list[str] = []
    good_rows = 0
    last_batch: list = []  # the latest batch with rows: its last row may hold an unclosed quote

    def fold(columns: list[ColumnProfile], batch_cols, first_row: int, row_numbers) -> None:
        for acc, col in zip(columns, batch_cols):
            acc.add(ct.classify(col, acc.wanted(first_row), max_examples), row_numbers)

    def batch_task(batch_cols, base: int):
        # All ragged rows before this batch are known: the parser has passed them.
        return lambda columns: fold(columns, batch_cols, ragged.data_row(base),
                                    lambda local: [ragged.data_row(base + int(i)) for i in local])

    def ragged_task(columns: list[ColumnProfile]) -> None:
        pending = ragged.take_pending()
        if pending:
            numbers, cols = pending
            fold(columns, cols, int(numbers[0]), lambda local: numbers[local].tolist())

    def tasks():
        group: list = []
        for batch in _open_reader(f, dialect, block, ragged):
            if ragged.header_broken:
                raise CsvProfileError("CSV parsing failed: the header row could not be parsed")
            if not header:
                if batch.num_rows == 0:
                    continue
                header.extend(batch.column(i)[0].as_py() for i in range(batch.num_columns))
                batch = batch.slice(1)
            if batch.num_rows:
                group.append(batch)
                last_batch[:] = [batch]
            if len(group) >= GROUP_BATCHES:
                yield group_task(group)
                group = []
            if len(ragged.pending) >= RAGGED_FLUSH_ROWS:
                yield ragged_task
        if ragged.header_broken:
            raise CsvProfileError("CSV parsing failed: the header row could not be parsed")
        if group:
            yield group_task(group)
        yield ragged_task

    def group_task(group: list):
        nonlocal good_rows
        # Classifying costs mostly per call, not per cell, so cells are classified in
        # groups of batches, while pyarrow keeps parsing its faster, smaller blocks.
        cols = [pa.concat_arrays([b.column(i) for b in group]) if len(group) > 1 else group[0].column(i)
                for i in range(group[0].num_columns)]
        task = batch_task(cols, good_rows)
        good_rows += len(cols[0])
        return task

    states = [[ColumnProfile(max_examples) for _ in range(dialect.field_count)] for _ in range(WORKERS)]
    try:
        _run_parallel(tasks(), states)
    except pa.ArrowInvalid as exc:
        if "invalid UTF8" in str(exc) and dialect.encoding != "latin-1":
            raise _Utf8Invalid() from exc
        raise
    if not header:
        raise CsvProfileError("CSV parsing failed: no header row found")
    columns = states[0]
    for other in states[1:]:
        for acc, part in zip(columns, other):
            acc.merge(part)
    unclosed = _unclosed_quote(f, dialect, good_rows, ragged, last_batch[0] if last_batch else None)
    return _assemble(unique_names(header), columns, good_rows, ragged, dialect, max_examples, unclosed)


def _unclosed_quote(f, dialect: Dialect, good_rows: int, ragged: RaggedRows, last_batch) -> UnclosedQuote | None:
    """The last record's quote that never closes, if it has one (see ``quotes``)."""
    total = good_rows + len(ragged.rows)
    if ragged.last is not None and ragged.last[0] == total:
        opened = unclosed_in_record(ragged.last[1], dialect.delimiter, dialect.quotechar)
        return UnclosedQuote(total, lines_swallowed(opened)) if opened is not None else None
    if last_batch is None:
        return None
    cell = last_batch.column(last_batch.num_columns - 1)[-1].as_py()
    if file_ends_in_open_quote(f, cell, dialect.quotechar, dialect.encoding):
        return UnclosedQuote(total, lines_swallowed(cell))
    return None


def _assemble(names, columns, good_rows, ragged, dialect, max_examples, unclosed: UnclosedQuote | None = None) -> dict:
    total = good_rows + len(ragged.rows)
    schema, statistics, missing, invalid = {}, {}, {}, {}
    for name, acc in zip(names, columns):
        kind, stats, n_missing, bad = acc.finish(total)
        schema[name] = kind
        if stats:
            statistics[name] = stats
        if n_missing:
            missing[name] = {"count": n_missing, "percentage": pct(n_missing, total)}
        if bad:
            invalid[name] = bad
    quality = {"total_rows": total, "has_issues": bool(missing or invalid or ragged.rows or unclosed),
               "missing_values": missing, "invalid_values": invalid}
    if unclosed:
        quality["unterminated_quote"] = unclosed.as_dict()
    if ragged.rows:
        quality["ragged_rows"] = {"count": len(ragged.rows), "examples": ragged.rows[:max_examples]}
    return {"row_count": total, "columns": names, "dialect": dialect.as_dict(), "schema": schema,
            "statistics": statistics, "quality_issues": quality}
