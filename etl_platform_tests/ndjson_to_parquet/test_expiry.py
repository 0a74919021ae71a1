"""What DynamoDB's TTL and the landing bucket's lifecycle do to pipeline B, on the emulator's
clock (expiry mode): only finished records and ingested files expire, a failed manifest
stays replayable however old, and expiry never makes a file ingest twice."""

import json

from etl_platform.local.provision import provision
from etl_platform_tests.ndjson_to_parquet.harness import Pipeline, records, scaled, manifest_id_of

DAY = "2026-05-20"


def _landing_versions(pipeline, name):
    listing = pipeline.s3.list_object_versions(Bucket=pipeline.names.ndjson_input_bucket,
                                               Prefix=f"landing/ndjson/{DAY}/{name}")
    return listing.get("Versions", [])


def test_a_failed_manifest_older_than_30_days_is_still_replayable(aws, emulator_clock):
    pipeline = Pipeline(scaled(aws, manifest_max_files=3))
    for i in range(3):
        pipeline.land(DAY, f"f-{i}.ndjson", records(f"f{i}", 4))
    [request] = pipeline.tick().run_requests
    manifest = manifest_id_of(request)
    pipeline.s3.delete_bucket(Bucket=aws.names.parquet_output_bucket)
    assert not pipeline.run(manifest).success

    emulator_clock.advance(days=45)  # past the 30-day TTL and the 3-day landing retention
    assert pipeline.tracking.manifest(manifest)["status"] == "failed"
    assert sorted(i["status"].split("#")[0] for i in pipeline.tracking.files_of_manifest(manifest)) == ["failed"] * 3
    assert all(len(_landing_versions(pipeline, f"f-{i}.ndjson")) == 1 for i in range(3))  # not ingested: kept

    emulator_clock.back_to_real_time()
    provision(aws)  # the operator fixes the account and replays
    assert pipeline.run(manifest).success
    rows = pipeline.output_rows(DAY)
    assert len(rows) == 12 and len({r["id"] for r in rows}) == 12


def test_expiry_never_makes_a_file_ingest_twice(aws, emulator_clock):
    pipeline = Pipeline(scaled(aws, manifest_max_files=2))
    for i in range(2):
        pipeline.land(DAY, f"e-{i}.ndjson", records(f"e{i}", 3))
    [request] = pipeline.tick().run_requests
    assert pipeline.run(manifest_id_of(request)).success
    ingested = pipeline.tracking.file(DAY, "e-0.ndjson")
    pipeline.land(DAY, "waiting.ndjson", records("w", 2))  # tracked, not yet in a manifest
    pipeline.tick()

    emulator_clock.advance(days=31)  # the records' 30 days; the landing version gets a delete marker
    emulator_clock.advance(days=2)   # and its noncurrent day passes
    assert pipeline.tracking.file(DAY, "e-0.ndjson") is None and pipeline.tracking.manifest(manifest_id_of(request)) is None
    assert _landing_versions(pipeline, "e-0.ndjson") == []  # the ingested file is gone from landing too
    assert pipeline.tracking.file(DAY, "waiting.ndjson")["status"].startswith("pending#")  # still waiting
    assert len(_landing_versions(pipeline, "waiting.ndjson")) == 1

    # A late duplicate of the original event finds its version gone: nothing is tracked again.
    pipeline.resources["file_events_queue"].send({"Records": [{
        "eventName": "ObjectCreated:Put", "eventTime": f"{DAY}T00:00:00.000Z",
        "s3": {"bucket": {"name": aws.names.ndjson_input_bucket},
               "object": {"key": f"landing/ndjson/{DAY}/e-0.ndjson", "size": ingested["size"],
                          "eTag": ingested["etag"], "versionId": ingested["version_id"]}}}]})
    emulator_clock.back_to_real_time()
    pipeline.tick()
    assert pipeline.tracking.file(DAY, "e-0.ndjson") is None
    assert sorted(r["id"] for r in pipeline.output_rows(DAY)) == sorted(f"e{i}-{n}" for i in range(2) for n in range(3))

    # Uploaded again under the same key after its record expired: new data, ingested as such (README).
    pipeline.land(DAY, "e-0.ndjson", records("e0", 3))
    pipeline.drain()
    assert pipeline.tracking.file(DAY, "e-0.ndjson")["status"].startswith("completed#")
    assert json.dumps(sorted(r["id"] for r in pipeline.output_rows(DAY))).count('"e0-0"') == 2
