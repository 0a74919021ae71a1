"""Tests of the single-node NDJSON -> Parquet engine (etl_platform.core.ndjson_parquet)."""

from __future__ import annotations

import json
import os
import random
import struct

import orjson
import pyarrow as pa
import pyarrow.json as pj
import pyarrow.parquet as pq
import pytest

from etl_platform.core.ndjson_parquet import (
    AllFilesFailed, ConversionResult, SourceFile, canonical_json, convert_manifest, format_double,
    output_file_name, text_value)
from etl_platform.core.ndjson_parquet.reader import resolve_value
from etl_platform.core.ndjson_parquet.render import _double_text, text_column

PROV = ("_source_file", "_manifest_id")


# ----------------------------------------------------------------- helpers

def write(tmp_path, name: str, lines) -> SourceFile:
    """Write lines (dicts are orjson-encoded, bytes/str written verbatim) to an NDJSON file."""
    p = tmp_path / "in" / name
    p.parent.mkdir(exist_ok=True)
    out = []
    for line in lines:
        if isinstance(line, (dict, list)):
            out.append(orjson.dumps(line))
        elif isinstance(line, str):
            out.append(line.encode())
        else:
            out.append(line)
    p.write_bytes(b"\n".join(out) + (b"\n" if out else b""))
    return SourceFile(path=str(p), source_uri=f"s3://input/landing/{name}")


def run(tmp_path, files, mode="string", **kw) -> ConversionResult:
    kw.setdefault("manifest_id", "batch-0001")
    return convert_manifest(files, output_dir=str(tmp_path / "out"),
                            rejects_path=str(tmp_path / "rejects" / "rejects.ndjson"), mode=mode, **kw)


def read_out(result: ConversionResult) -> pa.Table:
    tables = [pq.read_table(p) for p in result.output_files]
    assert all(t.schema == tables[0].schema for t in tables)
    return pa.concat_tables(tables)


def read_rejects(tmp_path) -> list[dict]:
    data = (tmp_path / "rejects" / "rejects.ndjson").read_bytes()
    return [orjson.loads(line) for line in data.splitlines()]


def expected_rows(files_records, table: pa.Table, mode: str, manifest_id="batch-0001"):
    """Reference output: every input record, in manifest then line order."""
    names = [n for n in table.column_names if n not in PROV]
    types = {f.name: f.type for f in table.schema}
    rows = []
    for sf, records in files_records:
        for rec in records:
            row = {}
            for n in names:
                v = rec.get(n)
                row[n] = text_value(v) if mode == "string" else resolve_value(v, types[n])
            row["_source_file"] = sf.source_uri
            row["_manifest_id"] = manifest_id
            rows.append(row)
    return rows


def assert_ledger(r: ConversionResult):
    assert r.rows_in == r.rows_out + r.rejected


DRIFT = [
    [{"id": 1, "name": "a", "qty": 3, "nested": {"k": 1, "z": "q"}, "x": 1},
     {"name": "b", "id": 2, "qty": 4, "nested": {"z": "r", "k": 2}, "X": "upper"}],
    [{"qty": 2.5, "id": 3, "extra": True, "nested": {"k": 3, "new": [1, 2]}},
     {"id": 4, "qty": 1.0, "nested": None, "x": 2, "X": "both"}],
    [{"id": "five", "qty": "7", "nested": {"k": 4.5, "deep": {"a": 1}}, "tags": ["a", "b"]},
     {"id": 6, "qty": None, "tags": []}],
]


# ----------------------------------------------------------------- naming and API

def test_output_file_name_is_deterministic():
    assert output_file_name("batch-0001", 0) == "batch-0001-part-00000.snappy.parquet"
    assert output_file_name("batch-0001", 12) == "batch-0001-part-00012.snappy.parquet"


@pytest.mark.parametrize("bad", ["", "../x", "a/b", ".hidden"])
def test_invalid_manifest_id_rejected(tmp_path, bad):
    with pytest.raises(ValueError):
        run(tmp_path, [], manifest_id=bad)


def test_invalid_mode_rejected(tmp_path):
    with pytest.raises(ValueError):
        run(tmp_path, [], mode="fancy")


