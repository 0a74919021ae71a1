"""Streaming NDJSON -> Snappy Parquet conversion of one manifest (two passes, bounded memory).

Pass 1 (``max_workers`` threads, one file per thread, ~3 files in flight): read a file,
parse it (:mod:`.reader`), render it (string mode) or unify it within the file (typed
mode), spool the result as an Arrow IPC file next to the output and keep only its
schema.  The main thread writes rejects in manifest order and folds the schemas.
Pass 2: with the manifest-wide schema known, read the spooled files back one at a time,
conform them, add the provenance columns and stream them into Parquet row groups of
about ``row_group_bytes`` of Arrow data, rolling parts at about ``target_file_bytes``.
Memory therefore depends on the file size and row-group size, never on the number of
files; the spool costs local disk (~0.6-1x the NDJSON size) and is deleted at the end.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from . import schema as sch
from .reader import ORIGINAL_ROW, Parser, parse_file, resolve_value
from .rejects import RejectWriter
from .render import text_column

SOURCE_FILE_COLUMN = "_source_file"
MANIFEST_ID_COLUMN = "_manifest_id"
PROVENANCE_COLUMNS = (SOURCE_FILE_COLUMN, MANIFEST_ID_COLUMN)
COLLISION_SUFFIX = "__input"
DEFAULT_TARGET_FILE_BYTES = 128 * 1024 * 1024
DEFAULT_ROW_GROUP_BYTES = 64 * 1024 * 1024
log = logging.getLogger(__name__)
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._=+-]*$")


@dataclass(frozen=True)
class SourceFile:
    path: str          # local path of the NDJSON file
    source_uri: str    # s3:// URI recorded in _source_file


@dataclass
class ConversionResult:
    rows_in: int                  # valid + rejected lines (blank lines excluded)
    rows_out: int                 # rows written to Parquet
    rejected: int                 # lines written to rejects_path
    bytes_in: int                 # NDJSON bytes read
    output_files: list[str]       # local paths, in part order
    schema: list[dict]            # [{"name": ..., "type": ...}] of the output files
    duration_s: float
    file_stats: list[dict] = field(default_factory=list)  # per source file: rows_in/rows_out/rejected/fast_path
    failed: dict[str, str] = field(default_factory=dict)  # source_uri -> why, for files that could not be read or parsed


class AllFilesFailed(RuntimeError):
    """Every file of the manifest failed: nothing to convert, and more likely a fault of the
    run (disk, memory, credentials) than of the files, so the manifest fails as a whole."""


def failure_reason(exc: BaseException) -> str:
    """How a file's failure is recorded (tracking `error`, alerts, the Pipes report): bounded,
    as it lands in a DynamoDB item and an SNS message beside others."""
    return f"{type(exc).__name__}: {exc}"[:500]


def raise_if_all_failed(file_count: int, failed: dict[str, str]) -> None:
    """The engines' one rule: a manifest fails as a whole only when none of its files converted."""
    if file_count and len(failed) >= file_count:
        listed = "; ".join(f"{name}: {why}" for name, why in sorted(failed.items())[:5])
        raise AllFilesFailed(f"all {len(failed)} file(s) failed: {listed}")


def output_file_name(manifest_id: str, part: int) -> str:
    """Deterministic part name: a retry of the same manifest overwrites, never duplicates."""
    return f"{manifest_id}-part-{part:05d}.snappy.parquet"


def output_names(keys) -> dict[str, str]:
    """Output column name of every source key.  A key named like a provenance column gets
    ``COLLISION_SUFFIX`` appended, as many times as needed to differ from every other key
    and provenance column (``_source_file`` -> ``_source_file__input``, or
    ``_source_file__input__input`` when the source also has ``_source_file__input``)."""
    keys = list(keys)
    taken = set(keys) | set(PROVENANCE_COLUMNS)
    out = {k: k for k in keys}
    for k in sorted(k for k in keys if k in PROVENANCE_COLUMNS):
        name = k + COLLISION_SUFFIX
        while name in taken:
            name += COLLISION_SUFFIX
        taken.add(name)
        out[k] = name
    return out


