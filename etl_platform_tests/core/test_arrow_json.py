"""Every documented type rule of etl_platform.core.arrow_json, checked through json.loads."""

import base64
import datetime as dt
import json
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

from etl_platform.core.arrow_json import (JsonChunkEncoder, encode_json_array_chunk,
                                          encode_ndjson, to_json_strings)

UTC = dt.timezone.utc


def texts(arr):
    out = to_json_strings(arr)
    assert len(out) == len(arr)
    return out.to_pylist()


def values(arr):
    """Decoded JSON per element; a null element must be a real null, not the text 'null'."""
    return [None if t is None else json.loads(t) for t in texts(arr)]


def test_strings_escaped_per_rfc8259():
    controls = "".join(chr(c) for c in range(32))
    src = ['plain', 'q"uote', "back\\slash", controls, "é€😀 東京", "", None, "\u2028\x7f"]
    out = texts(pa.array(src))
    assert [None if t is None else json.loads(t) for t in out] == src
    assert out[1] == '"q\\"uote"' and out[2] == '"back\\\\slash"'
    assert out[4] == '"é€😀 東京"'  # non-ASCII stays raw UTF-8
    assert out[6] is None
    ctl = out[3]
    for short in ("\\b", "\\t", "\\n", "\\f", "\\r", "\\u0000", "\\u001f", "\\u000b"):
        assert short in ctl
    assert not any(chr(c) in ctl for c in range(32))


def test_string_fast_path_large_and_sliced():
    arr = pa.array(["a", 'b"', "c\n", "d"], pa.large_string()).slice(2)
    assert values(arr) == ["c\n", "d"]
    assert values(pa.array(["x", "y"], pa.large_string())) == ["x", "y"]
    assert values(pa.array(["x", None, "y"]).slice(1)) == [None, "y"]


def test_invalid_utf8_is_replaced_so_output_stays_valid():
    raw = pa.array([b"ok", b"bad\xff\xfe", None], pa.binary())
    bad = pa.Array.from_buffers(pa.string(), 3, raw.buffers())
    out = texts(bad)
    assert [None if t is None else json.loads(t) for t in out] == ["ok", "bad\ufffd\ufffd", None]
    "".join(t for t in out if t).encode("utf-8")


def test_integers_and_booleans():
    assert values(pa.array([-128, 127, None], pa.int8())) == [-128, 127, None]
    assert values(pa.array([0, 2**64 - 1], pa.uint64())) == [0, 2**64 - 1]
    assert values(pa.array([-(2**63), 2**63 - 1], pa.int64())) == [-(2**63), 2**63 - 1]
    assert texts(pa.array([True, False, None])) == ["true", "false", None]


def test_floats_shortest_round_trip_and_non_finite_to_null():
    src = [0.1, 1.0, -0.0, 1e20, 5e-324, 1.7976931348623157e308, 1 / 3, None,
           float("nan"), float("inf"), float("-inf")]
    out = texts(pa.array(src, pa.float64()))
    assert out[0] == "0.1" and out[7:] == [None] * 4
    assert [json.loads(t) for t in out[:7]] == src[:7]
    f32 = np.array([0.1, 1 / 3, 3.4e38, 1e-45], np.float32)
    out32 = texts(pa.array(f32))
    assert out32[0] == "0.1"
    assert np.array_equal(np.array([json.loads(t) for t in out32], np.float32), f32)
    f16 = np.array([0.1, 65504, np.nan], np.float16)
    dec16 = values(pa.array(f16))
    assert dec16[2] is None
    assert np.array_equal(np.array(dec16[:2], np.float16), f16[:2])


def test_decimals_are_exact_strings():
    src = [Decimal("-1.2300"), Decimal("0.0000"), Decimal("0.0001"), None]
    assert values(pa.array(src, pa.decimal128(10, 4))) == ["-1.2300", "0.0000", "0.0001", None]
    big = Decimal("1234567890123456789012345678901234567.89")
    assert values(pa.array([big], pa.decimal256(40, 2))) == [str(big)]
    assert values(pa.array([Decimal("12")], pa.decimal128(5, 0))) == ["12"]


def test_dates():
    src = [dt.date(2024, 1, 9), dt.date(1, 1, 1), dt.date(9999, 12, 31), None]
    expected = ["2024-01-09", "0001-01-01", "9999-12-31", None]
    assert values(pa.array(src, pa.date32())) == expected
    assert values(pa.array(src, pa.date64())) == expected


@pytest.mark.parametrize("unit,text", [
    ("s", "2024-01-09T15:06:53"), ("ms", "2024-01-09T15:06:53.123"),
    ("us", "2024-01-09T15:06:53.123456"), ("ns", "2024-01-09T15:06:53.123456789")])