# ----------------------------------------------------------------- schema drift

@pytest.mark.parametrize("mode", ["string", "typed"])
def test_schema_drift_every_record_lands_once(tmp_path, mode):
    files = [write(tmp_path, f"f{i}.ndjson", recs) for i, recs in enumerate(DRIFT)]
    r = run(tmp_path, files, mode=mode)
    assert_ledger(r)
    assert (r.rows_in, r.rows_out, r.rejected) == (6, 6, 0)
    t = read_out(r)
    assert t.column_names == ["X", "extra", "id", "name", "nested", "qty", "tags", "x",
                              "_source_file", "_manifest_id"]
    assert t.to_pylist() == expected_rows(zip(files, DRIFT), t, mode)
    assert [f["name"] for f in r.schema] == t.column_names


def test_string_mode_values(tmp_path):
    files = [write(tmp_path, f"f{i}.ndjson", recs) for i, recs in enumerate(DRIFT)]
    t = read_out(run(tmp_path, files))
    assert all(f.type == pa.string() for f in t.schema)
    rows = t.to_pylist()
    assert [r["id"] for r in rows] == ["1", "2", "3", "4", "five", "6"]
    assert [r["qty"] for r in rows] == ["3", "4", "2.5", "1", "7", None]
    assert [r["x"] for r in rows] == ["1", None, None, "2", None, None]
    assert [r["X"] for r in rows] == [None, "upper", None, "both", None, None]
    assert rows[0]["nested"] == '{"k":1,"z":"q"}'
    assert rows[2]["nested"] == '{"k":3,"new":[1,2]}'
    assert rows[3]["nested"] is None
    assert rows[4]["nested"] == '{"deep":{"a":1},"k":4.5}'
    assert rows[2]["extra"] == "true"
    assert rows[4]["tags"] == '["a","b"]' and rows[5]["tags"] == "[]"


def test_typed_mode_unification(tmp_path):
    files = [write(tmp_path, f"f{i}.ndjson", recs) for i, recs in enumerate(DRIFT)]
    r = run(tmp_path, files, mode="typed")
    t = read_out(r)
    types = {f.name: f.type for f in t.schema}
    assert types["id"] == pa.string()                       # int + string -> string
    assert types["qty"] == pa.string()                      # int + double + string -> string
    assert types["x"] == pa.int64() and types["X"] == pa.string()
    assert types["extra"] == pa.bool_()
    assert types["tags"] == pa.list_(pa.string())
    assert types["nested"] == pa.struct([("deep", pa.struct([("a", pa.int64())])), ("k", pa.float64()),
                                         ("new", pa.list_(pa.int64())), ("z", pa.string())])
    rows = t.to_pylist()
    assert [row["id"] for row in rows] == ["1", "2", "3", "4", "five", "6"]
    assert rows[0]["nested"] == {"deep": None, "k": 1.0, "new": None, "z": "q"}


def test_typed_int_and_float_become_double(tmp_path):
    a = write(tmp_path, "a.ndjson", [{"v": 1}, {"v": 2}])
    b = write(tmp_path, "b.ndjson", [{"v": 2.5}])
    t = read_out(run(tmp_path, [a, b], mode="typed"))
    assert t.schema.field("v").type == pa.float64()
    assert t.column("v").to_pylist() == [1.0, 2.0, 2.5]


def test_typed_irreconcilable_nested_becomes_json_text(tmp_path):
    a = write(tmp_path, "a.ndjson", [{"v": {"b": 1, "a": None}}, {"v": [1, 2]}])   # slow path in-file
    b = write(tmp_path, "b.ndjson", [{"v": "plain"}, {"v": 3}, {"v": True}])
    r = run(tmp_path, [a, b], mode="typed")
    t = read_out(r)
    assert t.schema.field("v").type == pa.string()
    assert t.column("v").to_pylist() == ['{"b":1}', "[1,2]", "plain", "3", "true"]