def _read_bytes(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _combine(tables: list[pa.Table], mode: str) -> pa.Table | None:
    """One table per source file: sub-batches of a slow-path file are unified like files."""
    tables = [t for t in tables if t.num_rows]
    if not tables:
        return None
    if mode == "string":
        # Table.from_arrays, not pa.table(dict): the latter imports pandas (~0.35 s, ~35 MB RSS)
        tables = [pa.Table.from_arrays([text_column(c) for c in t.columns], names=t.column_names)
                  if t.num_columns else t for t in tables]
        if len(tables) == 1:
            return tables[0]
        return pa.concat_tables(tables, promote_options="default")
    if len(tables) == 1:
        return tables[0]
    acc: dict[str, pa.DataType] = {}
    for t in tables:
        sch.unify_fields(acc, t.schema)
    out = [pa.table([sch.conform(t.column(n), typ) if n in t.column_names else pa.nulls(t.num_rows, typ)
                     for n, typ in acc.items()], names=list(acc)) for t in tables]
    return pa.concat_tables(out)


@dataclass
class _Spooled:
    source: SourceFile
    path: str | None
    rows: int


def _dictionary_columns(table: pa.Table, fraction: float = 0.2) -> list[str]:
    """Parquet column paths worth dictionary encoding: few distinct values in ``table``.

    Dictionary-encoding high-cardinality columns (ids, free text, JSON text) only costs
    time: measured ~2x slower typed-mode encoding for ~5 % smaller files."""
    out: list[str] = []

    def walk(arr, path: str) -> None:
        t = arr.type
        if pa.types.is_struct(t):
            for i in range(t.num_fields):
                walk(arr.field(i), f"{path}.{t.field(i).name}")
        elif pa.types.is_list(t):
            walk(arr.values, f"{path}.list.element")
        elif pa.types.is_string(t) or pa.types.is_integer(t) or pa.types.is_floating(t):
            if len(arr) and pc.count_distinct(arr).as_py() <= max(1.0, fraction * len(arr)):
                out.append(path)

    for name in table.column_names:
        col = table.column(name)
        if col.num_chunks:
            walk(col.chunk(0), name)          # a sample: one source file's worth of rows
    return out


class _PartWriter:
    """Writes row groups of ~row_group_bytes, rolls parts at ~target_file_bytes."""

    def __init__(self, schema: pa.Schema, output_dir: str, manifest_id: str,
                 target_file_bytes: int, row_group_bytes: int):
        self.schema, self.output_dir, self.manifest_id = schema, output_dir, manifest_id
        self.target, self.rg_bytes = target_file_bytes, row_group_bytes
        self.files: list[str] = []
        self.tmps: list[str] = []
        self.pending: list[pa.Table] = []
        self.pending_bytes = 0
        self.sink = self.writer = None
        self.arrow_written = self.parquet_written = 0
        self.dictionary: list[str] | None = None

    def _ratio(self) -> float:
        return self.parquet_written / self.arrow_written if self.arrow_written else 1.0

    def _limit(self) -> float:
        used = self.sink.tell() if self.sink is not None else 0
        return max(1.0, min(self.rg_bytes, (self.target - used) / max(self._ratio(), 1e-3)))

    def add(self, table: pa.Table) -> None:
        self.pending.append(table)
        self.pending_bytes += table.nbytes
        while self.pending and self.pending_bytes >= self._limit():
            self._flush_one()

    def _take(self, limit: float) -> pa.Table:
        taken, size = [], 0
        while self.pending:
            t = self.pending[0]
            if size + t.nbytes <= limit or not taken and t.num_rows == 1:
                taken.append(self.pending.pop(0))
                size += t.nbytes
                continue
            rows = int((limit - size) / max(t.nbytes / t.num_rows, 1))
            if rows > 0 or not taken:
                rows = min(max(rows, 1), t.num_rows)
                taken.append(t.slice(0, rows))
                self.pending[0] = t.slice(rows)
                if self.pending[0].num_rows == 0:
                    self.pending.pop(0)
            break
        self.pending_bytes = sum(t.nbytes for t in self.pending)
        return pa.concat_tables(taken) if len(taken) > 1 else taken[0]

    def _flush_one(self) -> None:
        chunk = self._take(self._limit())
        if self.writer is None:
            final = os.path.join(self.output_dir, output_file_name(self.manifest_id, len(self.files)))
            self.tmps.append(f"{final}.tmp-{os.getpid()}")
            self.sink = pa.OSFile(self.tmps[-1], "wb")
            if self.dictionary is None:
                self.dictionary = _dictionary_columns(chunk)
            self.writer = pq.ParquetWriter(self.sink, self.schema, compression="snappy",
                                           use_dictionary=self.dictionary)
            self.files.append(final)
        before = self.sink.tell()
        self.writer.write_table(chunk, row_group_size=max(chunk.num_rows, 1))
        self.arrow_written += chunk.nbytes
        self.parquet_written += self.sink.tell() - before
        if self.sink.tell() >= 0.9 * self.target:
            self._close_part()

    def _close_part(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.sink.close()
            self.writer = self.sink = None

    def finish(self) -> list[str]:
        while self.pending:
            self._flush_one()
        self._close_part()
        for tmp, final in zip(self.tmps, self.files):
            os.replace(tmp, final)
        self.tmps = []
        return self.files

    def abort(self) -> None:
        try:
            if self.writer is not None:
                self.writer.close()
                self.sink.close()
        finally:
            self.writer = self.sink = None
            for tmp in self.tmps:
                try:
                    os.remove(tmp)
                except OSError:
                    pass


def _columns(t: pa.Table, order: list[str], final: dict[str, pa.DataType]) -> list[pa.Array]:
    """The columns of ``t`` conformed to the manifest schema, in output order."""
    cols = [sch.conform(t.column(c), final[c]) if c in t.column_names else pa.nulls(t.num_rows, final[c])
            for c in order]
    if ORIGINAL_ROW not in t.column_names:
        return cols
    # rows resolved in Python (typed mode): resolve the original again, now against the
    # manifest-wide types, so they follow exactly the same rules as every other row
    originals = t.column(ORIGINAL_ROW).combine_chunks()
    where = np.flatnonzero(pc.is_valid(originals).to_numpy(zero_copy_only=False))
    values = [json.loads(originals[int(i)].as_py()) for i in where]   # exact big integers
    index = np.arange(t.num_rows)
    index[where] = t.num_rows + np.arange(len(where))
    out = []
    for c, arr in zip(order, cols):
        fixed = pa.array([resolve_value(v.get(c), final[c]) for v in values], final[c])
        out.append(pa.concat_arrays([arr, fixed]).take(pa.array(index)))
    return out


def _remove_stale_parts(output_dir: str, manifest_id: str, keep: list[str]) -> None:
    pattern = re.compile(re.escape(manifest_id) + r"-part-\d{5}\.snappy\.parquet$")
    keep_names = {os.path.basename(p) for p in keep}
    for name in os.listdir(output_dir):
        if pattern.fullmatch(name) and name not in keep_names:
            os.remove(os.path.join(output_dir, name))


def convert_manifest(files: Sequence[SourceFile], *, manifest_id: str, output_dir: str,
                     rejects_path: str, mode: Literal["string", "typed"] = "string",
                     target_file_bytes: int = DEFAULT_TARGET_FILE_BYTES,
                     row_group_bytes: int = DEFAULT_ROW_GROUP_BYTES,
                     max_workers: int | None = None, work_dir: str | None = None) -> ConversionResult:
    """Convert the NDJSON files of one manifest to Snappy Parquet parts (see package docs).

    ``row_group_bytes``: Arrow bytes per row group; ``max_workers``: parsing threads
    (default min(2, cpus)); ``work_dir``: where the spool lives (default ``output_dir``).
    Local I/O errors raise; parts are written under temporary names and only renamed
    into place when the whole manifest succeeded.
    """
    if mode not in ("string", "typed"):
        raise ValueError(f"mode must be 'string' or 'typed', got {mode!r}")
    if not _ID_RE.match(manifest_id or ""):
        raise ValueError(f"manifest_id must match {_ID_RE.pattern}: {manifest_id!r}")
    if target_file_bytes <= 0 or row_group_bytes <= 0:
        raise ValueError("target_file_bytes and row_group_bytes must be positive")
    uris = [f.source_uri for f in files]
    if len(set(uris)) != len(uris):
        raise ValueError("a source_uri appears twice in the manifest: rows would be duplicated")
    started = time.perf_counter()
    os.makedirs(output_dir, exist_ok=True)
    workers = max_workers or max(1, min(2, os.cpu_count() or 1))
    spool_dir = tempfile.mkdtemp(prefix=f".spool-{manifest_id}-", dir=work_dir or output_dir)
    rejects = RejectWriter(rejects_path)
    parser = Parser()
    part_writer = None
    try:
        def work(i: int, sf: SourceFile):
            data = _read_bytes(sf.path)
            parsed = parse_file(data, parser, mode)
            table = _combine(parsed.tables, mode)
            parsed.tables = []                       # only the spool keeps the data
            path = None
            if table is not None:
                path = os.path.join(spool_dir, f"{i:06d}.arrow")
                with ipc.new_file(path, table.schema) as w:
                    w.write_table(table)
            return len(data), parsed, path, table.schema if table is not None else None, \
                table.num_rows if table is not None else 0

        spooled: list[_Spooled] = []
        stats: list[dict] = []
        failed: dict[str, str] = {}
        fields: dict[str, pa.DataType] = {}
        rows_in = bytes_in = 0
        with ThreadPoolExecutor(workers) as pool:
            inflight: deque = deque()
            items = iter(enumerate(files))
            for i, sf in items:
                inflight.append((sf, pool.submit(work, i, sf)))
                if len(inflight) > workers:
                    _collect(inflight.popleft(), rejects, spooled, stats, fields, failed)
            while inflight:
                _collect(inflight.popleft(), rejects, spooled, stats, fields, failed)
        raise_if_all_failed(len(files), failed)
        rows_in = sum(s["rows_in"] for s in stats)
        bytes_in = sum(s["bytes_in"] for s in stats)

        _t1 = time.perf_counter()
        # ---- manifest-wide schema
        if mode == "string":
            final = {n: sch.STRING for n in fields}
        else:
            final = {n: sch.finalize_type(t) for n, t in fields.items()}
        out_names = output_names(final)
        order = sorted(final, key=lambda n: out_names[n])
        schema = pa.schema([pa.field(out_names[n], final[n]) for n in order]
                           + [pa.field(c, sch.STRING) for c in PROVENANCE_COLUMNS])

        # ---- pass 2: spool -> Parquet parts
        part_writer = _PartWriter(schema, output_dir, manifest_id, target_file_bytes, row_group_bytes)
        rows_out = 0
        mid = pa.scalar(manifest_id, sch.STRING)
        for s in spooled:
            if s.path is None:
                continue
            with pa.OSFile(s.path, "rb") as f:
                t = ipc.open_file(f).read_all()
            os.remove(s.path)
            n = t.num_rows
            cols = _columns(t, order, final)
            cols += [pa.repeat(pa.scalar(s.source.source_uri, sch.STRING), n), pa.repeat(mid, n)]
            part_writer.add(pa.Table.from_arrays(cols, schema=schema))
            rows_out += n
        output_files = part_writer.finish()
        log.debug("manifest %s: pass 1 %.2f s, pass 2 %.2f s", manifest_id, _t1 - started,
                  time.perf_counter() - _t1)
        rejects.close()
    except BaseException:
        if part_writer is not None:
            part_writer.abort()
        rejects.abort()
        raise
    finally:
        shutil.rmtree(spool_dir, ignore_errors=True)
    _remove_stale_parts(output_dir, manifest_id, output_files)
    if rows_in != rows_out + rejects.count:  # the exactly-once ledger; a bug if it ever fires
        raise AssertionError(f"ledger mismatch: rows_in={rows_in} rows_out={rows_out} "
                             f"rejected={rejects.count}")
    return ConversionResult(
        rows_in=rows_in, rows_out=rows_out, rejected=rejects.count, bytes_in=bytes_in,
        output_files=output_files,
        schema=[{"name": f.name, "type": str(f.type)} for f in schema],
        duration_s=time.perf_counter() - started, file_stats=stats, failed=failed)


def _collect(item, rejects: RejectWriter, spooled: list, stats: list, fields: dict, failed: dict) -> None:
    sf, fut = item
    try:
        size, parsed, path, schema, rows = fut.result()
    except Exception as exc:  # noqa: BLE001 - one file's failure is that file's, not the manifest's
        # Nothing of the file reached the rejects, the spool or the counts (pass 1 writes
        # them only here), so leaving it out keeps the ledger exact for the files converted.
        failed[sf.source_uri] = failure_reason(exc)
        log.warning("%s: left out: %s", sf.source_uri, failed[sf.source_uri])
        return
    for line_no, error, raw in parsed.rejects:
        rejects.write(sf.source_uri, line_no, error, raw)
    if schema is not None:
        sch.unify_fields(fields, pa.schema([f for f in schema if f.name != ORIGINAL_ROW]))
    spooled.append(_Spooled(sf, path, rows))
    stats.append({"source_file": sf.source_uri, "bytes_in": size, "rows_in": parsed.rows_in,
                  "rows_out": rows, "rejected": len(parsed.rejects), "fast_path": parsed.fast})
