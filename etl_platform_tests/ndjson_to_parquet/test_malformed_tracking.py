"""One malformed tracking item (edited by hand, or left by an older version) neither stops a
sensor tick nor `etl-platform ingest status`: it is skipped with a warning naming its key,
and the sound files beside it are planned and converted as usual."""

import json
import subprocess
import time

from etl_platform_tests.helpers import PROJECT_ROOT, VENV_BIN, cli_env
from etl_platform_tests.ndjson_to_parquet.harness import Pipeline, records, scaled, manifest_id_of

DATE = "2026-03-01"
MALFORMED = {
    # file key -> the item as written by hand (all pending, so the status GSI nominates them)
    "no-size.ndjson": {"status": "pending#1", "shard_id": 1, "first_seen_epoch": 1.0, "file_path": "s3://x/no-size"},
    "odd-shard.ndjson": {"status": "pending#2", "shard_id": "two", "size": 500, "first_seen_epoch": 1.0,
                         "file_path": "s3://x/odd-shard"},
    "no-epoch.ndjson": {"status": "pending#3", "shard_id": 3, "size": 500, "file_path": "s3://x/no-epoch"},
}
REASONS = {"no-size.ndjson": "size missing", "odd-shard.ndjson": "shard_id is not a number: 'two'",
           "no-epoch.ndjson": "first_seen_epoch missing"}


def _put_malformed(pipeline: Pipeline) -> None:
    for key, item in MALFORMED.items():
        pipeline.tracking.put({"date_prefix": DATE, "file_key": key, **item})


def test_a_tick_skips_malformed_pending_items_and_plans_the_rest(aws, capfd):
    pipeline = Pipeline(scaled(aws, manifest_max_files=5))
    expected = set()
    for i in range(5):
        recs = records(f"m{i}", 4)
        pipeline.land(DATE, f"data-{i}.ndjson", recs)
        expected |= {r["id"] for r in recs}
    _put_malformed(pipeline)

    capfd.readouterr()
    tick = pipeline.tick()
    assert [manifest_id_of(r).split("-")[0] for r in tick.run_requests] == ["batch"], tick.skip_reason
    # the tick's log (context.log: what the Dagster UI shows of the tick) names each one
    warnings = [line for line in capfd.readouterr().err.splitlines() if " - WARNING - " in line]
    for key, reason in REASONS.items():
        assert any(f"skipped tracking item {DATE}/{key}: malformed ({reason})" in w for w in warnings), (key, warnings)

    [request] = tick.run_requests
    assert pipeline.run(manifest_id_of(request)).success
    assert sorted(r["id"] for r in pipeline.output_rows(DATE)) == sorted(expected)
    for key in MALFORMED:  # left as they were, for an operator to fix or delete
        assert pipeline.tracking.file(DATE, key)["status"] == MALFORMED[key]["status"]
    assert pipeline.tick().run_requests == []  # and the next tick does not trip over them either


def test_ingest_status_names_the_malformed_items(aws, tmp_path):
    pipeline = Pipeline(scaled(aws))
    pipeline.land(DATE, "good.ndjson", records("g", 3))
    pipeline.tick()  # tracks good.ndjson as pending
    _put_malformed(pipeline)

    from etl_platform.pipelines.ndjson_to_parquet.operations import status
    summary = status(aws, time.time())
    assert summary["pending_files_by_date"] == {DATE: 1}
    assert sorted(summary["skipped_malformed_items"]) == sorted(
        f"skipped tracking item {DATE}/{key}: malformed ({reason}); fix or delete it" for key, reason in REASONS.items())

    env = cli_env(tmp_path / "state", ETL_ENDPOINT_URL=aws.endpoint_url)
    cli = subprocess.run([str(VENV_BIN / "etl-platform"), "ingest", "status"], env=env, cwd=PROJECT_ROOT,
                         capture_output=True, text=True, timeout=120)
    assert cli.returncode == 0, cli.stderr
    shown = json.loads(cli.stdout)
    assert shown["pending_files_by_date"] == {DATE: 1} and len(shown["skipped_malformed_items"]) == 3