def test_null_only_and_empty_object_fields_become_strings(tmp_path):
    a = write(tmp_path, "a.ndjson", [{"n": None, "e": {}, "l": []}])
    t = read_out(run(tmp_path, [a], mode="typed"))
    assert t.schema.field("n").type == pa.string()
    assert t.schema.field("e").type == pa.string()
    assert t.schema.field("l").type == pa.list_(pa.string())
    assert t.to_pylist()[0] | {} == {"e": "{}", "l": [], "n": None,
                                     "_source_file": a.source_uri, "_manifest_id": "batch-0001"}


@pytest.mark.parametrize("mode", ["string", "typed"])
def test_type_conflict_within_one_file(tmp_path, mode):
    recs = [{"a": 1, "b": {"c": 1}}, {"a": "x", "b": {"c": "y"}}, {"a": 2.5, "b": 7},
            {"a": [1, "x"], "b": {"c": [{"d": 1}, 2]}}, {"a": True}]
    f = write(tmp_path, "mixed.ndjson", recs)
    r = run(tmp_path, [f], mode=mode)
    assert_ledger(r)
    assert (r.rows_out, r.rejected) == (5, 0)
    t = read_out(r)
    assert t.to_pylist() == expected_rows([(f, recs)], t, mode)
    if mode == "string":
        assert t.column("a").to_pylist() == ["1", "x", "2.5", '[1,"x"]', "true"]


def test_typed_in_row_conflict_follows_manifest_types(tmp_path):
    # row 3 mixes a struct and a number inside one array; "c" ends up string in the manifest
    recs = [{"s": {"c": 1}}, {"s": {"c": "y"}}, {"s": {"c": [{"d": 1}, 2]}}]
    other = [{"s": {"c": [1, 2]}, "l": [1, "x"]}, {"l": ["z"]}]
    f, g = write(tmp_path, "a.ndjson", recs), write(tmp_path, "b.ndjson", other)
    t = read_out(run(tmp_path, [f, g], mode="typed"))
    assert t.schema.field("s").type == pa.struct([("c", pa.string())])
    assert t.column("s").to_pylist() == [{"c": "1"}, {"c": "y"}, {"c": '[{"d":1},2]'}, {"c": "[1,2]"}, None]
    assert t.schema.field("l").type == pa.list_(pa.string())
    assert t.column("l").to_pylist() == [None, None, None, ["1", "x"], ["z"]]


def test_iso_strings_keep_their_text(tmp_path):
    recs = [{"d": "2024-01-01", "ts": "2024-01-01T10:00:00Z", "s": {"t": "2024-02-03 04:05:06"}},
            {"d": "2024-12-31", "ts": "2024-06-01T00:00:00", "s": {"t": "2024-02-03"}}]
    f = write(tmp_path, "ts.ndjson", recs)
    g = write(tmp_path, "ts2.ndjson", [{"d": "2025-01-01", "s": {"t": "2025-01-01", "u": 1}}])
    for mode in ("string", "typed"):
        t = read_out(run(tmp_path, [f, g], mode=mode))
        assert t.column("d").to_pylist() == ["2024-01-01", "2024-12-31", "2025-01-01"]
        assert t.column("ts").to_pylist() == ["2024-01-01T10:00:00Z", "2024-06-01T00:00:00", None]
    assert t.to_pylist()[0]["s"] == {"t": "2024-02-03 04:05:06", "u": None}


def test_case_sensitive_keys_in_one_object(tmp_path):
    f = write(tmp_path, "case.ndjson", [{"x": 1, "X": 2, "nested": {"k": "lower", "K": "upper"}}])
    for mode in ("string", "typed"):
        row = read_out(run(tmp_path, [f], mode=mode)).to_pylist()[0]
        assert (row["x"], row["X"]) == (("1", "2") if mode == "string" else (1, 2))
    assert row["nested"] == {"K": "upper", "k": "lower"}


# ----------------------------------------------------------------- malformed lines

