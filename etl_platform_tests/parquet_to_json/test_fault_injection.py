"""Fault injection, pipeline A: a run worker SIGKILLed while it holds a job RUNNING.

Each scenario kills a real worker process at a different place; the Dagster run stays
STARTED for ever and `etl-platform jobs trigger` is refused ("is RUNNING"). The reaper ends
the silent run, the failure sensor fails the job with a reason naming the run, and the
documented operator command, `etl-platform jobs trigger <jobId>` through the real API,
converts it again: every input row is in the job's output exactly once. A Glue job killed
under a live worker needs neither: the run's own retry completes the job.
"""

import json
import os
import signal
import subprocess
from collections import Counter

import httpx
import pytest
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter

from etl_platform.pipelines.parquet_to_json import JOB_NAME, parquet_to_json_definitions
from etl_platform.resources import platform_resources
from etl_platform.run_heartbeat import last_heartbeat
from etl_platform_tests.fault_runs import (
    Daemon, children_running, only_run, recovery_settings, run_worker, start_worker, wait_for_exit,
    wait_out_silence, wait_until,
)
from etl_platform_tests.helpers import PROJECT_ROOT, VENV_BIN, cli_env
from etl_platform_tests.parquet_to_json.conftest import (
    expected_records, flat_table, parquet_bytes, read_ndjson, wait_for_status,
)

pytestmark = pytest.mark.e2e

ROWS = 5000


@pytest.fixture
def scenario(aws, api_server, tmp_path):
    """A job uploaded through the CLI (PENDING), the settings and instance its workers use."""
    settings = recovery_settings(aws)
    source = flat_table(ROWS)
    path = tmp_path / "rows.parquet"
    path.write_bytes(parquet_bytes(source))
    env = cli_env(tmp_path / "cli-state", ETL_API_URL=api_server.url)

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(VENV_BIN / "etl-platform"), "jobs", *args], env=env, cwd=PROJECT_ROOT,
                              capture_output=True, text=True, timeout=120)

    uploaded = cli("upload", str(path))
    assert uploaded.returncode == 0, uploaded.stderr
    instance = DagsterInstance.from_config(str(api_server.dagster_home))
    yield settings, json.loads(uploaded.stdout)["jobId"], source, cli, instance
    instance.dispose()


def recover(settings, job_id, source, cli, instance, api_url) -> None:
    """From a dead worker's job to the job COMPLETED with every row once, as the platform
    and the operator do it; asserts each step."""
    table = platform_resources(settings)["jobs_table"]
    dead = only_run(instance, JOB_NAME, job_id)
    assert dead.status == DagsterRunStatus.STARTED  # for ever: no run-status sensor will fire
    job = table.get_job(job_id)
    assert (job["status"], job["runId"]) == ("RUNNING", dead.run_id)
    refused = cli("trigger", job_id)
    assert refused.returncode != 0 and f"job {job_id} is RUNNING" in refused.stderr

    wait_out_silence(settings)
    daemon = Daemon(settings, parquet_to_json_definitions(settings), instance, "parquet_to_json_reaper",
                    "parquet_to_json_failed_runs", JOB_NAME)
    assert daemon.tick() == []  # a job is not re-run by the platform: its user re-triggers it
    assert instance.get_run_by_id(dead.run_id).status == DagsterRunStatus.FAILURE
    job = table.get_job(job_id)
    assert job["status"] == "FAILED" and dead.run_id in job["errorMessage"], job
    assert "worker is dead" in job["errorMessage"]
    assert [j["jobId"] for j in table.jobs_with_status("RUNNING")] == []

    triggered = cli("trigger", job_id)  # the one operator action
    assert triggered.returncode == 0, triggered.stderr
    # the trigger answers before its run starts: until then the job still shows the dead run's FAILED
    wait_until(lambda: table.get_job(job_id).get("runId") != dead.run_id, timeout=180, what="re-triggered run")
    with httpx.Client(base_url=api_url, timeout=60) as client:
        assert wait_for_status(client, job_id)["status"] == "COMPLETED"
    job = table.get_job(job_id)
    s3 = platform_resources(settings)["s3"].get_client()
    rows = read_ndjson(s3.get_object(Bucket=settings.names.jobs_output_bucket, Key=job["outputS3Key"])["Body"].read())
    assert rows == expected_records(source)  # every input row once, in order
    assert Counter(r["id"] for r in rows) == Counter(range(ROWS))
    # the job is COMPLETED before its run ends: the run then ends too, and no run is left STARTED
    wait_until(lambda: not instance.get_runs(RunsFilter(job_name=JOB_NAME, statuses=[DagsterRunStatus.STARTED])),
               what="end of every run")
    rerun = instance.get_run_by_id(job["runId"])
    assert last_heartbeat(rerun) is not None  # a run holding a job beats: a long one is never taken for dead


