"""Poison inputs of the NDJSON engine: one bad file or line never fails the manifest.

Every input is generated here.  Each test converts a manifest holding the poison file
next to an innocent one and checks that every innocent row arrives and that the bad
line is a reject with its file and line number (never a crash, never Parquet damage).
"""

from __future__ import annotations

import json

import orjson
import pyarrow.parquet as pq
import pytest

from etl_platform.core.ndjson_parquet import SourceFile, convert_manifest
from etl_platform.core.ndjson_parquet.convert import output_names
from etl_platform.core.ndjson_parquet.reader import MAX_DEPTH, value_depth

MODES = ("string", "typed")


def _file(tmp_path, name: str, body: bytes) -> SourceFile:
    p = tmp_path / "in" / name
    p.parent.mkdir(exist_ok=True)
    p.write_bytes(body)
    return SourceFile(path=str(p), source_uri=f"s3://input/landing/{name}")


def _innocent(tmp_path) -> SourceFile:
    return _file(tmp_path, "innocent.ndjson", b"".join(orjson.dumps({"id": f"ok-{i}", "n": i}) + b"\n"
                                                     for i in range(5)))


def _convert(tmp_path, files, mode):
    rejects = tmp_path / "rejects.ndjson"
    result = convert_manifest(files, manifest_id="m-1", output_dir=str(tmp_path / "out"),
                              rejects_path=str(rejects), mode=mode)
    rows = [r for p in result.output_files for r in pq.read_table(p).to_pylist()]
    return result, rows, [json.loads(line) for line in rejects.read_text().splitlines()]


def _ids(rows, prefix="ok-"):
    return sorted(r["id"] for r in rows if str(r.get("id")).startswith(prefix))


def _nested(depth: int) -> bytes:
    """One object line nested ``depth`` levels (the object itself is level 1)."""
    return b'{"id":"deep","x":' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"


# ----------------------------------------------------------------- blank lines at the end

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("tail", [b"\n", b"\r\n", b"  \n", b"\t \r\n\n", b"\n\n\n"])
def test_a_file_ending_in_blank_lines_converts(tmp_path, mode, tail):
    body = b'{"id":"p-1"}\n{"id":"p-2"}\n' + tail
    if tail.startswith(b"\r"):
        body = body.replace(b"}\n", b"}\r\n")
    result, rows, rejects = _convert(tmp_path, [_file(tmp_path, "p.ndjson", body), _innocent(tmp_path)], mode)
    assert _ids(rows, "p-") == ["p-1", "p-2"] and len(_ids(rows)) == 5
    assert rejects == [] and result.rows_in == result.rows_out == 7


# ----------------------------------------------------------------- deep nesting

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 100, 400, 1000, 2000])
def test_a_line_nested_too_deep_is_a_reject(tmp_path, mode, depth):
    body = b'{"id":"p-1"}\n' + _nested(depth) + b'\n{"id":"p-3"}\n'
    result, rows, rejects = _convert(tmp_path, [_file(tmp_path, "p.ndjson", body), _innocent(tmp_path)], mode)
    assert _ids(rows, "p-") == ["p-1", "p-3"] and len(_ids(rows)) == 5
    assert [(r["source_file"], r["line_number"], r["error"]) for r in rejects] == \
        [("s3://input/landing/p.ndjson", 2, f"nested deeper than {MAX_DEPTH} levels")]
    assert result.rows_in == result.rows_out + result.rejected == 8


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("only_line", [False, True])
def test_a_line_at_the_depth_limit_is_a_row(tmp_path, mode, only_line):
    body = _nested(MAX_DEPTH) + b"\n" + (b"" if only_line else b'{"id":"p-2","x":"text"}\n')
    result, rows, rejects = _convert(tmp_path, [_file(tmp_path, "p.ndjson", body)], mode)
    assert rejects == [] and result.rows_out == (1 if only_line else 2)
    x = next(r["x"] for r in rows if r["id"] == "deep")
    text = x if isinstance(x, str) else json.dumps(x, separators=(",", ":"))
    assert text == "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)


def test_value_depth_counts_objects_and_arrays_without_recursion():
    assert value_depth({}) == 1 and value_depth({"a": [1, {"b": []}]}) == 4
    deep = []
    for _ in range(5000):                    # far beyond Python's recursion limit
        deep = [deep]
    assert value_depth({"x": deep}) == 5002


# ----------------------------------------------------------------- provenance collisions

