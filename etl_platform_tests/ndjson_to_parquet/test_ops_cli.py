"""The state manager's commands (`etl-platform ops ...`), run as an operator runs them: the
real CLI in a subprocess, against the embedded AWS and a Dagster instance on disk, on state
the pipeline itself left (pending files, a run interrupted mid-conversion, failed files)."""

import json
import subprocess
from dataclasses import replace

import pytest
from dagster import DagsterInstance

from etl_platform.local import emulator
from etl_platform.local.request_counts import dynamodb_totals
from etl_platform.core.ingestion.landing import Placement
from etl_platform.pipelines.ndjson_to_parquet.assets import ENGINE_TAG
from etl_platform.pipelines.ndjson_to_parquet.maintenance import health
from etl_platform.resources.sqs import SqsQueue
from etl_platform_tests.helpers import VENV_BIN, cli_env
from etl_platform_tests.ndjson_to_parquet.harness import Pipeline, manifest_id_of, records, scaled
from etl_platform_tests.ndjson_to_parquet.test_settlement import InterruptedGlue

pytestmark = pytest.mark.e2e


def _ops(aws, home, *args, **env):
    environ = cli_env(aws.state_dir, ETL_ENDPOINT_URL=aws.endpoint_url, DAGSTER_HOME=str(home), **env)
    return subprocess.run([str(VENV_BIN / "etl-platform"), "ops", *args], env=environ, capture_output=True, text=True,
                          timeout=300)


def test_health_shows_pending_files_per_date_and_shard_and_the_dead_letters(aws, tmp_path):
    pipeline = Pipeline(scaled(aws, manifest_max_files=50))
    for i in range(4):
        pipeline.land("2026-05-01", f"p-{i}.ndjson", records(f"p{i}", 4))
    pipeline.land("2026-05-02", "q-0.ndjson", records("q0", 4))
    assert pipeline.tick().run_requests == []  # tracked pending, below every threshold
    pending = pipeline.tracking.pending_files()
    assert len(pending) == 5

    healthy = _ops(aws, tmp_path, "health")
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    lines = healthy.stdout.splitlines()
    assert lines[0] == "pipeline B health: healthy"
    assert "pending files: 5" in lines
    assert any(line.startswith("  2026-05-01       4 files") and "oldest" in line for line in lines), healthy.stdout
    assert any(line.startswith("  2026-05-02       1 files") for line in lines), healthy.stdout
    shards = {f.shard for f in pending if f.date_prefix == "2026-05-01"}
    for shard in shards:  # every shard holding a file of the date has its line, with its age
        assert any(line.startswith(f"    shard {shard} ") and "oldest" in line for line in lines), healthy.stdout
    assert "dead-letter queue: 0" in lines and any(line.startswith("circuit breaker: closed") for line in lines)

    SqsQueue(connection=pipeline.resources["aws"], queue_name=aws.names.file_events_dlq).send({"Records": []})
    unhealthy = _ops(aws, tmp_path, "health", "--json")
    assert unhealthy.returncode == 1, unhealthy.stdout + unhealthy.stderr
    report = json.loads(unhealthy.stdout)
    assert not report["healthy"] and [p["code"] for p in report["problems"]] == ["dead_letters"]
    assert report["figures"]["pending_files"] == 5 and report["figures"]["dead_letters"] == 1
    assert report["figures"]["pending_dates"] == 2

    aged = _ops(aws, tmp_path, "health", ETL_HEALTH_PENDING_AGE_SECONDS="0")  # every pending file is now too old
    assert aged.returncode == 1 and "ERROR stale_pending" in aged.stdout and "2026-05-01, 2026-05-02" in aged.stdout


def test_health_reads_a_bounded_number_of_items_however_many_files_wait(aws, tmp_path):
    """Per date and shard one query of at most `per_shard_read_limit` items: a backlog ten
    times larger costs the same requests and no more than shards x limit items."""
    settings = aws.with_overrides(health=replace(aws.health, per_shard_read_limit=5))
    tracking = Pipeline(settings).tracking

    def seed(start, count):
        for i in range(start, start + count):
            tracking.track_pending(Placement("2026-05-03", f"f-{i:04d}.ndjson"), shard=i % 10, size=1000, etag=f"e{i}",
                                   s3_uri=f"s3://b/landing/ndjson/2026-05-03/f-{i:04d}.ndjson")

    def cost():
        emulator.request_counts(aws.endpoint_url, reset=True)
        snapshot, _ = health(settings, DagsterInstance.ephemeral())
        return snapshot, dynamodb_totals(emulator.request_counts(aws.endpoint_url, reset=True))

    seed(0, 30)
    small, small_cost = cost()
    seed(30, 270)
    large, large_cost = cost()
    assert sum(s.files for s in small.backlog) == 30 and not any(s.truncated for s in small.backlog)
    assert sum(s.files for s in large.backlog) == 50 and all(s.truncated for s in large.backlog)  # 5 read per shard
    assert large_cost["requests"] == small_cost["requests"]
    assert large_cost["items_read"] <= 10 * 5 + 20, large_cost  # 10 shards x 5, plus the dates' skip scan


