"""glue_jobs/parquet_to_json.py: Parquet files converted and read back equal their source."""

import base64
import datetime as dt
import io
import json
import math
import os
import socket
import sys
import uuid
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from glue_jobs import parquet_to_json as job  # noqa: E402

UTC = dt.timezone.utc
TIMESPEC = {"s": "seconds", "ms": "milliseconds", "us": "microseconds"}


def expected(value, typ):
    """The documented JSON rule, applied to a Python value of Arrow type ``typ``."""
    if value is None:
        return None
    if pa.types.is_dictionary(typ):
        return expected(value, typ.value_type)
    if pa.types.is_floating(typ):
        return None if math.isnan(value) or math.isinf(value) else canon(value, typ)
    if pa.types.is_decimal(typ):
        return format(value, "f")
    if pa.types.is_timestamp(typ):
        if typ.tz:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat(timespec=TIMESPEC[typ.unit]) + ("Z" if typ.tz else "")
    if pa.types.is_time(typ):
        return value.isoformat(timespec=TIMESPEC[typ.unit])
    if pa.types.is_date(typ):
        return value.isoformat()
    if pa.types.is_duration(typ):
        return value // dt.timedelta(**{{"s": "seconds", "ms": "milliseconds",
                                         "us": "microseconds"}[typ.unit]: 1})
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if pa.types.is_map(typ):
        return {map_key(k, typ.key_type): expected(v, typ.item_type) for k, v in value}
    if pa.types.is_struct(typ):
        return {f.name: expected(value[f.name], f.type) for f in typ}
    if isinstance(value, list):
        return [expected(v, typ.value_type) for v in value]
    return value


def map_key(key, typ):
    converted = expected(key, typ)
    return converted if isinstance(converted, str) else json.dumps(converted)


def canon(value, typ):
    """Floats compared in the column's own precision (float32 is written shortest for float32)."""
    if value is None:
        return None
    if pa.types.is_float32(typ):
        return float(np.float32(value))
    if pa.types.is_float16(typ):
        return float(np.float16(value))
    return value


def canon_row(row: dict, schema: pa.Schema) -> dict:
    def walk(value, typ):
        if value is None:
            return None
        if pa.types.is_floating(typ):
            return canon(value, typ)
        if pa.types.is_struct(typ):
            return {f.name: walk(value[f.name], f.type) for f in typ}
        if pa.types.is_map(typ):
            return {k: walk(v, typ.item_type) for k, v in value.items()}
        if pa.types.is_list(typ) or pa.types.is_large_list(typ) or pa.types.is_fixed_size_list(typ):
            return [walk(v, typ.value_type) for v in value]
        return value
    return {f.name: walk(row[f.name], f.type) for f in schema}


def expected_rows(table: pa.Table) -> list[dict]:
    return [{f.name: expected(row[f.name], f.type) for f in table.schema} for row in table.to_pylist()]


