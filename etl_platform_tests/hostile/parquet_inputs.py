"""Hostile Parquet inputs of pipeline A, generated: damaged files, an encrypted one
(Parquet modular encryption, written by pyarrow with an in-memory KMS client: the file
format itself, nothing of ours is replaced), deep nesting, 10,000 columns, zero rows."""

from __future__ import annotations

import base64
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pyarrow.parquet.encryption as pqe


def _parquet(table: pa.Table, **options) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, **options)
    return sink.getvalue()


def innocent(rows: int = 25) -> bytes:
    return _parquet(pa.table({"id": list(range(rows)), "name": [f"n{i}" for i in range(rows)]}))


class _KeysInMemory(pqe.KmsClient):
    """Wraps data keys with base64 only: enough for pyarrow to write the encrypted format."""

    def __init__(self, _config):
        super().__init__()

    def wrap_key(self, key_bytes, master_key_identifier):
        return base64.b64encode(key_bytes)

    def unwrap_key(self, wrapped_key, master_key_identifier):
        return base64.b64decode(wrapped_key)


def encrypted() -> bytes:
    table = pa.table({"id": [1, 2, 3], "secret": ["a", "b", "c"]})
    config = pqe.EncryptionConfiguration(footer_key="footer-key", column_keys={"column-key": ["secret"]},
                                         double_wrapping=False)
    properties = pqe.CryptoFactory(_KeysInMemory).file_encryption_properties(pqe.KmsConnectionConfig(), config)
    sink = io.BytesIO()
    with pq.ParquetWriter(sink, table.schema, encryption_properties=properties) as writer:
        writer.write_table(table)
    return sink.getvalue()


def nested(levels: int = 10) -> bytes:
    value: dict = {"leaf": 1}
    for level in range(levels - 1):
        value = {f"level{level}": value}
    return _parquet(pa.table({"id": [1, 2], "nested": [value, value]}))


def wide(columns: int = 10_000) -> bytes:
    return _parquet(pa.table({f"c{i}": [i] for i in range(columns)}))


def zero_rows() -> bytes:
    return _parquet(pa.table({"id": pa.array([], pa.int64())}))


def describe_output(ndjson: bytes) -> str:
    """A completed job's message in the README: records and distinct keys of its JSON output."""
    records = [json.loads(line) for line in ndjson.splitlines() if line.strip()]
    return f"{len(records)} rows, {len(set().union(*records))} columns"


def _whole() -> bytes:
    return innocent(100)


SCENARIOS = {
    "truncated": lambda: _whole()[: len(_whole()) // 2],
    "zero-bytes": lambda: b"",
    "wrong-magic": lambda: b"PAR0" + _whole()[4:],
    "encrypted": encrypted,
    "nesting-10": nested,
    "columns-10000": wide,
    "zero-rows": zero_rows,
}