def test_timestamps_iso_full_precision(unit, text):
    per_second = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[unit]
    seconds = int(dt.datetime(2024, 1, 9, 15, 6, 53, tzinfo=UTC).timestamp())
    fraction = {"s": 0, "ms": 123, "us": 123456, "ns": 123456789}[unit]
    ints = pa.array([seconds * per_second + fraction, None], pa.int64())
    assert values(ints.cast(pa.timestamp(unit))) == [text, None]
    assert values(ints.cast(pa.timestamp(unit, tz="UTC"))) == [text + "Z", None]
    # a non-UTC zone is converted to UTC, not printed as local time
    assert values(ints.cast(pa.timestamp(unit, tz="Asia/Kolkata"))) == [text + "Z", None]


def test_timestamp_before_epoch():
    ts = pa.array([dt.datetime(1969, 12, 31, 23, 59, 59, 500000)], pa.timestamp("us"))
    assert values(ts) == ["1969-12-31T23:59:59.500000"]


def test_times_and_durations():
    assert values(pa.array([dt.time(1, 2, 3), None], pa.time32("s"))) == ["01:02:03", None]
    assert values(pa.array([dt.time(1, 2, 3, 4000)], pa.time32("ms"))) == ["01:02:03.004"]
    assert values(pa.array([dt.time(23, 59, 59, 999999)], pa.time64("us"))) == ["23:59:59.999999"]
    assert values(pa.array([3_723_000_000_001], pa.time64("ns"))) == ["01:02:03.000000001"]
    assert values(pa.array([dt.timedelta(seconds=1.5), None], pa.duration("ms"))) == [1500, None]
    assert values(pa.array([-5], pa.int64()).cast(pa.duration("ns"))) == [-5]


def test_binary_types_base64():
    src = [b"", b"a", b"ab", b"abc", b"abcd", b"\x00\xff\xfe", None, bytes(range(256))]
    expected = [None if b is None else base64.b64encode(b).decode() for b in src]
    assert values(pa.array(src, pa.binary())) == expected
    assert values(pa.array(src, pa.large_binary())) == expected
    assert values(pa.array(src, pa.binary()).slice(3)) == expected[3:]
    assert values(pa.array([b"abcd", None, b"\x01\x02\x03\x04"], pa.binary(4))) == \
        ["YWJjZA==", None, "AQIDBA=="]


def test_lists_of_every_kind():
    src = [[1, None, 3], [], None, [4]]
    for typ in (pa.list_(pa.int64()), pa.large_list(pa.int64())):
        assert values(pa.array(src, typ)) == src
        assert values(pa.array(src, typ).slice(1)) == src[1:]
    fixed = pa.array([[1, 2], None, [None, 4]], pa.list_(pa.int64(), 2))
    assert values(fixed) == [[1, 2], None, [None, 4]]
    assert values(fixed.slice(1)) == [None, [None, 4]]
    assert texts(pa.array([[]], pa.list_(pa.string()))) == ["[]"]
    assert values(pa.array([[[1], [], None], None, [[]]])) == [[[1], [], None], None, [[]]]


def test_structs_keep_field_order_and_nulls():
    arr = pa.array([{"z": 1, "a": "x"}, None, {"z": None, "a": None}],
                   pa.struct([("z", pa.int32()), ("a", pa.string())]))
    out = texts(arr)
    assert out == ['{"z":1,"a":"x"}', None, '{"z":null,"a":null}']
    assert values(arr.slice(1)) == [None, {"z": None, "a": None}]
    odd = pa.array([{'we"ird\n': 1}])
    assert values(odd) == [{'we"ird\n': 1}]
    assert texts(pa.array([{}, None], pa.struct([]))) == ["{}", None]


def test_maps_stringify_keys_and_keep_duplicates():
    m = pa.array([[("a", 1), ("a", 2)], [], None, [("b", None)]], pa.map_(pa.string(), pa.int64()))
    assert texts(m) == ['{"a":1,"a":2}', "{}", None, '{"b":null}']
    assert values(pa.array([[(1, "x"), (-2, "y")]], pa.map_(pa.int64(), pa.string()))) == \
        [{"1": "x", "-2": "y"}]
    assert values(pa.array([[(True, 1)]], pa.map_(pa.bool_(), pa.int8()))) == [{"true": 1}]
    assert values(pa.array([[(dt.date(2024, 1, 1), 1)]], pa.map_(pa.date32(), pa.int8()))) == \
        [{"2024-01-01": 1}]
    assert values(pa.array([[(1.5, 1)]], pa.map_(pa.float64(), pa.int8()))) == [{"1.5": 1}]
    assert values(m.slice(3)) == [{"b": None}]


