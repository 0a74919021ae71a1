"""Pipeline B's reconciliation: landed files whose S3 events were lost are found, handed to the
validator once and ingested exactly once; ingested files are never handed over again; the
DLQ's depth shows as a WARN check and `redrive-dlq --dry-run` moves nothing."""

import subprocess
import time
from datetime import datetime, timezone

import pytest
from dagster import AssetCheckSeverity

from etl_platform.core.ingestion.landing import INGESTED_TAG
from etl_platform.pipelines.ndjson_to_parquet.reconciliation import reconcile_landing
from etl_platform.pipelines.ndjson_to_parquet.validation import validator_for
from etl_platform_tests.helpers import VENV_BIN, cli_env, execute_landing_reconciled, reconcile as reconcile_pass
from etl_platform_tests.ndjson_to_parquet.harness import Pipeline, records, scaled

pytestmark = pytest.mark.e2e


def today() -> str:
    return datetime.now(timezone.utc).date().isoformat()


def reconciling(aws, **ingestion):
    """Pipeline B whose reconciliation takes files at once (no grace for their events)."""
    return Pipeline(scaled(aws, **ingestion).with_overrides(reconcile_grace_seconds=0))


def reconcile(pipeline):
    """One pass of the reconciliation sensor: (observation metadata, check evaluation)."""
    _, metadata, check = reconcile_pass(pipeline.defs, pipeline.instance, "ndjson_landing_reconciliation",
                                        ("tracking_table", "s3", "metrics_table"), "ndjson_landing_files")
    return metadata, check


def lose_events(pipeline) -> list[str]:
    """Delete every S3 event waiting in the file-events queue, as if S3 never sent them; their bodies."""
    queue, bodies = pipeline.resources["file_events_queue"], []
    while messages := queue.receive(max_messages=10, wait_seconds=1):
        bodies += [m.body for m in messages]
        queue.delete([m.receipt_handle for m in messages])
    return bodies


def statuses(pipeline, day):
    items = pipeline.tracking.query(key_condition="date_prefix = :d", values={":d": day}, consistent=True)
    return {i["file_key"]: i["status"].partition("#")[0] for i in items if "shard_id" in i or i.get("status") == "quarantined"}


def test_files_whose_events_were_deleted_are_recovered_and_ingested_exactly_once(aws):
    pipeline, day = reconciling(aws, manifest_max_files=3), today()
    for i in range(2):  # delivered as usual
        pipeline.land(day, f"seen-{i}.ndjson", records(f"seen{i}", 4))
    pipeline.tick()
    for i in range(4):  # their events never arrive
        pipeline.land(day, f"lost-{i}.ndjson", records(f"lost{i}", 5))
    pipeline.land(day, "lost-tiny.ndjson", [], body=b'{"a": 1}\n')
    lost = [body for body in lose_events(pipeline) if "lost-" in body]
    assert len(lost) == 5

    recovered = [f"landing/ndjson/{day}/lost-{i}.ndjson" for i in range(4)] + [f"landing/ndjson/{day}/lost-tiny.ndjson"]
    # the check executed by hand (the UI's "Execute"): what is untracked now, handed over to nothing
    by_hand = execute_landing_reconciled(pipeline.defs, pipeline.instance, "ndjson_landing_files")
    assert (by_hand.passed, sorted(by_hand.metadata["untracked_keys"].value)) == (False, sorted(recovered))
    assert pipeline.tracking.file(day, "lost-0.ndjson") is None

    metadata, check = reconcile(pipeline)
    assert (metadata["listed"], metadata["recovered"]) == (7, 5)
    assert metadata["outcomes"] == {"tracked": 4, "quarantined": 1}
    assert (check.passed, check.severity) == (False, AssetCheckSeverity.WARN)
    assert sorted(check.metadata["recovered_keys"].value) == sorted(recovered)
    metric = pipeline.resources["metrics_table"].query(
        key_condition="date_prefix = :d AND begins_with(manifest_id, :r)", values={":d": day, ":r": "RECONCILIATION#"})
    assert [(m["recovered"], m["listed"]) for m in metric] == [(5, 7)]

    # the lost events turn up after all (at-least-once): duplicates, nothing tracked twice
    for body in lost:
        pipeline.resources["file_events_queue"].send(body)
    results = pipeline.drain()
    assert len(results) == 2 and all(results.values())
    ids = [r["id"] for r in pipeline.output_rows(day)]
    expected = [f"seen{i}-{n}" for i in range(2) for n in range(4)] + [f"lost{i}-{n}" for i in range(4) for n in range(5)]
    assert sorted(ids) == sorted(expected)  # every row, exactly once
    assert statuses(pipeline, day) == {**{f"seen-{i}.ndjson": "completed" for i in range(2)},
                                       **{f"lost-{i}.ndjson": "completed" for i in range(4)},
                                       "lost-tiny.ndjson": "quarantined"}

    metadata, check = reconcile(pipeline)  # a second pass finds nothing to recover
    assert (metadata["recovered"], check.passed) == (0, True)
    assert metadata["listed"] == 6  # the quarantined file left landing