def test_malformed_lines_go_to_rejects_with_line_numbers(tmp_path):
    f = write(tmp_path, "bad.ndjson", [
        {"a": 1},                       # 1
        "",                             # 2 blank: ignored
        '{"a": 2',                      # 3 truncated
        "[1, 2]",                       # 4 array
        "42",                           # 5 scalar
        '   \t',                        # 6 blank
        '{"a": 3}',                     # 7
        '{"a": 4} {"a": 5}',            # 8 two objects on one line
        '{"a": NaN}',                   # 9 not JSON
        '{"a": 1, "a": 2}',             # 10 duplicate key
        '{"a": {"b": 1, "b": 2}}',      # 11 duplicate nested key
        '{"a": 6}\r',                   # 12 CRLF is fine
        "null",                         # 13
    ])
    good = write(tmp_path, "good.ndjson", [{"a": 10}])
    r = run(tmp_path, [f, good])
    assert_ledger(r)
    assert (r.rows_in, r.rows_out, r.rejected) == (12, 4, 8)
    assert read_out(r).column("a").to_pylist() == ["1", "3", "6", "10"]
    rej = read_rejects(tmp_path)
    assert [x["line_number"] for x in rej] == [3, 4, 5, 8, 9, 10, 11, 13]
    assert all(x["source_file"] == f.source_uri for x in rej)
    assert rej[0]["line"] == '{"a": 2' and rej[1]["line"] == "[1, 2]"
    assert "not a JSON object: array" in rej[1]["error"]
    assert "not a JSON object: number" in rej[2]["error"]
    assert "duplicate key" in rej[5]["error"] and "duplicate key" in rej[6]["error"]
    assert set(rej[0]) == {"source_file", "line_number", "error", "line"}
    assert [s["rejected"] for s in r.file_stats] == [8, 0]


def test_object_spread_over_lines_is_rejected_line_by_line(tmp_path):
    f = write(tmp_path, "multi.ndjson", ['{"a":', "1}", '{"a": 2}'])
    r = run(tmp_path, [f])
    assert (r.rows_out, r.rejected) == (1, 2)
    assert [x["line_number"] for x in read_rejects(tmp_path)] == [1, 2]


def test_blank_lines_are_not_rows(tmp_path):
    f = write(tmp_path, "blank.ndjson", ["", {"a": 1}, "", "  ", {"a": 2}, ""])
    r = run(tmp_path, [f])
    assert (r.rows_in, r.rows_out, r.rejected) == (2, 2, 0)


def test_empty_file_and_file_with_only_malformed_lines(tmp_path):
    empty = write(tmp_path, "empty.ndjson", [])
    junk = write(tmp_path, "junk.ndjson", ["not json", "[1]", ""])
    r = run(tmp_path, [empty, junk])
    assert (r.rows_in, r.rows_out, r.rejected) == (2, 0, 2)
    assert r.output_files == []
    assert r.bytes_in == os.path.getsize(junk.path)
    good = write(tmp_path, "good.ndjson", [{"a": 1}])
    r = run(tmp_path, [empty, junk, good])
    assert (r.rows_in, r.rows_out, r.rejected) == (3, 1, 2)
    assert read_out(r).column("_source_file").to_pylist() == [good.source_uri]


def test_utf8_bom_and_non_ascii(tmp_path):
    p = tmp_path / "bom.ndjson"
    p.write_bytes(b"\xef\xbb\xbf" + '{"name": "Zoë", "city": "東京"}\n'.encode())
    t = read_out(run(tmp_path, [SourceFile(str(p), "s3://in/bom.ndjson")]))
    assert t.to_pylist()[0]["name"] == "Zoë" and t.to_pylist()[0]["city"] == "東京"


# ----------------------------------------------------------------- provenance, rolling, overwrite

def test_provenance_columns(tmp_path):
    a = write(tmp_path, "a.ndjson", [{"v": 1}, {"v": 2}])
    b = write(tmp_path, "b.ndjson", [{"v": 3, "_source_file": "spoofed"}])
    t = read_out(run(tmp_path, [a, b], manifest_id="m-7"))
    assert t.column("_source_file").to_pylist() == [a.source_uri] * 2 + [b.source_uri]
    assert set(t.column("_manifest_id").to_pylist()) == {"m-7"}
    assert t.column("_source_file__input").to_pylist() == [None, None, "spoofed"]
    assert t.column_names[-2:] == list(PROV)