def test_dictionary_null_type_run_end_encoded():
    d = pa.array(["a", None, "b", "a"]).dictionary_encode()
    assert values(d) == ["a", None, "b", "a"]
    assert texts(pa.nulls(3)) == [None, None, None]
    ree = pa.RunEndEncodedArray.from_arrays(pa.array([2, 3], pa.int32()), pa.array(["x", None]))
    assert values(ree) == ["x", "x", None]


def test_uuid_and_json_extension_types():
    import uuid

    ids = [uuid.uuid4(), None, uuid.UUID(int=0), uuid.UUID(int=2**128 - 1)]
    arr = pa.array([None if u is None else u.bytes for u in ids], pa.uuid())
    assert values(arr) == [None if u is None else str(u) for u in ids]
    assert values(arr.slice(2)) == [str(u) for u in ids[2:]]
    assert values(pa.array(['{"a": 1}', None], pa.json_())) == ['{"a": 1}', None]


def test_nested_combination_list_struct_map_list():
    typ = pa.list_(pa.struct([("m", pa.map_(pa.string(), pa.list_(pa.int64()))),
                              ("l", pa.list_(pa.string())), ("t", pa.timestamp("ms", "UTC"))]))
    ts = dt.datetime(2024, 1, 2, 3, 4, 5, 6000, tzinfo=UTC)
    src = [
        [{"m": [("k", [1, None]), ("e", []), ("n", None)], "l": ["ü", None, 'q"'], "t": ts},
         None,
         {"m": None, "l": [], "t": None},
         {"m": [], "l": None, "t": None}],
        [],
        None,
    ]
    expected = [
        [{"m": {"k": [1, None], "e": [], "n": None}, "l": ["ü", None, 'q"'],
          "t": "2024-01-02T03:04:05.006Z"},
         None,
         {"m": None, "l": [], "t": None},
         {"m": {}, "l": None, "t": None}],
        [],
        None,
    ]
    arr = pa.array(src, typ)
    assert values(arr) == expected
    assert values(arr.slice(1)) == expected[1:]


def test_chunked_array_input():
    chunked = pa.chunked_array([pa.array([1, 2]), pa.array([None, 4])])
    assert values(chunked) == [1, 2, None, 4]


def test_encode_ndjson_rows_in_column_order():
    batch = pa.record_batch({"b": [1, None], "a": ["x", None], 'k"ey': [[1], None]})
    data = encode_ndjson(batch)
    assert isinstance(data, bytes)
    lines = data.split(b"\n")
    assert lines[-1] == b"" and len(lines) == 3
    assert lines[0] == b'{"b":1,"a":"x","k\\"ey":[1]}'
    assert json.loads(lines[1]) == {"b": None, "a": None, 'k"ey': None}
    assert list(json.loads(lines[0])) == ["b", "a", 'k"ey']
    assert encode_ndjson(batch.slice(0, 0)) == b""
    assert encode_ndjson(batch.slice(1)) == lines[1] + b"\n"
    empty_schema = pa.RecordBatch.from_pydict({}).slice(0, 0)
    assert encode_ndjson(empty_schema) == b""


def test_json_array_streaming_and_chunk_function():
    batch = pa.record_batch({"x": [1, 2, 3]})
    enc = JsonChunkEncoder("json_array")
    parts = [enc.header()]
    for b in (batch.slice(0, 2), batch.slice(0, 0), batch.slice(2)):
        parts += enc.encode(b)
    parts.append(enc.footer())
    assert json.loads(b"".join(bytes(p) for p in parts)) == [{"x": 1}, {"x": 2}, {"x": 3}]
    empty = JsonChunkEncoder("json_array")
    assert json.loads(empty.header() + empty.footer()) == []
    first = bytes(encode_json_array_chunk(batch.slice(0, 2), first=True))
    rest = bytes(encode_json_array_chunk(batch.slice(2), first=False))
    assert json.loads(b"[" + first + rest + b"]") == [{"x": 1}, {"x": 2}, {"x": 3}]
    with pytest.raises(ValueError):
        JsonChunkEncoder("xml")


def test_list_of_null_from_json_reader():
    # pyarrow.json builds this list<null> column with a child shorter than its offsets say.
    import io

    import pyarrow.json as pa_json

    table = pa_json.read_json(io.BytesIO(b'{"a":[null,null]}\n{"a":[null,null]}\n{}\n'))
    assert table.column("a").type == pa.list_(pa.null())
    assert to_json_strings(table.column("a")).to_pylist() == ["[null,null]", "[null,null]", None]
    assert encode_ndjson(table.to_batches()[0]) == b'{"a":[null,null]}\n{"a":[null,null]}\n{"a":null}\n'