def test_new_content_under_an_ingested_key_whose_event_was_lost_is_quarantined_not_ingested(aws):
    pipeline, day = reconciling(aws, manifest_max_files=1), today()
    pipeline.land(day, "same.ndjson", records("first", 3))
    assert all(pipeline.drain().values())
    key = pipeline.land(day, "same.ndjson", records("second", 4))
    etag = pipeline.s3.head_object(Bucket=aws.names.ndjson_input_bucket, Key=key)["ETag"].strip('"')
    lose_events(pipeline)

    metadata, check = reconcile(pipeline)
    assert (metadata["recovered"], metadata["outcomes"], check.passed) == (1, {"quarantined": 1}, False)
    assert pipeline.tracking.file(day, f"same.ndjson#reupload-{etag}")["status"] == "quarantined"
    assert pipeline.drain() == {}
    assert sorted(r["id"] for r in pipeline.output_rows(day)) == [f"first-{n}" for n in range(3)]
    assert reconcile(pipeline)[0]["recovered"] == 0


def test_a_version_a_run_ingested_is_never_handed_over_again(aws):
    """Its record gone (expired while S3's lifecycle, which runs days late, has not removed the
    tagged version yet): the `ingestion=completed` tag alone keeps it from a second ingestion."""
    pipeline, day = reconciling(aws, manifest_max_files=2), today()
    for i in range(2):
        pipeline.land(day, f"done-{i}.ndjson", records(f"done{i}", 3))
    assert list(pipeline.drain().values()) == [True]
    pipeline.resources["aws"].client("dynamodb").delete_item(
        TableName=aws.names.tracking_table, Key={"date_prefix": {"S": day}, "file_key": {"S": "done-0.ndjson"}})

    metadata, check = reconcile(pipeline)
    assert (metadata["recovered"], metadata["skipped_ingested"], check.passed) == (0, 1, True)
    assert pipeline.tracking.file(day, "done-0.ndjson") is None
    assert pipeline.drain() == {}
    assert len(pipeline.output_rows(day)) == 6


