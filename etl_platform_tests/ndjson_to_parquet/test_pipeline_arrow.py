"""Pipeline B with the single-node engine on the emulator."""

import json
from collections import Counter

from etl_platform_tests.ndjson_to_parquet.harness import Pipeline, records, scaled


def test_files_become_manifests_and_parquet_exactly_once(aws):
    pipeline = Pipeline(scaled(aws, manifest_max_files=5))
    expected = {}
    for i in range(12):
        recs = records(f"f{i}", 8)
        pipeline.land("2026-02-01", f"data-{i:03d}.ndjson", recs)
        expected.update({r["id"]: r for r in recs})
    results = pipeline.drain()
    assert len(results) == 2 and all(results.values())  # 12 // 5 full manifests; 2 files wait for the orphan flush
    assert _states(pipeline, "2026-02-01")["pending"] == 2

    pipeline = Pipeline(scaled(aws, manifest_max_files=5, orphan_flush_seconds=0))
    results = pipeline.drain()
    assert len(results) == 1 and all(results.values())

    rows = pipeline.output_rows("2026-02-01")
    assert sorted(r["id"] for r in rows) == sorted(expected)  # every record exactly once
    one = next(r for r in rows if r["id"] == "f3-2")
    assert one["n"] == str(expected["f3-2"]["n"])  # string mode: every column is text
    assert json.loads(one["user"]) == {k: v for k, v in expected["f3-2"]["user"].items()}
    assert one["_source_file"] == f"s3://{aws.names.ndjson_input_bucket}/landing/ndjson/2026-02-01/data-003.ndjson"
    assert _states(pipeline, "2026-02-01") == {"completed": 12}
    manifests = pipeline.tracking.manifests_of_date("2026-02-01")
    assert sorted(m["status"] for m in manifests) == ["completed"] * 3
    assert sum(int(m["file_count"]) for m in manifests) == 12


def _states(pipeline, date_prefix: str) -> Counter:
    """The date's files by state, read consistently (the status GSI may lag the runs just done:
    test_pipeline_b_eventual_reads.py runs this test with lagged reads)."""
    items = pipeline.tracking.query(key_condition="date_prefix = :d", values={":d": date_prefix}, consistent=True)
    return Counter(i["status"].split("#")[0] for i in items if "shard_id" in i)