def test_ingest_status_reads_a_bounded_number_of_items_however_many_files_wait_failed_or_quarantined(aws):
    """`ingest status` counts with the health check's bounded reads: past the limit a count is
    `N+`, and ten times more pending, failed and quarantined files read no more items than
    the shards' limits allow (the whole-table reads it replaced read every one)."""
    from etl_platform.pipelines.ndjson_to_parquet.operations import status

    settings = aws.with_overrides(health=replace(aws.health, per_shard_read_limit=5))
    tracking = Pipeline(settings).tracking

    def seed(start, count):
        for i in range(start, start + count):
            name, shard = f"f-{i:04d}.ndjson", i % 10
            tracking.track_pending(Placement("2026-05-05", name), shard=shard, size=1000, etag=f"e{i}",
                                   s3_uri=f"s3://b/landing/ndjson/2026-05-05/{name}")
            tracking.track_quarantined(Placement("2026-05-06", f"q-{i:04d}.json"), reason="wrong suffix", size=10,
                                       etag=f"q{i}", source_uri=f"s3://b/landing/ndjson/2026-05-06/q-{i:04d}.json",
                                       quarantine_uri=f"s3://b/quarantine/q-{i:04d}.json")
            tracking.put({"date_prefix": "2026-05-04", "file_key": name, "status": f"failed#{shard}", "shard_id": shard,
                          "manifest_id": "batch-0001-20260504-000000", "size": 1000, "error": "bad"})

    def cost():
        emulator.request_counts(aws.endpoint_url, reset=True)
        report = status(settings, 0.0)
        return report, dynamodb_totals(emulator.request_counts(aws.endpoint_url, reset=True))

    seed(0, 4)
    small, _ = cost()
    assert (small["pending_files_by_date"], small["quarantined_files"], small["failed_files"]) == ({"2026-05-05": 4}, 4, 4)
    assert len(small["latest_quarantined"]) == 4 and small["latest_quarantined"][0]["reason"] == "wrong suffix"
    seed(4, 296)
    large, large_cost = cost()
    assert large["pending_files_by_date"] == {"2026-05-05": "50+"}  # 10 shards x 5 read
    assert (large["quarantined_files"], large["failed_files"]) == ("5+", "50+")
    assert len(large["latest_quarantined"]) == 5
    # pending and failed: 10 shards x 5 each; quarantined 5 + 1; the dates' skip scan and the breaker
    assert large_cost["items_read"] <= 2 * 10 * 5 + 6 + 20, large_cost


def _interrupted_run(aws, home):
    """A manifest whose run was interrupted mid-conversion, recorded in the instance under
    `home`: MANIFEST processing, its files manifested, its run FAILURE."""
    settings = scaled(aws, manifest_max_files=3)
    plain = Pipeline(settings)
    pipeline = Pipeline(settings, glue=InterruptedGlue(**plain.resources["glue"].__dict__))
    pipeline.instance = DagsterInstance.local_temp(tempdir=str(home))
    for i in range(3):
        pipeline.land("2026-05-04", f"s-{i}.ndjson", records(f"s{i}", 4))
    [request] = pipeline.tick().run_requests
    manifest = manifest_id_of(request)
    assert not pipeline.run(manifest, tags={ENGINE_TAG: "spark"}).success
    assert pipeline.tracking.manifest(manifest)["status"] == "processing"
    return plain, pipeline, manifest


