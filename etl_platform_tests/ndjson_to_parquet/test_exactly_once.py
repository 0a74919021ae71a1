"""Invariants 1-3 of pipeline B: duplicates, redeliveries, quarantine, failures and replay."""

import json
import time
import threading

from etl_platform.core.ingestion.manifests import PendingFile
from etl_platform.local.provision import provision
from etl_platform.resources.sqs import SqsQueue
from etl_platform_tests.ndjson_to_parquet.harness import Pipeline, records, scaled, manifest_id_of


def test_duplicate_events_and_redeliveries_change_nothing(aws):
    pipeline = Pipeline(scaled(aws, manifest_max_files=4))
    queue = pipeline.resources["file_events_queue"]
    keys = [pipeline.land("2026-03-01", f"d-{i}.ndjson", records(f"d{i}", 5)) for i in range(4)]
    # The same S3 events again, as S3 may deliver them twice, plus a raw redelivery of one.
    for key in keys:
        queue.send({"Records": [{"eventName": "ObjectCreated:CompleteMultipartUpload", "eventTime": "2026-03-01T00:00:00Z",
                                 "s3": {"bucket": {"name": aws.names.ndjson_input_bucket},
                                        "object": {"key": key.replace("/", "%2F"), "size": 600, "eTag": "x"}}}]})
    results = pipeline.drain()
    assert list(results.values()) == [True]
    rows = pipeline.output_rows("2026-03-01")
    assert len(rows) == 20 and len({r["id"] for r in rows}) == 20
    items = pipeline.tracking.query(key_condition="date_prefix = :d", values={":d": "2026-03-01"})
    assert sorted(i["file_key"] for i in items if "shard_id" in i) == [f"d-{i}.ndjson" for i in range(4)]
    assert queue.approximate_depth() == {"visible": 0, "in_flight": 0}

    # Re-running the completed manifest (a retried run) claims nothing new and overwrites.
    manifest = next(iter(results))
    pipeline.land("2026-03-01", "late.ndjson", records("late", 3))
    pipeline.tick()  # tracks the late file; 1 < 4 files and no orphan flush: no manifest
    assert pipeline.run(manifest).success
    assert len(pipeline.output_rows("2026-03-01")) == 20
    assert [f.file_key for f in pipeline.tracking.pending_files("2026-03-01")] == ["late.ndjson"]


def test_invalid_files_are_quarantined_with_a_reason(aws):
    pipeline = Pipeline(scaled(aws, file_min_bytes=200, file_max_bytes=5000))
    good = records("ok", 5)
    pipeline.land("2026-03-02", "good.ndjson", good)
    pipeline.land("2026-03-02", "tiny.ndjson", [], body=b'{"a": 1}\n')
    pipeline.land("2026-03-02", "huge.ndjson", records("huge", 100))
    pipeline.land("2026-03-02", "table.ndjson", [], body=b"id,name\n" + b"1,abc\n" * 100)
    pipeline.s3.put_object(Bucket=aws.names.ndjson_input_bucket, Key="landing/ndjson/misc/wrong.ndjson", Body=b'{"a":1}\n' * 100)
    pipeline.tick()
    quarantined = {i["file_key"]: i for i in pipeline.tracking.files_in_state("quarantined")}
    assert set(quarantined) == {"tiny.ndjson", "huge.ndjson", "table.ndjson", "/landing/ndjson/misc/wrong.ndjson"}
    assert "too small" in quarantined["tiny.ndjson"]["reason"]
    assert "too large" in quarantined["huge.ndjson"]["reason"]
    assert "not NDJSON" in quarantined["table.ndjson"]["reason"]
    assert "YYYY-MM-DD" in quarantined["/landing/ndjson/misc/wrong.ndjson"]["reason"]
    for item in quarantined.values():
        key = item["quarantine_path"].split("/", 3)[3]
        head = pipeline.s3.head_object(Bucket=aws.names.quarantine_bucket, Key=key)
        assert head["Metadata"]["quarantine-reason"] == item["reason"]
    landed = pipeline.s3.list_objects_v2(Bucket=aws.names.ndjson_input_bucket)["Contents"]
    assert [o["Key"] for o in landed] == ["landing/ndjson/2026-03-02/good.ndjson"]  # moved, nothing lost
    assert [f.file_key for f in pipeline.tracking.pending_files("2026-03-02")] == ["good.ndjson"]