def _many_files(tmp_path, n_files=6, rows=400):
    rng = random.Random(5)
    files, records = [], []
    for i in range(n_files):
        recs = [{"id": i * rows + j, "msg": "".join(rng.choices("abcdefghij", k=60)),
                 "v": rng.random(), "n": {"a": rng.randint(0, 9)}} for j in range(rows)]
        files.append(write(tmp_path, f"m{i:02d}.ndjson", recs))
        records.append(recs)
    return files, records


@pytest.mark.parametrize("mode", ["string", "typed"])
def test_rolls_parts_at_target_size(tmp_path, mode):
    files, records = _many_files(tmp_path)
    r = run(tmp_path, files, mode=mode, target_file_bytes=60_000)
    assert len(r.output_files) >= 3
    assert [os.path.basename(p) for p in r.output_files] == \
        [output_file_name("batch-0001", i) for i in range(len(r.output_files))]
    sizes = [os.path.getsize(p) for p in r.output_files]
    assert max(sizes[:-1]) < 60_000 * 1.5
    t = read_out(r)
    assert t.to_pylist() == expected_rows(zip(files, records), t, mode)
    assert sorted(os.listdir(tmp_path / "out")) == sorted(os.path.basename(p) for p in r.output_files)


def test_rerun_overwrites_and_removes_stale_parts(tmp_path):
    files, records = _many_files(tmp_path)
    first = run(tmp_path, files, target_file_bytes=60_000)
    other = run(tmp_path, files[:1], manifest_id="batch-0001x")   # a different manifest stays
    second = run(tmp_path, files, target_file_bytes=60_000)
    assert second.output_files == first.output_files
    assert read_out(second).equals(read_out(first))
    third = run(tmp_path, files)                                   # one big part now
    assert len(third.output_files) == 1
    left = sorted(os.listdir(tmp_path / "out"))
    assert left == sorted([os.path.basename(third.output_files[0]), os.path.basename(other.output_files[0])])
    assert read_out(third).num_rows == sum(map(len, records))


def test_rejects_file_is_rewritten_on_rerun(tmp_path):
    bad = write(tmp_path, "bad.ndjson", ["oops", {"a": 1}])
    run(tmp_path, [bad])
    assert len(read_rejects(tmp_path)) == 1
    good = write(tmp_path, "bad.ndjson", [{"a": 1}])
    r = run(tmp_path, [good])
    assert r.rejected == 0 and read_rejects(tmp_path) == []


def test_parallel_and_serial_runs_agree(tmp_path):
    files, _ = _many_files(tmp_path, n_files=5, rows=50)
    one = read_out(run(tmp_path, files, mode="typed", max_workers=1))
    two = read_out(run(tmp_path, files, mode="typed", max_workers=2))
    assert one.equals(two)


# ----------------------------------------------------------------- value text rules

def test_number_formatting_rule():
    cases = {1.0: "1", -0.0: "0", 2.5: "2.5", 1e-7: "1e-7", 0.000015: "0.000015", 1e21: "1e+21",
             12345678901.0: "12345678901", 12345678901.5: "1.23456789015e+10", 0.1: "0.1",
             2.0 ** 53: "9.007199254740992e+15", 1234567890.5: "1234567890.5", -2.5e-8: "-2.5e-8"}
    for x, want in cases.items():
        assert format_double(x) == want, x
    assert _double_text(pa.array(list(cases))).to_pylist() == list(cases.values())


def test_columnar_double_text_matches_reference_on_random_values():
    rng = random.Random(11)
    vals = [struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0] for _ in range(20000)]
    vals += [rng.uniform(-1e6, 1e6) for _ in range(5000)] + [float(rng.randint(-10**12, 10**12)) for _ in range(2000)]
    vals = [v for v in vals if v == v and abs(v) != float("inf")]
    assert _double_text(pa.array(vals)).to_pylist() == [format_double(v) for v in vals]


def _random_value(rng, depth=0):
    kind = rng.choice(["null", "bool", "int", "float", "str", "obj", "list"] if depth < 3 else
                      ["null", "bool", "int", "float", "str"])
    if kind == "null":
        return None
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "int":
        return rng.randint(-10**15, 10**15)
    if kind == "float":
        return rng.uniform(-1e4, 1e4) * 10 ** rng.randint(-10, 10)
    if kind == "str":
        return "".join(rng.choice('ab"\\\n\t\x01é✓ ') for _ in range(rng.randint(0, 8)))
    if kind == "obj":
        return {rng.choice("pqrsPQ"): _random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}
    elem = _random_value(rng, depth + 1)
    return [elem for _ in range(rng.randint(0, 3))]


