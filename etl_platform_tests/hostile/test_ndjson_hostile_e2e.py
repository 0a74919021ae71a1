"""Pipeline B end to end: every hostile NDJSON input of the README table, the hostile S3
keys and an innocent file land together; the real validator, sensor and runs take them.
Each gets its documented status and message, every good row arrives exactly once, and no
record is left pending, claimed or processing."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from etl_platform.core.s3_uri import contained_key
from etl_platform_tests.hostile.documented import documented, matches
from etl_platform_tests.hostile.ndjson_inputs import PAD, SCENARIOS, padding_ids
from etl_platform_tests.hostile.test_ndjson_hostile import INNOCENT, as_text
from etl_platform_tests.ndjson_to_parquet.harness import Pipeline, scaled

pytestmark = pytest.mark.e2e

DAY = "2026-05-02"
KEYS = {  # scenario -> key landed (a good file each)
    "b-space-unicode": f"landing/ndjson/{DAY}/my file ü.ndjson",
    "b-dotdot-in-file": f"landing/ndjson/{DAY}/../up.ndjson",
    "b-dotdot-before-date": f"landing/ndjson/../{DAY}/x.ndjson",
}


def _rejects(pipeline) -> list[dict]:
    bucket = pipeline.names.parquet_output_bucket
    out = []
    for obj in pipeline.s3.list_objects_v2(Bucket=bucket, Prefix=f"rejects/{DAY}/").get("Contents", []):
        body = pipeline.s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
        out += [json.loads(line) for line in body.splitlines()]
    return out


def test_a_batch_of_hostile_ndjson_files(aws):
    pipeline = Pipeline(scaled(aws, manifest_max_files=50, orphan_flush_seconds=0))
    bucket = pipeline.names.ndjson_input_bucket
    pipeline.land(DAY, "innocent.ndjson", INNOCENT)
    landed = {}  # file key -> scenario
    for scenario in SCENARIOS:
        for name, body in scenario.files.items():
            pipeline.land(DAY, name, [], body=body)
            landed[name] = scenario.id
    for scenario, key in KEYS.items():
        pipeline.s3.put_object(Bucket=bucket, Key=key, Body=PAD)

    results = pipeline.drain()
    assert results and all(results.values())

    rows = [{k: as_text(v) for k, v in r.items()} for r in pipeline.output_rows(DAY)]
    rejects = _rejects(pipeline)
    by_file = lambda records, field: {n: [r for r in records if r[field].endswith(f"/{DAY}/{n}")] for n in landed}
    rows_of, rejects_of = by_file(rows, "_source_file"), by_file(rejects, "source_file")
    doc = documented("B NDJSON")
    for scenario in SCENARIOS:
        names = list(scenario.files)
        errors = [r["error"] for n in names for r in rejects_of[n]]
        observed = ("reject", "; ".join(errors)) if errors else \
            ("row", scenario.describe([r for n in names for r in rows_of[n] if r["id"].startswith("h")]))
        assert observed[0] == doc[scenario.id][0], scenario.id
        assert matches(doc[scenario.id][1], observed[1]), (scenario.id, observed)

    # every good line once: nothing lost, nothing duplicated
    expected = Counter(r["id"] for r in INNOCENT)
    for scenario in SCENARIOS:
        expected.update(padding_ids(scenario))
    expected.update(json.loads(line)["id"] for line in PAD.splitlines() for _ in ("space", "dotdot"))
    got = Counter(r["id"] for r in rows if not r["id"].startswith("h"))
    assert got == expected

    keys = documented("S3 keys")
    source_files = {r["_source_file"] for r in rows}
    for scenario in ("b-space-unicode", "b-dotdot-in-file"):
        [uri] = [u for u in source_files if u == f"s3://{bucket}/{KEYS[scenario]}"]
        file_key = KEYS[scenario].split(f"{DAY}/", 1)[1]
        tracked = pipeline.tracking.file(DAY, file_key)
        assert (tracked["status"].split("#")[0], f"_source_file ends with /{file_key}") == keys[scenario]
        assert uri.endswith(f"/{file_key}")
    quarantine = pipeline.names.quarantine_bucket
    moved = contained_key("", KEYS["b-dotdot-before-date"])
    head = pipeline.s3.head_object(Bucket=quarantine, Key=moved)
    message = f"{head['Metadata']['quarantine-reason']}; quarantined as {moved}".replace(DAY, "<date>")
    assert ("quarantined", message) == keys["b-dotdot-before-date"]

    # nothing left non-terminal
    items = pipeline.tracking.query(key_condition="date_prefix = :d", values={":d": DAY})
    statuses = Counter(str(i.get("status", "")).split("#")[0] for i in items if "status" in i)
    assert set(statuses) <= {"completed", "quarantined"}, statuses