def test_an_ingested_file_whose_tracking_expired_is_not_reingested(aws, emulator_clock):
    pipeline, day = reconciling(aws, manifest_max_files=2), today()
    keys = [pipeline.land(day, f"old-{i}.ndjson", records(f"old{i}", 3)) for i in range(2)]
    assert list(pipeline.drain().values()) == [True]
    # a run could not tag one of them (best effort): lifecycle never expires that version
    bucket = aws.names.ndjson_input_bucket
    untagged = pipeline.tracking.file(day, "old-1.ndjson")
    pipeline.s3.delete_object_tagging(Bucket=bucket, Key=keys[1], VersionId=untagged["version_id"])

    emulator_clock.advance(days=31)  # the records' ttl; the tagged version gets its delete marker
    emulator_clock.advance(days=2)   # and its noncurrent day passes
    emulator_clock.sweep()
    assert pipeline.tracking.file(day, "old-0.ndjson") is None and pipeline.tracking.file(day, "old-1.ndjson") is None
    remaining = pipeline.s3.list_object_versions(Bucket=bucket, Prefix=f"landing/ndjson/{day}/").get("Versions", [])
    assert [v["Key"] for v in remaining] == [keys[1]]  # the untagged, ingested version stays

    handler = validator_for(pipeline.settings, pipeline.tracking, pipeline.s3)
    report = reconcile_landing(pipeline.s3, pipeline.tracking, handler, pipeline.settings, now=emulator_clock.now())
    assert (report.recovered, report.errors) == ([], {})
    emulator_clock.back_to_real_time()
    assert pipeline.tracking.file(day, "old-1.ndjson") is None
    assert pipeline.drain() == {}
    assert sorted(r["id"] for r in pipeline.output_rows(day)) == sorted(f"old{i}-{n}" for i in range(2) for n in range(3))


def _dead_letter(pipeline, aws):
    """The S3 event of a landed file, taken out of the file-events queue and dead-lettered."""
    key = pipeline.land(today(), "dead.ndjson", records("dead", 3))
    [body] = [b for b in lose_events(pipeline) if "dead.ndjson" in b]
    pipeline.resources["dead_letter_queue"].send(body)
    return key


def test_the_dead_letter_queue_check_warns_with_its_depth_and_keys(aws):
    pipeline = reconciling(aws)
    job = pipeline.defs.resolve_job_def("ndjson_dead_letters_job")
    [empty] = job.execute_in_process(instance=pipeline.instance).get_asset_check_evaluations()
    assert (empty.check_name, empty.passed) == ("dead_letter_queue", True)

    key = _dead_letter(pipeline, aws)
    [check] = job.execute_in_process(instance=pipeline.instance).get_asset_check_evaluations()
    assert (check.passed, check.severity, check.metadata["depth"].value) == (False, AssetCheckSeverity.WARN, 1)
    assert [m["object_keys"] for m in check.metadata["sample"].value] == [[key]]
    dlq = pipeline.resources["dead_letter_queue"]
    assert dlq.approximate_depth() == {"visible": 1, "in_flight": 0}  # looked at, left in place


def test_redrive_dlq_dry_run_lists_what_would_move_and_moves_nothing(aws, tmp_path):
    pipeline = reconciling(aws)
    key = _dead_letter(pipeline, aws)
    pipeline.resources["dead_letter_queue"].send("not an S3 event")
    env = cli_env(aws.state_dir, ETL_ENDPOINT_URL=aws.endpoint_url, DAGSTER_HOME=str(tmp_path))

    def cli(*args):
        return subprocess.run([str(VENV_BIN / "etl-platform"), "ingest", "redrive-dlq", *args], env=env,
                              capture_output=True, text=True, timeout=300)

    for _ in range(2):  # twice: the first look released every message again
        dry = cli("--dry-run")
        assert dry.returncode == 0, dry.stderr
        lines = dry.stdout.splitlines()
        assert lines[-1] == "2 messages would move back (dry run: nothing moved)"
        assert sum(line.endswith(f"  {key}") for line in lines) == 1
        assert sum("(not an S3 event" in line for line in lines) == 1
        dlq, queue = pipeline.resources["dead_letter_queue"], pipeline.resources["file_events_queue"]
        assert dlq.approximate_depth() == {"visible": 2, "in_flight": 0}
        assert queue.approximate_depth() == {"visible": 0, "in_flight": 0}
    moved = cli()
    assert moved.returncode == 0 and moved.stdout.startswith("2 messages moved back")
    pipeline.tick()
    assert [f.file_key for f in pipeline.tracking.pending_files(today())] == ["dead.ndjson"]