def test_output_names_suffix_until_unique():
    assert output_names(["a", "_source_file"]) == {"a": "a", "_source_file": "_source_file__input"}
    names = output_names(["_source_file", "_source_file__input", "_manifest_id",
                          "_manifest_id__input", "_manifest_id__input__input"])
    assert names == {"_source_file": "_source_file__input__input", "_source_file__input": "_source_file__input",
                     "_manifest_id": "_manifest_id__input__input__input",
                     "_manifest_id__input": "_manifest_id__input",
                     "_manifest_id__input__input": "_manifest_id__input__input"}


@pytest.mark.parametrize("mode", MODES)
def test_keys_named_like_provenance_columns_keep_their_values(tmp_path, mode):
    line = {"id": "p-1", "_source_file": "s", "_manifest_id": "m", "_source_file__input": "si",
            "_source_file__input__input": "sii", "_manifest_id__input": "mi"}
    poison = _file(tmp_path, "p.ndjson", orjson.dumps(line) + b"\n")
    result, rows, rejects = _convert(tmp_path, [poison, _innocent(tmp_path)], mode)
    assert rejects == [] and len(_ids(rows)) == 5
    p = next(r for r in rows if r["id"] == "p-1")
    assert (p["_source_file"], p["_manifest_id"]) == ("s3://input/landing/p.ndjson", "m-1")
    assert sorted(v for k, v in p.items() if k.startswith("_") and v is not None
                  and k not in ("_source_file", "_manifest_id")) == ["m", "mi", "s", "si", "sii"]
    assert p["_source_file__input"] == "si" and p["_source_file__input__input__input"] == "s"


# ----------------------------------------------------------------- the validator's first-line check

@pytest.mark.parametrize("depth", [400, 1000, 5000])
@pytest.mark.parametrize("whole_file", [False, True])
def test_validator_accepts_a_deeply_nested_first_line(depth, whole_file):
    from etl_platform.core.ingestion.landing import content_error

    # accepted, never raised: the engine rejects that line alone (see the pipeline test)
    assert content_error(_nested(depth) + b'\n{"id":"b"}\n', whole_file=whole_file) is None


def test_validator_still_quarantines_a_first_line_that_is_not_an_object():
    from etl_platform.core.ingestion.landing import content_error

    assert "not valid JSON" in content_error(b'{"a": [[[' + b"\n", whole_file=True)
    assert "not NDJSON" in content_error(b"[" * 5000 + b"\n", whole_file=True)


# ----------------------------------------------------------------- invalid UTF-8

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("bad", [b'{"id":"p-2","s":"caf\xe9"}',          # latin-1 byte
                                 b'{"id":"p-2","s":"\xed\xa0\x80"}',    # encoded surrogate
                                 b'{"id":"p-2","\xff":1}',               # in a key
                                 b'{"id":"p-2","s":"\xe2\x82"}'])        # truncated sequence
def test_invalid_utf8_lines_are_rejects_never_parquet(tmp_path, mode, bad):
    body = b'{"id":"p-1","s":"\xc3\xa9t\xc3\xa9"}\n' + bad + b'\n{"id":"p-3","s":"x"}\n'
    result, rows, rejects = _convert(tmp_path, [_file(tmp_path, "p.ndjson", body), _innocent(tmp_path)], mode)
    assert _ids(rows, "p-") == ["p-1", "p-3"] and len(_ids(rows)) == 5
    assert next(r["s"] for r in rows if r["id"] == "p-1") == "été"
    assert [(r["source_file"], r["line_number"]) for r in rejects] == [("s3://input/landing/p.ndjson", 2)]
    assert rejects[0]["error"].startswith("invalid UTF-8 at byte")
    for path in result.output_files:       # every string in the Parquet is valid UTF-8
        for col in pq.read_table(path).columns:
            if col.type == "string":
                col.to_pylist()


@pytest.mark.parametrize("mode", MODES)
def test_a_bom_at_the_start_of_a_file_is_not_a_reject(tmp_path, mode):
    body = b'\xef\xbb\xbf{"id":"p-1"}\n{"id":"p-2"}\n'
    result, rows, rejects = _convert(tmp_path, [_file(tmp_path, "p.ndjson", body)], mode)
    assert rejects == [] and _ids(rows, "p-") == ["p-1", "p-2"]


# ----------------------------------------------------------------- integers keep every digit

BIG = [2**53 + 1, -(2**53 + 1), 2**63 - 1, -2**63, 2**63, -(2**63) - 1, 10**30 + 7, -(10**40 + 3)]