@pytest.mark.parametrize("fault", ["parquet_to_json.job_running", "parquet_to_json.output_written"])
def test_a_worker_killed_between_status_writes_leaves_a_job_the_reaper_fails_and_a_re_trigger_completes(
        scenario, api_server, fault):
    settings, job_id, source, cli, instance = scenario
    assert run_worker(settings, api_server.dagster_home, "parquet_to_json", job_id, {"job_id": job_id}, fault) == -9
    output = platform_resources(settings)["s3"].get_client().list_objects_v2(
        Bucket=settings.names.jobs_output_bucket, Prefix=f"output/{job_id}/")["KeyCount"]
    assert output == (1 if fault.endswith("output_written") else 0)  # killed before / after the conversion
    recover(settings, job_id, source, cli, instance, api_server.url)


def test_a_worker_killed_mid_conversion_leaves_a_job_the_reaper_fails_and_a_re_trigger_completes(
        scenario, api_server):
    settings, job_id, source, cli, instance = scenario
    worker = start_worker(settings, api_server.dagster_home, "parquet_to_json", job_id, {"job_id": job_id})
    [glue] = wait_until(lambda: children_running(worker.pid, "parquet_to_json.py"), what="Glue job process")
    worker.send_signal(signal.SIGKILL)  # the worker dies while its Glue job converts
    worker.communicate(timeout=300)
    assert worker.returncode == -signal.SIGKILL
    wait_for_exit(glue)  # the orphaned Glue job goes on (as on AWS); a re-run overwrites what it wrote
    recover(settings, job_id, source, cli, instance, api_server.url)


def test_a_glue_job_killed_mid_conversion_is_retried_by_its_live_run_and_completes(scenario, api_server):
    """The fast path: the worker lives and sees its Glue job die; the asset fails the job and
    its retry policy runs it again, with no reaper and no operator."""
    settings, job_id, source, cli, instance = scenario
    worker = start_worker(settings, api_server.dagster_home, "parquet_to_json", job_id, {"job_id": job_id})
    [glue] = wait_until(lambda: children_running(worker.pid, "parquet_to_json.py"), what="Glue job process")
    os.kill(glue, signal.SIGKILL)
    worker.communicate(timeout=300)
    assert worker.returncode == 0
    run = only_run(instance, JOB_NAME, job_id)
    retried = [e for e in instance.all_logs(run.run_id) if e.dagster_event_type == DagsterEventType.STEP_UP_FOR_RETRY]
    assert run.status == DagsterRunStatus.SUCCESS and len(retried) == 1
    table = platform_resources(settings)["jobs_table"]
    job = table.get_job(job_id)
    assert job["status"] == "COMPLETED" and [j["jobId"] for j in table.jobs_with_status("RUNNING")] == []
    s3 = platform_resources(settings)["s3"].get_client()
    rows = read_ndjson(s3.get_object(Bucket=settings.names.jobs_output_bucket, Key=job["outputS3Key"])["Body"].read())
    assert rows == expected_records(source)
