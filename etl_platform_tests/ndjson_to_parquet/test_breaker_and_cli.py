"""The circuit breaker, and the operator CLI (`etl-platform ingest ...`)."""

import json
import subprocess

from etl_platform.local.provision import provision
from etl_platform_tests.helpers import VENV_BIN, cli_env
from etl_platform_tests.ndjson_to_parquet.harness import Pipeline, records, scaled, manifest_id_of


def _cli(aws, tmp_path, *args):
    env = cli_env(aws.state_dir, ETL_ENDPOINT_URL=aws.endpoint_url, DAGSTER_HOME=str(tmp_path),
                  ETL_CIRCUIT_BREAKER_FAILURES="2")
    return subprocess.run([str(VENV_BIN / "etl-platform"), "ingest", *args], env=env, capture_output=True, text=True, timeout=300)


def _fail_one(pipeline, name):
    """A manifest whose run fails: the output bucket is missing (a misconfigured account)."""
    pipeline.land("2026-04-01", name, records(name, 4))
    [request] = pipeline.tick().run_requests
    assert not pipeline.run(manifest_id_of(request)).success
    return manifest_id_of(request)


def test_breaker_opens_after_k_failures_and_resets_by_cli(aws, tmp_path):
    pipeline = Pipeline(scaled(aws, manifest_max_files=1, circuit_breaker_failures=2, circuit_breaker_cooldown_seconds=3600))
    pipeline.s3.delete_bucket(Bucket=aws.names.parquet_output_bucket)
    first = _fail_one(pipeline, "b-0.ndjson")
    _fail_one(pipeline, "b-1.ndjson")
    provision(aws)  # the operator fixes the account
    assert pipeline.tracking.breaker().consecutive_failures == 2

    pipeline.land("2026-04-01", "b-2.ndjson", records("b2", 4))
    tick = pipeline.tick()
    assert tick.run_requests == [] and "circuit breaker open" in tick.skip_reason
    assert [f.file_key for f in pipeline.tracking.pending_files("2026-04-01")] == ["b-2.ndjson"]  # still ingested

    status = _cli(aws, tmp_path, "status")
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert "circuit breaker open" in report["circuit_breaker"]["blocking"] and report["failed_files"] == 2

    reset = _cli(aws, tmp_path, "reset-breaker")
    assert reset.returncode == 0 and "was 2 consecutive failures" in reset.stdout
    [request] = pipeline.tick().run_requests
    assert pipeline.run(manifest_id_of(request)).success

    # Replay the first failed manifest from the CLI.
    replay = _cli(aws, tmp_path, "replay", first)
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert pipeline.tracking.manifest(first)["status"] == "completed"
    assert len([r for r in pipeline.output_rows("2026-04-01") if r["id"].startswith("b-0.ndjson")]) == 4
    assert _cli(aws, tmp_path, "replay", "batch-9999-20260401-000000").returncode != 0


def test_dead_letters_can_be_redriven(aws, tmp_path):
    pipeline = Pipeline(scaled(aws, sqs_visibility_seconds=0))
    key = pipeline.land("2026-04-02", "x.ndjson", records("x", 5))
    received = pipeline.resources["file_events_queue"].receive(wait_seconds=1)
    event = [m for m in received if "x.ndjson" in m.body]
    assert len(event) == 1  # the S3 notification, taken out of the queue by hand...
    from etl_platform.resources.sqs import SqsQueue

    dlq = SqsQueue(connection=pipeline.resources["aws"], queue_name=aws.names.file_events_dlq)
    dlq.send(event[0].body)  # ...and dead-lettered
    pipeline.resources["file_events_queue"].delete([m.receipt_handle for m in received])
    moved = _cli(aws, tmp_path, "redrive-dlq")
    assert moved.returncode == 0 and moved.stdout.startswith("1 messages")
    pipeline.tick()
    assert [f.file_key for f in pipeline.tracking.pending_files("2026-04-02")] == ["x.ndjson"]
    assert key.endswith("x.ndjson")