def test_a_stuck_manifest_is_reset_through_settlement_and_its_failed_files_requeued(aws, tmp_path):
    plain, pipeline, manifest = _interrupted_run(aws, tmp_path)
    stuck_now = {"ETL_HEALTH_STUCK_MANIFEST_SECONDS": "0"}  # no waiting in a test: unchanged for 0 s is stuck

    report = _ops(aws, tmp_path, "health", **stuck_now)
    assert report.returncode == 1 and "ERROR stuck_manifests" in report.stdout, report.stdout + report.stderr
    assert f"  STUCK {manifest}  processing" in report.stdout and "its run ended FAILURE" in report.stdout
    shown = _ops(aws, tmp_path, "manifest", manifest)
    assert shown.returncode == 0 and "files: 3 (3 manifested)" in shown.stdout, shown.stdout + shown.stderr

    dry = _ops(aws, tmp_path, "reset-stuck", "--dry-run", **stuck_now)
    assert dry.returncode == 0 and f"{manifest}: would be failed" in dry.stdout
    assert pipeline.tracking.manifest(manifest)["status"] == "processing"

    reset = _ops(aws, tmp_path, "reset-stuck", **stuck_now)
    assert reset.returncode == 0 and "1 stuck manifest(s) reset" in reset.stdout, reset.stdout + reset.stderr
    # settled as the reaper's give-up settles: MANIFEST and files failed, breaker count, alert
    record = pipeline.tracking.manifest(manifest)
    assert record["status"] == "failed" and "reset by an operator" in record["error"]
    assert {f["status"].split("#")[0] for f in pipeline.tracking.files_of_manifest(manifest)} == {"failed"}
    assert pipeline.tracking.breaker().consecutive_failures == 1
    inbox = SqsQueue(connection=pipeline.resources["aws"], queue_name=aws.names.alerts_inbox_queue)
    alerts = [json.loads(m.body) for m in inbox.receive(max_messages=10, wait_seconds=2)]
    assert [a["manifest_id"] for a in alerts] == [manifest] and "reset by an operator" in alerts[0]["error"]

    listed = _ops(aws, tmp_path, "requeue-failed", "--dry-run")
    assert listed.returncode == 0 and f"{manifest}: failed, 3 failed file(s): would be replayed" in listed.stdout
    requeued = _ops(aws, tmp_path, "requeue-failed", "--date", "2026-05-04")
    assert requeued.returncode == 0, requeued.stdout + requeued.stderr
    assert f"{manifest}: failed, 3 failed file(s): completed" in requeued.stdout
    record = pipeline.tracking.manifest(manifest)
    assert record["status"] == "completed" and record["replayed_epoch"] > 0  # requeue-failed orders by it
    rows = plain.output_rows("2026-05-04")
    assert len(rows) == 12 and len({r["id"] for r in rows}) == 12  # every row once
    shown = _ops(aws, tmp_path, "manifest", manifest, "--json")
    assert json.loads(shown.stdout)["file_states"] == {"completed": 3}
    healthy = _ops(aws, tmp_path, "health")  # nothing open, failed or waiting any more
    assert healthy.returncode == 0 and "open manifests: 0 (none)" in healthy.stdout
    assert "failed manifests waiting for a replay: 0 (none)" in healthy.stdout


def test_an_unknown_or_malformed_manifest_id_is_a_one_line_error(aws, tmp_path):
    for bad, message in (("batch-9999-20260501-000000", "unknown manifest"), ("nope", "not a manifest id")):
        result = _ops(aws, tmp_path, "manifest", bad)
        assert result.returncode == 1 and message in result.stderr and "Traceback" not in result.stderr


def test_requeue_failed_takes_the_least_recently_replayed_first(aws):
    """A manifest that fails at every replay goes to the back: with room for two, the two
    never replayed are taken before one replayed a minute ago, whatever their ids."""
    from etl_platform.pipelines.ndjson_to_parquet.maintenance import requeue_failed

    tracking = Pipeline(aws).tracking
    ids = [f"batch-000{n}-20260507-000000" for n in (1, 2, 3)]
    for manifest in ids:
        tracking.create_manifest(manifest, reason="test")
        tracking.start_manifest(manifest, "run-1")
        assert tracking.fail_manifest(manifest, "run-1", "KeyError: x")
    tracking.update_manifest(ids[0], replayed_epoch=1_000.0)  # as `replay` records it
    tracking.update_manifest(ids[2], replayed_epoch=500.0)
    with DagsterInstance.ephemeral() as instance:
        listed, more = requeue_failed(aws, instance, limit=2, dry_run=True)
    assert [f.manifest_id for f, _ in listed] == [ids[1], ids[2]] and more