def flat_table(n: int = 1000) -> pa.Table:
    rng = np.random.default_rng(7)
    ints = rng.integers(-(2**40), 2**40, n)
    mask = rng.random(n) < 0.1
    floats = rng.normal(0, 1e6, n)
    floats[:3] = [np.nan, np.inf, -np.inf]
    words = ["plain", 'q"uote', "back\\slash", "new\nline", "tab\t", "ctl\x01", "é東😀", ""]
    return pa.table({
        "i64": pa.array(ints, mask=mask),
        "u64": pa.array(rng.integers(0, 2**63, n).astype(np.uint64) * 2 + 1),
        "i8": pa.array(rng.integers(-128, 128, n).astype(np.int8)),
        "f64": pa.array(floats, mask=mask),
        "f32": pa.array(rng.random(n).astype(np.float32)),
        "s": pa.array([words[i % len(words)] + str(i) for i in range(n)], mask=mask),
        "b": pa.array([bool(i % 3) for i in range(n)], mask=mask),
        "ts_tz": pa.array(ints, mask=mask).cast(pa.timestamp("us", tz="Europe/Paris")),
        "ts_ms": pa.array(ints // 1000).cast(pa.timestamp("ms")),
        "ts_s": pa.array(ints // 10**6).cast(pa.timestamp("s", tz="UTC")),
        "d": pa.array((ints // 86_400_000_000).astype(np.int32), pa.date32()),
        "t": pa.array((np.abs(ints) % 86_400_000_000), pa.time64("us")),
        "dec": pa.array([Decimal(int(v)).scaleb(-3) for v in ints], pa.decimal128(18, 3)),
        "dur": pa.array(ints, pa.duration("ms")),
        "bin": pa.array([bytes([i % 256]) * (i % 5) for i in range(n)], mask=mask),
        "fsb": pa.array([i.to_bytes(4, "big") for i in range(n)], pa.binary(4)),
        "dict": pa.array([words[i % 3] for i in range(n)]).dictionary_encode(),
        "nothing": pa.nulls(n),
        "uuid": pa.array([uuid.UUID(int=i * 7919).bytes for i in range(n)], pa.uuid()),
        "js": pa.array(['{"k": %d}' % i for i in range(n)], pa.json_()),
    })


def nested_table(n: int = 500) -> pa.Table:
    typ = pa.list_(pa.struct([("m", pa.map_(pa.string(), pa.list_(pa.int64()))),
                              ("l", pa.list_(pa.string()))]))
    rows = []
    for i in range(n):
        if i % 7 == 0:
            rows.append(None)
        elif i % 5 == 0:
            rows.append([])
        else:
            rows.append([{"m": [(f"k{i}", [i, None]), ("e", []), ("n", None)] if i % 3 else None,
                          "l": [f"ü{i}", None, 'q"'] if i % 4 else []},
                         None] if i % 2 else [{"m": [], "l": None}])
    return pa.table({
        "id": pa.array(range(n), pa.int32()),
        "deep": pa.array(rows, typ),
        "st": pa.array([None if i % 6 == 0 else {"a": i, "b": {"c": [i, i + 1], "d": None}}
                        for i in range(n)]),
        "im": pa.array([[(i, "v"), (i, "dup")] for i in range(n)], pa.map_(pa.int64(), pa.string())),
        "ll": pa.array([[i] * (i % 3) for i in range(n)], pa.large_list(pa.int16())),
        "fl": pa.array([[i * 0.5, None] for i in range(n)], pa.list_(pa.float64(), 2)),
        "ts_list": pa.array([[dt.datetime(2024, 1, 1, tzinfo=UTC) + dt.timedelta(seconds=i)]
                             for i in range(n)], pa.list_(pa.timestamp("ms", "UTC"))),
    })


def write_parquet(tmp_path, table, name="in.parquet", **kwargs):
    path = tmp_path / name
    pq.write_table(table, path, **kwargs)
    return str(path)


def read_ndjson(data: bytes) -> list[dict]:
    assert data.endswith(b"\n") or not data
    return [json.loads(line) for line in data.decode("utf-8").splitlines()]


@pytest.mark.parametrize("make", [flat_table, nested_table])
def test_ndjson_round_trip_equals_source(tmp_path, make):
    path = write_parquet(tmp_path, make(), row_group_size=300)
    source = pq.read_table(path)
    sink = io.BytesIO()
    stats = job.convert(path, sink, batch_rows=128)
    got = read_ndjson(sink.getvalue())
    assert stats["rows"] == len(got) == source.num_rows
    assert [canon_row(r, source.schema) for r in got] == expected_rows(source)
    assert stats["bytes_out"] == len(sink.getvalue())
    assert stats["bytes_in"] == os.path.getsize(path)
    assert stats["columns"] == [{"name": f.name, "type": str(f.type)} for f in source.schema]
    assert stats["preview"] == got[:10]
    assert stats["preview_markdown"].count("\n") == 11


def test_json_array_round_trip_and_file_object_source(tmp_path):
    path = write_parquet(tmp_path, nested_table(50))
    source = pq.read_table(path)
    sink = io.BytesIO()
    with open(path, "rb") as f:
        stats = job.convert(f, sink, output_format="json_array", batch_rows=16)
    got = json.loads(sink.getvalue())
    assert [canon_row(r, source.schema) for r in got] == expected_rows(source)
    assert stats["rows"] == 50 and stats["bytes_in"] == os.path.getsize(path)


def test_empty_parquet_file(tmp_path):
    path = write_parquet(tmp_path, flat_table(10).slice(0, 0))
    for fmt, text in (("ndjson", b""), ("json_array", b"[]\n")):
        sink = io.BytesIO()
        stats = job.convert(path, sink, output_format=fmt)
        assert sink.getvalue() == text and stats["rows"] == 0 and stats["preview"] == []


@pytest.mark.parametrize("content", [b"", b"id,name\n1,a\n", b"PAR1" + os.urandom(200),
                                     b'{"not": "parquet"}'])
def test_non_parquet_input_raises_conversion_error(tmp_path, content):
    path = tmp_path / "bad.parquet"
    path.write_bytes(content)
    with pytest.raises(job.ConversionError, match="input is not a Parquet file"):
        job.convert(str(path), io.BytesIO())


def test_truncated_parquet_raises_conversion_error(tmp_path):
    data = open(write_parquet(tmp_path, flat_table(100)), "rb").read()
    path = tmp_path / "cut.parquet"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(job.ConversionError, match="not a Parquet file"):
        job.convert(str(path), io.BytesIO())


def test_corrupt_pages_raise_conversion_error(tmp_path):
    path = write_parquet(tmp_path, flat_table(2000), compression="snappy",
                         write_page_checksum=True)
    data = bytearray(open(path, "rb").read())
    data[200:4000] = os.urandom(3800)
    bad = tmp_path / "corrupt.parquet"
    bad.write_bytes(bytes(data))
    with pytest.raises(job.ConversionError, match="Parquet"):
        job.convert(str(bad), io.BytesIO())


def test_other_failures_are_not_conversion_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        job.convert(str(tmp_path / "missing.parquet"), io.BytesIO())
    with pytest.raises(ValueError, match="output_format"):
        job.convert(write_parquet(tmp_path, flat_table(5)), io.BytesIO(), output_format="xml")


# --- S3 path, against a local moto server (127.0.0.1 only) ---

@pytest.fixture(scope="module")
def s3_endpoint():
    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3(s3_endpoint, monkeypatch):
    import boto3
    from botocore.config import Config

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": s3_endpoint}.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3", config=Config(s3={"addressing_style": "path"}))
    suffix = os.urandom(4).hex()
    for bucket in ("in-" + suffix, "out-" + suffix):
        client.create_bucket(Bucket=bucket)
    client.test_buckets = ("in-" + suffix, "out-" + suffix)
    return client


def test_run_multipart_round_trip(s3, tmp_path):
    src_bucket, dst_bucket = s3.test_buckets
    table = flat_table(60_000)  # ~20 MB of NDJSON: several 8 MB parts
    s3.upload_file(write_parquet(tmp_path, table), src_bucket, "in/flat.parquet")
    stats = job.run(s3, src_bucket, "in/flat.parquet", dst_bucket, "out/flat.json",
                    "ndjson", part_size=job.MIN_PART_SIZE)
    obj = s3.get_object(Bucket=dst_bucket, Key="out/flat.json")
    body = obj["Body"].read()
    assert stats["bytes_out"] == len(body) > 2 * job.MIN_PART_SIZE
    assert obj["ContentType"] == "application/x-ndjson"
    source = pq.read_table(tmp_path / "in.parquet")
    got = read_ndjson(body)
    assert stats["rows"] == len(got) == 60_000
    assert [canon_row(r, source.schema) for r in got] == expected_rows(source)
    assert stats["output"] == f"s3://{dst_bucket}/out/flat.json"


def test_small_output_uses_single_put(s3, tmp_path):
    src_bucket, dst_bucket = s3.test_buckets
    s3.upload_file(write_parquet(tmp_path, nested_table(20)), src_bucket, "n.parquet")
    job.run(s3, src_bucket, "n.parquet", dst_bucket, "n.json", "json_array")
    body = s3.get_object(Bucket=dst_bucket, Key="n.json")["Body"].read()
    assert len(json.loads(body)) == 20


def test_failed_upload_is_aborted(s3):
    _, dst_bucket = s3.test_buckets
    with pytest.raises(RuntimeError, match="boom"):
        with job.S3MultipartSink(s3, dst_bucket, "half.json", part_size=job.MIN_PART_SIZE) as sink:
            sink.write(b"x" * (job.MIN_PART_SIZE + 1))
            sink.write(b"y" * (job.MIN_PART_SIZE + 1))
            raise RuntimeError("boom")
    assert s3.list_multipart_uploads(Bucket=dst_bucket).get("Uploads", []) == []
    assert s3.list_objects_v2(Bucket=dst_bucket, Prefix="half.json").get("KeyCount") == 0


def test_failed_completion_is_aborted(s3, monkeypatch):
    _, dst_bucket = s3.test_buckets

    def refuse(**kwargs):
        raise RuntimeError("complete refused")

    sink = job.S3MultipartSink(s3, dst_bucket, "late.json", part_size=job.MIN_PART_SIZE)
    monkeypatch.setattr(sink.s3, "complete_multipart_upload", refuse)
    with pytest.raises(RuntimeError, match="complete refused"):
        with sink:
            sink.write(b"z" * (job.MIN_PART_SIZE + 1))
            sink.write(b"tail")
    assert s3.list_multipart_uploads(Bucket=dst_bucket).get("Uploads", []) == []


def test_main_with_glue_style_arguments(s3, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(pa, "set_memory_pool", lambda pool: None)  # keep this process's pool
    src_bucket, dst_bucket = s3.test_buckets
    s3.upload_file(write_parquet(tmp_path, flat_table(30)), src_bucket, "a b.parquet")
    argv = ["parquet_to_json.py", "--input_path", f"s3://{src_bucket}/a b.parquet",
            "--output_path", f"s3://{dst_bucket}/a.json", "--output_format", "ndjson"]
    assert job.main(argv) == 0
    summary = capsys.readouterr().out.strip()
    assert "\n" not in summary
    assert json.loads(summary)["rows"] == 30
    assert len(read_ndjson(s3.get_object(Bucket=dst_bucket, Key="a.json")["Body"].read())) == 30

    s3.put_object(Bucket=src_bucket, Key="bad.parquet", Body=b"not parquet")
    argv[2] = f"s3://{src_bucket}/bad.parquet"
    assert job.main(argv) == 2
    assert "input is not a Parquet file" in json.loads(capsys.readouterr().out)["message"]
    assert s3.list_objects_v2(Bucket=dst_bucket, Prefix="a.json")["KeyCount"] == 1