def test_columnar_json_text_matches_reference():
    rng = random.Random(3)
    for _ in range(200):
        v = _random_value(rng)
        lines = orjson.dumps({"c": v}) + b"\n" + orjson.dumps({"c": v}) + b"\n{}\n"
        t = pj.read_json(pa.py_buffer(lines))
        if "c" not in t.column_names:
            continue
        assert text_column(t.column("c")).to_pylist() == [text_value(v), text_value(v), None]
        if v is not None and not isinstance(v, str):
            assert canonical_json(v) == text_value(v)
            json.loads(canonical_json(v))    # valid JSON


def test_canonical_json_rules():
    assert canonical_json({"b": [1, None, 2.0], "a": None, "c": {"y": 1e-7, "x": "q\"\n"}}) == \
        '{"b":[1,null,2],"c":{"x":"q\\"\\n","y":1e-7}}'
    assert text_value("plain") == "plain" and text_value(None) is None and text_value(False) == "false"


def test_random_batch_roundtrip_both_modes(tmp_path):
    rng = random.Random(8)
    files, records = [], []
    for i in range(4):
        recs = []
        for j in range(60):
            rec = {k: _random_value(rng) for k in rng.sample(["a", "b", "c", "d", "A"], rng.randint(0, 5))}
            recs.append(rec)
        files.append(write(tmp_path, f"r{i}.ndjson", recs))
        records.append(recs)
    for mode in ("string", "typed"):
        r = run(tmp_path, files, mode=mode)
        assert_ledger(r)
        assert r.rejected == 0
        t = read_out(r)
        assert t.to_pylist() == expected_rows(zip(files, records), t, mode)


# ----------------------------------------------------------------- failures

def test_duplicate_source_uri_is_refused(tmp_path):
    a = write(tmp_path, "a.ndjson", [{"v": 1}])
    with pytest.raises(ValueError, match="twice"):
        run(tmp_path, [a, a])


def test_a_file_that_cannot_be_read_is_left_out_and_a_failed_run_leaves_nothing_half_written(tmp_path):
    files, _ = _many_files(tmp_path, n_files=4, rows=200)
    missing = SourceFile(str(tmp_path / "in" / "nope.ndjson"), "s3://input/nope.ndjson")
    first = run(tmp_path, files[:2] + [missing], target_file_bytes=30_000)
    assert list(first.failed) == [missing.source_uri] and first.failed[missing.source_uri].startswith("FileNotFoundError")
    assert (first.rows_in, first.rows_out) == (400, 400) and len(first.file_stats) == 2
    assert sorted(read_out(first).column("_source_file").unique().to_pylist()) == sorted(f.source_uri for f in files[:2])
    before = {p: os.path.getmtime(p) for p in first.output_files}
    with pytest.raises(AllFilesFailed, match="all 1 file.s. failed: s3://input/nope.ndjson: FileNotFoundError"):
        run(tmp_path, [missing], target_file_bytes=30_000)
    left = sorted(os.listdir(tmp_path / "out"))
    assert left == sorted(os.path.basename(p) for p in first.output_files)   # no temp files, no spool
    assert {p: os.path.getmtime(p) for p in first.output_files} == before
    assert os.listdir(tmp_path / "rejects") == ["rejects.ndjson"]


@pytest.mark.parametrize("mode", ["string", "typed"])
def test_empty_objects_are_rows(tmp_path, mode):
    only_empty = write(tmp_path, "e.ndjson", [{}, {}])
    other = write(tmp_path, "o.ndjson", [{"a": 1}])
    r = run(tmp_path, [only_empty, other], mode=mode)
    assert (r.rows_in, r.rows_out) == (3, 3)
    t = read_out(r)
    assert t.column("a").to_pylist() == [None, None, "1" if mode == "string" else 1]
    assert t.column("_source_file").to_pylist() == [only_empty.source_uri] * 2 + [other.source_uri]