@pytest.mark.parametrize("layout", ["alone", "with_fraction", "nested"])
def test_string_mode_keeps_the_exact_text_of_big_integers(tmp_path, layout):
    lines = []
    for i, v in enumerate(BIG):
        rec = {"id": f"p-{i}", "n": v} if layout != "nested" else {"id": f"p-{i}", "n": {"v": [v, 1]}}
        lines.append(json.dumps(rec).encode())
        if layout == "with_fraction":      # makes pyarrow infer a double column
            lines.append(json.dumps({"id": f"q-{i}", "n": 1.5}).encode())
    body = b"\n".join(lines) + b"\n"
    result, rows, rejects = _convert(tmp_path, [_file(tmp_path, "p.ndjson", body), _innocent(tmp_path)], "string")
    assert rejects == [] and len(_ids(rows)) == 5
    got = {r["id"]: r["n"] for r in rows if r["id"].startswith("p-")}
    want = {f"p-{i}": (str(v) if layout != "nested" else f'{{"v":[{v},1]}}') for i, v in enumerate(BIG)}
    assert got == want
    assert all(r["n"] == "1.5" for r in rows if r["id"].startswith("q-"))


def test_typed_mode_keeps_int64_exact_and_widens_wider_integers_to_text(tmp_path):
    int64s = [2**53 + 1, 2**63 - 1, -2**63, 7]
    a = _file(tmp_path, "a.ndjson", b"".join(json.dumps({"id": f"a-{i}", "n": v, "m": v}).encode() + b"\n"
                                             for i, v in enumerate(int64s)))
    wide = [2**63, -(2**63) - 1, 10**30 + 7]
    b = _file(tmp_path, "b.ndjson", b"".join(json.dumps({"id": f"b-{i}", "n": v, "s": {"w": v}}).encode() + b"\n"
                                             for i, v in enumerate(wide)))
    result, rows, rejects = _convert(tmp_path, [a, b], "typed")
    assert rejects == []
    types = {c["name"]: c["type"] for c in result.schema}
    assert types["m"] == "int64"                     # int64 stays exact int64
    assert types["n"] == "string" and types["s"] == "struct<w: string>"   # wider: exact text
    got = {r["id"]: (r["n"], r["m"]) for r in rows}
    assert got == {**{f"a-{i}": (str(v), v) for i, v in enumerate(int64s)},
                   **{f"b-{i}": (str(v), None) for i, v in enumerate(wide)}}
    assert [r["s"]["w"] for r in rows if r["id"].startswith("b-")] == [str(v) for v in wide]


def test_typed_mode_int64_limits_on_the_fast_path_stay_int64(tmp_path):
    body = b'{"n":9223372036854775807}\n{"n":-9223372036854775808}\n{"n":9007199254740993}\n'
    result, rows, _ = _convert(tmp_path, [_file(tmp_path, "p.ndjson", body)], "typed")
    assert [r["n"] for r in rows] == [2**63 - 1, -2**63, 2**53 + 1]
    assert {c["name"]: c["type"] for c in result.schema}["n"] == "int64"


def test_digit_runs_inside_strings_do_not_count_as_big_integers():
    from etl_platform.core.ndjson_parquet.reader import _has_big_int

    assert not _has_big_int(b'{"id":"12345678901234567890","t":"2026-01-01T00:00:00"}\n')
    assert not _has_big_int(b'{"n":123456789012345}\n')             # 15 digits: exact in a double
    assert _has_big_int(b'{"n":1234567890123456}\n')
    assert _has_big_int(b'{"n":[1, -12345678901234567890]}\n')


def test_validator_names_the_encoding_when_the_first_line_is_not_utf8():
    from etl_platform.core.ingestion.landing import content_error

    assert content_error(b'{"note":"caf\xe9"}\n', whole_file=True) == \
        "wrong encoding: the first line is not valid UTF-8 (byte 13)"


@pytest.mark.parametrize("mode", MODES)
def test_lone_surrogate_escapes_are_rejects(tmp_path, mode):
    # valid-looking JSON text that would decode to invalid UTF-8: never reaches Parquet
    body = b'{"id":"p-1","s":"\\ud800"}\n{"id":"p-2","s":"\\ud83d\\ude00"}\n'
    result, rows, rejects = _convert(tmp_path, [_file(tmp_path, "p.ndjson", body)], mode)
    assert [r["s"] for r in rows] == ["\U0001F600"] and [r["line_number"] for r in rejects] == [1]
