"""Pipeline B: a file an engine cannot read fails alone, on either engine; its manifest's
other files complete, and a replay after the operator restored it converts every row once.

The failure is real, not injected: the landing bucket's versioning is suspended (a bucket
without versioning, which sources.py supports), so a file is claimed by its ETag alone, and
the file is deleted after it was tracked. The run's check for overwritten files leaves such
a file in (it may be restored), and the engine's GetObject gets NoSuchKey.
"""

import json

import pytest

from etl_platform.pipelines.ndjson_to_parquet.assets import ENGINE_TAG
from etl_platform.resources.sqs import SqsQueue
from etl_platform_tests.ndjson_to_parquet.harness import Pipeline, glue_on_its_runtime, records, scaled, manifest_id_of

DAY = "2026-05-20"


def _manifest_with_a_vanished_file(pipeline) -> tuple[str, str, bytes]:
    """Three files tracked by ETag and minted into one manifest; the middle one deleted.
    The manifest id, the vanished key and its body (to restore it)."""
    bucket = pipeline.names.ndjson_input_bucket
    pipeline.s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    for i in range(3):
        pipeline.land(DAY, f"v-{i}.ndjson", records(f"v{i}", 5))
    [request] = pipeline.tick().run_requests
    key = f"landing/ndjson/{DAY}/v-1.ndjson"
    assert not pipeline.tracking.file(DAY, "v-1.ndjson").get("version_id")  # claimed by ETag only
    body = pipeline.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    pipeline.s3.delete_object(Bucket=bucket, Key=key)
    return manifest_id_of(request), key, body


def _assert_only_the_vanished_file_failed(pipeline, manifest: str, aws) -> None:
    by_key = {f["file_key"]: f for f in pipeline.tracking.files_of_manifest(manifest)}
    assert {k: f["status"].split("#")[0] for k, f in by_key.items()} == \
        {"v-0.ndjson": "completed", "v-1.ndjson": "failed", "v-2.ndjson": "completed"}
    assert "NoSuchKey" in by_key["v-1.ndjson"]["error"]
    assert "ttl" not in by_key["v-1.ndjson"]                      # waits for its replay
    record = pipeline.tracking.manifest(manifest)
    assert (record["status"], record["failed_files"], record["rows_out"], record["rows_in"]) == \
        ("completed", ["v-1.ndjson"], 10, 10)                    # the ledger counts converted files only
    assert sorted(r["id"] for r in pipeline.output_rows(DAY)) == sorted(f"v{i}-{n}" for i in (0, 2) for n in range(5))
    inbox = SqsQueue(connection=pipeline.resources["aws"], queue_name=aws.names.alerts_inbox_queue)
    [alert] = inbox.receive(wait_seconds=2)
    assert json.loads(alert.body)["failed_files"] == {"v-1.ndjson": by_key["v-1.ndjson"]["error"]}
    assert pipeline.tracking.breaker().consecutive_failures == 0  # a manifest that converted is no failure


def _restore_and_replay(pipeline, manifest: str, key: str, body: bytes, tags=None) -> None:
    pipeline.s3.put_object(Bucket=pipeline.names.ndjson_input_bucket, Key=key, Body=body)  # same bytes, same ETag
    pipeline.tick()                                               # its event: already tracked, nothing new
    assert pipeline.run(manifest, tags).success
    rows = pipeline.output_rows(DAY)
    assert sorted(r["id"] for r in rows) == sorted(f"v{i}-{n}" for i in range(3) for n in range(5))  # each row once
    files = pipeline.tracking.files_of_manifest(manifest)
    assert [f["status"].split("#")[0] for f in files] == ["completed"] * 3
    assert all("error" not in f for f in files)
    assert pipeline.tracking.manifest(manifest)["failed_files"] == []


def test_arrow_a_file_that_cannot_be_read_fails_alone_and_a_replay_adds_it_once(aws):
    pipeline = Pipeline(scaled(aws, manifest_max_files=3))
    manifest, key, body = _manifest_with_a_vanished_file(pipeline)
    assert pipeline.run(manifest).success
    _assert_only_the_vanished_file_failed(pipeline, manifest, aws)
    _restore_and_replay(pipeline, manifest, key, body)


def test_a_manifest_whose_every_file_fails_fails_as_a_whole(aws):
    """Nothing converted: more likely a fault of the run than of the files; the breaker counts it."""
    pipeline = Pipeline(scaled(aws, manifest_max_files=1))
    bucket = pipeline.names.ndjson_input_bucket
    pipeline.s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    key = pipeline.land(DAY, "only.ndjson", records("only", 5))
    [request] = pipeline.tick().run_requests
    pipeline.s3.delete_object(Bucket=bucket, Key=key)
    assert not pipeline.run(manifest_id_of(request)).success
    record = pipeline.tracking.manifest(manifest_id_of(request))
    assert record["status"] == "failed"
    assert record["error"].startswith("AllFilesFailed: all 1 file(s) failed: only.ndjson: NoSuchKey: ")
    [only] = pipeline.tracking.files_of_manifest(manifest_id_of(request))
    assert only["status"].startswith("failed#")
    assert pipeline.tracking.breaker().consecutive_failures == 1


@pytest.mark.e2e
def test_spark_a_file_that_cannot_be_read_fails_alone_and_a_replay_adds_it_once(aws):
    settings = scaled(aws, manifest_max_files=3)
    glue, _ = glue_on_its_runtime(settings, settings.names.ndjson_glue_job)
    pipeline = Pipeline(settings, glue=glue)
    manifest, key, body = _manifest_with_a_vanished_file(pipeline)
    assert pipeline.run(manifest, tags={ENGINE_TAG: "spark"}).success
    assert pipeline.tracking.manifest(manifest)["engine"] == "spark"
    _assert_only_the_vanished_file_failed(pipeline, manifest, aws)
    _restore_and_replay(pipeline, manifest, key, body, tags={ENGINE_TAG: "spark"})
