"""Issue 3's end-to-end scenario on the emulator: ~450 files over 2 dates, S3 events through
SQS, manifests by count and by orphan flush, every record exactly once, rejects exact."""

import json

import pytest

from etl_platform_tests.ndjson_to_parquet.harness import Pipeline, records, scaled

pytestmark = pytest.mark.e2e

DATES = {"2026-06-01": 260, "2026-06-02": 190}


def test_450_files_land_once_in_parquet(aws):
    pipeline = Pipeline(scaled(aws, manifest_max_files=100, validation_max_messages_per_run=1000))
    expected, injected = {}, []
    for date_prefix, count in DATES.items():
        for i in range(count):
            recs = records(f"{date_prefix}-{i}", 3)
            extra = []
            if i % 37 == 0:  # malformed lines among good ones, never dropped silently
                extra = ['{"id": "broken', "", "[1, 2, 3]"]
                injected += [(f"landing/ndjson/{date_prefix}/f-{i:04d}.ndjson", 4, '{"id": "broken'),
                             (f"landing/ndjson/{date_prefix}/f-{i:04d}.ndjson", 6, "[1, 2, 3]")]
            pipeline.land(date_prefix, f"f-{i:04d}.ndjson", recs, extra_lines=extra)
            expected.update({r["id"]: r for r in recs})

    by_count = pipeline.drain(max_ticks=50)
    assert len(by_count) == 3 and all(by_count.values())  # by count: 260 -> 2 manifests, 190 -> 1
    assert sorted(len(pipeline.tracking.pending_files(d)) for d in DATES) == [60, 90]

    flush = Pipeline(scaled(aws, manifest_max_files=100, orphan_flush_seconds=0))
    by_orphan = flush.drain()
    assert len(by_orphan) == 2 and all(by_orphan.values())

    rows = [r for d in DATES for r in pipeline.output_rows(d)]
    assert len(rows) == len(expected) == 1350
    assert sorted(r["id"] for r in rows) == sorted(expected)  # exactly once
    for row in rows[::97]:
        source = expected[row["id"]]
        assert row["n"] == str(source["n"]) and json.loads(row["user"]) == source["user"]

    for d, count in DATES.items():
        # a consistent read of the date: the status GSI may still lag the last settle
        items = pipeline.tracking.query(key_condition="date_prefix = :d", values={":d": d}, consistent=True)
        completed = [i for i in items if i.get("status", "").startswith("completed#")]
        assert len(completed) == count
        assert all(i["status"] == f"completed#{i['shard_id']}" for i in completed)
        assert {m["status"] for m in pipeline.tracking.manifests_of_date(d)} == {"completed"}

    found = []
    for d in DATES:
        listing = pipeline.s3.list_objects_v2(Bucket=aws.names.parquet_output_bucket, Prefix=f"rejects/{d}/")
        for obj in listing.get("Contents", []):
            body = pipeline.s3.get_object(Bucket=aws.names.parquet_output_bucket, Key=obj["Key"])["Body"].read()
            found += [json.loads(line) for line in body.splitlines()]
    got = sorted((r["source_file"].split("/", 3)[3], r["line_number"], r["line"]) for r in found)
    assert got == sorted(injected)
    manifests = [m for d in DATES for m in pipeline.tracking.manifests_of_date(d)]
    assert sum(int(m["rows_out"]) for m in manifests) == 1350
    assert sum(int(m["rejected"]) for m in manifests) == len(injected)
