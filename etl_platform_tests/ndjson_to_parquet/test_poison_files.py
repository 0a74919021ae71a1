"""Pipeline B on the emulator: one poison file never fails its manifest's innocent files."""

import json

from etl_platform.core.ndjson_parquet import MAX_DEPTH
from etl_platform_tests.ndjson_to_parquet.harness import Pipeline, records, scaled

DAY = "2026-05-01"


def _body(recs, tail: bytes = b"", extra: bytes = b"") -> bytes:
    return b"\n".join(json.dumps(r).encode() for r in recs) + b"\n" + extra + tail


def test_poison_files_convert_every_innocent_row(aws):
    pipeline = Pipeline(scaled(aws, manifest_max_files=4))
    innocent, blank, deep, named = (records(p, 6) for p in ("inn", "blank", "deep", "named"))
    pipeline.land(DAY, "innocent.ndjson", innocent)
    pipeline.land(DAY, "blank-end.ndjson", [], body=_body(blank, tail=b"\r\n  \n\n"))
    nested = b'{"id":"too-deep","x":' + b"[" * 400 + b"]" * 400 + b"}\n"
    pipeline.land(DAY, "deep.ndjson", [], body=_body(deep, extra=nested))
    for r in named:
        r.update({"_source_file": "src", "_source_file__input": "src-in", "_manifest_id": "mid"})
    pipeline.land(DAY, "named.ndjson", named)

    results = pipeline.drain()
    assert len(results) == 1 and all(results.values())
    rows = pipeline.output_rows(DAY)
    expected = [r["id"] for r in innocent + blank + deep + named]
    assert sorted(r["id"] for r in rows) == sorted(expected)          # every innocent row, once
    one = next(r for r in rows if r["id"] == named[0]["id"])
    assert (one["_source_file__input__input"], one["_source_file__input"], one["_manifest_id__input"]) == \
        ("src", "src-in", "mid")
    assert one["_source_file"].endswith("/named.ndjson")
    assert len(pipeline.tracking.files_in_state("completed", DAY)) == 4
    rejects = _rejects(pipeline)
    assert [(r["source_file"].rsplit("/", 1)[-1], r["line_number"], r["error"]) for r in rejects] == \
        [("deep.ndjson", 7, f"nested deeper than {MAX_DEPTH} levels")]


def _rejects(pipeline) -> list[dict]:
    """Every reject record the runs wrote, wherever the pipeline keeps them."""
    out = []
    for bucket in {pipeline.names.parquet_output_bucket, pipeline.names.ndjson_input_bucket}:
        for obj in pipeline.s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            if "reject" in obj["Key"]:
                body = pipeline.s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
                out += [json.loads(line) for line in body.splitlines() if line.strip()]
    return out


def test_a_deeply_nested_first_line_is_one_reject_not_a_lost_file(aws):
    """The validator once raised on it (RecursionError): the event cycled to the DLQ and the
    file was never tracked.  Now the file is tracked and only that line is rejected."""
    pipeline = Pipeline(scaled(aws, manifest_max_files=2))
    recs, other = records("after-deep", 5), records("other", 5)
    first = b'{"id":"deep","x":' + b"[" * 1000 + b"]" * 1000 + b"}\n"
    pipeline.land(DAY, "deep-first.ndjson", [], body=first + _body(recs))
    pipeline.land(DAY, "other.ndjson", other)

    results = pipeline.drain()
    assert len(results) == 1 and all(results.values())
    assert sorted(r["id"] for r in pipeline.output_rows(DAY)) == sorted(r["id"] for r in recs + other)
    assert {i["file_key"] for i in pipeline.tracking.files_in_state("completed", DAY)} == \
        {"deep-first.ndjson", "other.ndjson"}
    assert [(r["source_file"].rsplit("/", 1)[-1], r["line_number"], r["error"]) for r in _rejects(pipeline)] == \
        [("deep-first.ndjson", 1, f"nested deeper than {MAX_DEPTH} levels")]


def test_invalid_utf8_line_is_a_reject_and_the_parquet_stays_readable(aws):
    pipeline = Pipeline(scaled(aws, manifest_max_files=2))
    recs, other = records("utf", 5), records("other-utf", 5)
    bad = b'{"id":"latin1","note":"caf\xe9"}\n'
    pipeline.land(DAY, "latin1.ndjson", [], body=b"\xef\xbb\xbf" + _body(recs[:2]) + bad + _body(recs[2:]))
    pipeline.land(DAY, "other.ndjson", other)

    results = pipeline.drain()
    assert len(results) == 1 and all(results.values())
    rows = pipeline.output_rows(DAY)             # decodes every string: fails on invalid UTF-8
    assert sorted(r["id"] for r in rows) == sorted(r["id"] for r in recs + other)
    assert [(r["source_file"].rsplit("/", 1)[-1], r["line_number"]) for r in _rejects(pipeline)] == \
        [("latin1.ndjson", 3)]


def test_big_integers_keep_every_digit_through_the_pipeline(aws):
    pipeline = Pipeline(scaled(aws, manifest_max_files=1))
    big = [2**53 + 1, 2**63 - 1, -2**63, 2**64 + 1, -(10**30 + 7)]
    recs = [{"id": f"big-{i}", "n": v, "pad": "x" * 40} for i, v in enumerate(big)]
    pipeline.land(DAY, "big.ndjson", recs, extra_lines=['{"id": "frac", "n": 1.5}'])

    results = pipeline.drain()
    assert len(results) == 1 and all(results.values())
    got = {r["id"]: r["n"] for r in pipeline.output_rows(DAY)}
    assert got == {**{f"big-{i}": str(v) for i, v in enumerate(big)}, "frac": "1.5"}
