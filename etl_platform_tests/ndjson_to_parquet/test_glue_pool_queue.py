"""The real `dagster-daemon` on the instance `etl-platform dev` prepares: pipeline B's Glue
pool has one slot in dev, so of two manifest runs the sensor requests in one tick, the
second waits QUEUED while the first holds the slot, and starts only after the first ended."""

import signal
import subprocess
import time

import pytest
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from etl_platform.concurrency import applied_pool_limits, glue_pool
from etl_platform.config import Settings
from etl_platform.local.devstack import dagster_environment
from etl_platform.pipelines.ndjson_to_parquet import JOB_NAME
from etl_platform_tests.helpers import PROJECT_ROOT, VENV_BIN
from etl_platform_tests.ndjson_to_parquet.harness import Pipeline, records, scaled

pytestmark = pytest.mark.e2e

DATE = "2026-06-05"
MANIFESTS, FILES_PER_MANIFEST = 2, 2
IN_PROGRESS = {DagsterRunStatus.STARTING, DagsterRunStatus.STARTED}


def test_the_second_manifest_run_waits_queued_while_the_first_holds_the_only_glue_slot(aws, tmp_path):
    pipeline = Pipeline(scaled(aws, manifest_max_files=FILES_PER_MANIFEST))
    ids = []
    for i in range(MANIFESTS * FILES_PER_MANIFEST):
        rows = records(f"q{i}", 4)
        pipeline.land(DATE, f"q-{i}.ndjson", rows)
        ids += [r["id"] for r in rows]
    state = Settings(state_dir=tmp_path / "state")
    env = dagster_environment(state, aws.endpoint_url)  # writes dagster.yaml, sets the pools' limits
    env.update(ETL_FILE_MIN_BYTES="200", ETL_MANIFEST_MAX_FILES=str(FILES_PER_MANIFEST),
               ETL_ORPHAN_FLUSH_SECONDS="3600", ETL_SQS_VISIBILITY_SECONDS="30")
    instance = DagsterInstance.from_config(str(state.dagster_home))
    assert applied_pool_limits(instance)[glue_pool(aws.names.ndjson_glue_job)] == 1
    log = (tmp_path / "daemon.log").open("wb")
    daemon = subprocess.Popen([str(VENV_BIN / "dagster-daemon"), "run", "-w", str(PROJECT_ROOT / "workspace.yaml")],
                              env=env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT)
    seen = set()  # (runs in progress, runs queued) at each look
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            runs = instance.get_runs(RunsFilter(job_name=JOB_NAME))
            statuses = [r.status for r in runs]
            seen.add((sum(s in IN_PROGRESS for s in statuses), statuses.count(DagsterRunStatus.QUEUED)))
            if len(runs) == MANIFESTS and all(s == DagsterRunStatus.SUCCESS for s in statuses):
                break
            time.sleep(0.2)
    finally:
        daemon.send_signal(signal.SIGINT)
        try:
            daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
    records_ = sorted((instance.get_run_record_by_id(r.run_id) for r in instance.get_runs(RunsFilter(job_name=JOB_NAME))),
                      key=lambda r: r.start_time or float("inf"))
    assert [r.dagster_run.status for r in records_] == [DagsterRunStatus.SUCCESS] * MANIFESTS, \
        (tmp_path / "daemon.log").read_text()[-5000:]
    assert (1, 1) in seen, seen  # one run held the slot while the other waited in the queue
    assert max(in_progress for in_progress, _ in seen) == 1, seen
    # by Dagster's own records: the second run started after the first had ended
    assert records_[1].start_time >= records_[0].end_time
    assert sorted(r["id"] for r in pipeline.output_rows(DATE)) == sorted(ids)