def test_poison_messages_reach_the_dlq_after_three_receives(aws):
    pipeline = Pipeline(scaled(aws, sqs_visibility_seconds=0))
    pipeline.resources["file_events_queue"].send("this is not an S3 event")
    for _ in range(4):
        pipeline.tick()
    dlq = SqsQueue(connection=pipeline.resources["aws"], queue_name=aws.names.file_events_dlq)
    assert [m.body for m in dlq.receive(wait_seconds=1)] == ["this is not an S3 event"]


def test_concurrent_claimers_never_share_a_file(aws):
    pipeline = Pipeline(scaled(aws))
    tracking = pipeline.tracking
    files = [PendingFile("2026-03-03", f"c-{i:03d}.ndjson", 1000, float(i), f"s3://b/c-{i}", shard=i % 10) for i in range(60)]
    for f in files:
        tracking.put({"date_prefix": f.date_prefix, "file_key": f.file_key, "status": f"pending#{f.shard}", "shard_id": f.shard,
                      "size": f.size, "first_seen_epoch": f.first_seen, "file_path": f.s3_uri})
    won: dict[str, list[str]] = {}
    barrier = threading.Barrier(4)

    def claimer(name: str) -> None:
        barrier.wait()
        won[name] = [f.file_key for f in files if tracking.claim(f, name)]

    threads = [threading.Thread(target=claimer, args=(f"batch-000{n}-20260303-000000",)) for n in range(1, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    claimed = [key for keys in won.values() for key in keys]
    assert sorted(claimed) == sorted(f.file_key for f in files)  # every file claimed exactly once
    for name, keys in won.items():
        assert sorted(i["file_key"] for i in tracking.files_of_manifest(name)) == sorted(keys)


def test_failed_manifest_alerts_and_replays_without_duplicates(aws):
    pipeline = Pipeline(scaled(aws, manifest_max_files=3))
    for i in range(3):
        pipeline.land("2026-03-04", f"r-{i}.ndjson", records(f"r{i}", 6))
    [request] = pipeline.tick().run_requests
    manifest = manifest_id_of(request)
    # The output bucket is gone (a misconfigured account): the run must fail cleanly.
    pipeline.s3.delete_bucket(Bucket=aws.names.parquet_output_bucket)
    assert not pipeline.run(manifest).success
    assert pipeline.tracking.manifest(manifest)["status"] == "failed"
    files = pipeline.tracking.files_of_manifest(manifest)
    assert sorted(i["status"].split("#")[0] for i in files) == ["failed"] * 3
    assert all("ttl" not in i for i in files + [pipeline.tracking.manifest(manifest)])  # a failure waits for its replay
    inbox = SqsQueue(connection=pipeline.resources["aws"], queue_name=aws.names.alerts_inbox_queue)
    [alert] = inbox.receive(wait_seconds=2)
    alert = json.loads(alert.body)
    assert (alert["manifest_id"], alert["date_prefix"], alert["file_count"]) == (manifest, "2026-03-04", 3)
    assert "NoSuchBucket" in alert["error"]
    metrics = pipeline.resources["metrics_table"].get({"date_prefix": "2026-03-04", "manifest_id": manifest})
    assert metrics["status"] == "failed"

    # Replay: the bucket is back (the operator re-applied the template); the same manifest runs again.
    provision(aws)
    assert pipeline.run(manifest).success
    assert pipeline.run(manifest).success  # and once more: still no duplicates
    rows = pipeline.output_rows("2026-03-04")
    assert len(rows) == 18 and len({r["id"] for r in rows}) == 18
    files = pipeline.tracking.files_of_manifest(manifest)
    assert sorted(i["status"].split("#")[0] for i in files) == ["completed"] * 3
    assert all("error" not in i and i["ttl"] > time.time() for i in files)  # a replayed file drops its old error
    assert pipeline.tracking.breaker().consecutive_failures == 0
    metrics = pipeline.resources["metrics_table"].get({"date_prefix": "2026-03-04", "manifest_id": manifest})
    assert (metrics["status"], metrics["rows_out"], metrics["files"]) == ("completed", 18, 3)


def test_reuploads_supersede_files_not_ingested_and_never_duplicate_ingested_ones(aws):
    pipeline = Pipeline(scaled(aws, manifest_max_files=3))
    day = "2026-03-06"
    # a quarantined file fixed and uploaded again under its name is ingested
    pipeline.land(day, "fixed.ndjson", [], body=b'{"a": 1}\n')
    pipeline.tick()
    assert pipeline.tracking.file(day, "fixed.ndjson")["status"] == "quarantined"
    pipeline.land(day, "fixed.ndjson", records("fixed", 5))
    # a pending file replaced before any manifest claimed it: only the new content counts
    pipeline.land(day, "redo.ndjson", records("old", 4))
    pipeline.tick()
    pipeline.land(day, "redo.ndjson", records("new", 6))
    pipeline.land(day, "third.ndjson", records("third", 2))
    results = pipeline.drain()
    assert list(results.values()) == [True]
    redo_versions = pipeline.s3.list_object_versions(Bucket=aws.names.ndjson_input_bucket,
                                                     Prefix=f"landing/ndjson/{day}/redo.ndjson")["Versions"]
    assert [v["VersionId"] for v in redo_versions] == [pipeline.tracking.file(day, "redo.ndjson")["version_id"]]  # the replaced one is gone
    for name, superseded in (("fixed.ndjson", "quarantined"), ("redo.ndjson", "pending#")):
        item = pipeline.tracking.file(day, name)
        assert item["status"].startswith("completed#") and item["superseded_status"].startswith(superseded)
    ids = sorted(r["id"] for r in pipeline.output_rows(day))
    assert ids == sorted([f"fixed-{i}" for i in range(5)] + [f"new-{i}" for i in range(6)]
                         + ["third-0", "third-1"])

    # new content under the key of an ingested file is quarantined with the reason, not ingested
    key = pipeline.land(day, "redo.ndjson", records("newer", 3))
    etag = pipeline.s3.head_object(Bucket=aws.names.ndjson_input_bucket, Key=key)["ETag"].strip('"')
    assert pipeline.drain() == {}
    conflict = pipeline.tracking.file(day, f"redo.ndjson#reupload-{etag}")
    assert conflict["status"] == "quarantined" and "write-once" in conflict["reason"]
    assert "already completed by manifest" in conflict["reason"]
    head = pipeline.s3.head_object(Bucket=aws.names.quarantine_bucket, Key=f"{key}.reupload-{etag}")
    assert head["Metadata"]["quarantine-reason"] == conflict["reason"]
    # only the re-uploaded version left landing: the key shows the ingested content again
    ingested = pipeline.tracking.file(day, "redo.ndjson")
    assert pipeline.s3.head_object(Bucket=aws.names.ndjson_input_bucket, Key=key)["ETag"].strip('"') == ingested["etag"]
    assert sorted(r["id"] for r in pipeline.output_rows(day)) == ids          # nothing twice
    assert pipeline.tracking.file(day, "redo.ndjson")["status"].startswith("completed#")


def _claimed_manifest(pipeline, day, prefix):
    """Three files of 5 records on `day`, tracked and minted into one manifest; its id."""
    for i in range(3):
        pipeline.land(day, f"{prefix}-{i}.ndjson", records(f"{prefix}{i}", 5))
    [request] = pipeline.tick().run_requests
    return manifest_id_of(request)


def test_a_file_overwritten_after_its_claim_is_ingested_as_claimed(aws):
    """The landing bucket is versioned and the manifest pins each file's version: an
    overwrite after the claim loses nothing, and the new content is a quarantined re-upload."""
    pipeline, day = Pipeline(scaled(aws, manifest_max_files=3)), "2026-03-07"
    manifest = _claimed_manifest(pipeline, day, "o")
    # overwritten between the sensor's tracking write and the run
    new_key = pipeline.land(day, "o-1.ndjson", records("new", 7))
    new_body = pipeline.s3.get_object(Bucket=aws.names.ndjson_input_bucket, Key=new_key)["Body"].read()
    expected = sorted(f"o{i}-{n}" for i in range(3) for n in range(5))

    assert pipeline.run(manifest).success
    assert sorted(r["id"] for r in pipeline.output_rows(day)) == expected  # the claimed content, once
    record = pipeline.tracking.manifest(manifest)
    assert (record["status"], record["file_count"], record.get("excluded_files")) == ("completed", 3, None)
    pipeline.tick()  # the overwrite's own event: the new content goes to quarantine as a re-upload
    [conflict] = pipeline.tracking.reuploads(day, "o-1.ndjson")
    bucket, key = conflict["quarantine_path"].removeprefix("s3://").split("/", 1)
    assert pipeline.s3.get_object(Bucket=bucket, Key=key)["Body"].read() == new_body
    assert pipeline.run(manifest).success  # a replay after all that: the same rows
    assert sorted(r["id"] for r in pipeline.output_rows(day)) == expected


def test_a_claimed_version_deleted_for_good_is_left_out_and_nothing_else_is_lost(aws):
    pipeline, day = Pipeline(scaled(aws, manifest_max_files=3)), "2026-03-09"
    manifest = _claimed_manifest(pipeline, day, "d")
    lost = pipeline.tracking.file(day, "d-1.ndjson")
    pipeline.s3.delete_object(Bucket=aws.names.ndjson_input_bucket, Key=f"landing/ndjson/{day}/d-1.ndjson",
                              VersionId=lost["version_id"])
    expected = sorted(f"d{i}-{n}" for i in (0, 2) for n in range(5))
    for _ in range(2):  # the run, then a replay
        assert pipeline.run(manifest).success
        assert sorted(r["id"] for r in pipeline.output_rows(day)) == expected
        record = pipeline.tracking.manifest(manifest)
        assert (record["status"], record["file_count"], record["excluded_files"]) == ("completed", 2, ["d-1.ndjson"])
        left_out = pipeline.tracking.file(day, "d-1.ndjson")
        assert left_out["status"].startswith("failed#") and lost["version_id"] in left_out["error"]
        inbox = SqsQueue(connection=pipeline.resources["aws"], queue_name=aws.names.alerts_inbox_queue)
        [alert] = inbox.receive(wait_seconds=2)
        assert json.loads(alert.body)["excluded_files"] == {"d-1.ndjson": left_out["error"]}


def test_the_arrow_engine_reads_only_the_claimed_content(aws):
    from etl_platform.pipelines.ndjson_to_parquet.engines import run_arrow

    pipeline = Pipeline(scaled(aws))
    key = pipeline.land("2026-03-08", "late.ndjson", records("late", 3))
    first = pipeline.s3.head_object(Bucket=aws.names.ndjson_input_bucket, Key=key)
    pipeline.land("2026-03-08", "late.ndjson", records("later", 4))
    uri = f"s3://{aws.names.ndjson_input_bucket}/{key}"

    class Log:
        def info(self, message):
            pass

        warning = info

    def convert(entry):
        document = {"manifest_id": "batch-0001-20260308-000000", "files": [{"s3_uri": uri, "file_key": "late.ndjson", **entry}]}
        return run_arrow(pipeline.s3, document, output_bucket=aws.names.parquet_output_bucket, mode="string", log=Log())

    # by version: the claimed content although the key was overwritten since
    assert convert({"size": 10, "etag": first["ETag"].strip('"'), "version_id": first["VersionId"]})["rows_out"] == 3
    assert sorted(r["id"] for r in pipeline.output_rows("2026-03-08")) == [f"late-{i}" for i in range(3)]
    # without a version (an unversioned bucket): the claimed ETag or nothing
    try:
        convert({"size": 10, "etag": first["ETag"].strip('"')})
    except RuntimeError as exc:
        assert "was overwritten after it was claimed" in str(exc)
    else:
        raise AssertionError("read bytes that are not the claimed content")


def test_an_event_arriving_after_a_newer_versions_event_changes_nothing(aws):
    """S3 events arrive in any order. With AWS's events (they name the version), the event of
    a version written over since must not replace the newer version the validator tracked."""
    pipeline = Pipeline(scaled(aws, manifest_max_files=1))
    queue = pipeline.resources["file_events_queue"]
    bucket, key = aws.names.ndjson_input_bucket, "landing/ndjson/2026-03-10/late.ndjson"
    versions = []
    for tag, count in (("old", 3), ("new", 4)):
        pipeline.land("2026-03-10", "late.ndjson", records(tag, count))
        head = pipeline.s3.head_object(Bucket=bucket, Key=key)
        versions.append((head["VersionId"], head["ETag"].strip('"'), head["ContentLength"]))
    moto_events = queue.receive(max_messages=10, wait_seconds=1)
    queue.delete([m.receipt_handle for m in moto_events])  # replaced by AWS-shaped ones, newest first
    for version_id, etag, size in reversed(versions):
        queue.send({"Records": [{"eventName": "ObjectCreated:Put", "eventTime": "2026-03-10T00:00:00.000Z",
                                 "s3": {"bucket": {"name": bucket}, "object": {
                                     "key": key, "size": size, "eTag": etag, "versionId": version_id}}}]})
    assert list(pipeline.drain().values()) == [True]
    tracked = pipeline.tracking.file("2026-03-10", "late.ndjson")
    assert (tracked["version_id"], tracked["etag"]) == versions[1][:2]
    assert sorted(r["id"] for r in pipeline.output_rows("2026-03-10")) == [f"new-{i}" for i in range(4)]
