"""Fault injection, pipeline C: a profile run whose worker is SIGKILLed mid-profile (the
summary written, the item not) stays STARTED in Dagster; the reaper ends it, the failure
sensor records `error` and profiles the file again, bounded by `max_attempts`."""

import json
import os
import subprocess

import pytest
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from etl_platform.pipelines.csv_profile import csv_profile_definitions
from etl_platform.pipelines.csv_profile.sensors import VERSION_TAG
from etl_platform.resources import platform_resources
from etl_platform.run_heartbeat import last_heartbeat
from etl_platform_tests.fault_runs import (
    Daemon, home_for_workers, only_run, recovery_settings, run_worker, wait_out_silence,
)
from etl_platform_tests.helpers import PROJECT_ROOT, VENV_BIN, cli_env

pytestmark = pytest.mark.e2e

JOB = "csv_profile_job"
ROWS = 300
CSV = ("id,name,score\n" + "".join(f"{i},name {i},{i / 4}\n" for i in range(ROWS))).encode()
SUMMARY = "processed/people_summary.json"
# The README's operator command for a file whose profile runs all died
PROFILE_AGAIN = """
set -euo pipefail
eval "$(etl-platform local env)"
dagster asset materialize -m etl_platform.definitions --select csv_profile --partition people.csv
"""


@pytest.fixture
def stack(aws, tmp_path):
    settings = recovery_settings(aws)
    home = home_for_workers(tmp_path)
    instance = DagsterInstance.from_config(str(home))
    s3 = platform_resources(settings)["s3"].get_client()
    version = s3.put_object(Bucket=settings.names.csv_data_bucket, Key="uploads/people.csv", Body=CSV)["VersionId"]
    daemon = Daemon(settings, csv_profile_definitions(settings), instance, "csv_profile_reaper",
                    "csv_profile_failed_runs", JOB)
    yield settings, home, instance, s3, {VERSION_TAG: version}, daemon
    instance.dispose()


def summaries(settings, s3) -> int:
    return s3.list_objects_v2(Bucket=settings.names.csv_data_bucket, Prefix=SUMMARY)["KeyCount"]


def not_terminal(instance) -> int:
    return len(instance.get_runs(RunsFilter(job_name=JOB, statuses=[DagsterRunStatus.STARTED])))


def test_a_profile_killed_mid_profile_is_ended_by_the_reaper_recorded_as_error_and_profiled_again(stack):
    settings, home, instance, s3, tags, daemon = stack
    table = platform_resources(settings)["file_metadata_table"]
    assert run_worker(settings, home, "csv_profile", "people.csv", tags, fault="csv_profile.profile") == -9
    dead = only_run(instance, JOB, "people.csv")
    assert dead.status == DagsterRunStatus.STARTED  # for ever: no run-status sensor will fire
    assert table.latest_profile("people.csv") is None and summaries(settings, s3) == 1  # half-written

    wait_out_silence(settings)
    [rerun] = daemon.tick()
    assert instance.get_run_by_id(dead.run_id).status == DagsterRunStatus.FAILURE
    item = table.latest_profile("people.csv")
    assert item["status"] == "error" and dead.run_id in item["error_message"]
    assert "attempt 2 of 2" in item["error_message"] and summaries(settings, s3) == 0
    assert rerun.partition_key == "people.csv" and rerun.tags[VERSION_TAG] == tags[VERSION_TAG]

    assert run_worker(settings, home, "csv_profile", rerun.partition_key, rerun.tags) == 0
    item = table.latest_profile("people.csv")
    assert (item["status"], item["row_count"]) == ("success", ROWS)  # every row counted once
    document = json.loads(s3.get_object(Bucket=settings.names.csv_data_bucket, Key=SUMMARY)["Body"].read())
    assert document["row_count"] == ROWS and summaries(settings, s3) == 1
    assert daemon.tick() == [] and not_terminal(instance) == 0
    [succeeded] = instance.get_runs(RunsFilter(job_name=JOB, statuses=[DagsterRunStatus.SUCCESS]))
    assert last_heartbeat(succeeded) is not None  # a profile run beats: a long one is never taken for dead


def test_a_file_whose_every_profile_run_dies_is_left_error_after_max_attempts_and_profiled_by_the_operator(
        stack, tmp_path):
    settings, home, instance, s3, tags, daemon = stack
    table = platform_resources(settings)["file_metadata_table"]
    assert run_worker(settings, home, "csv_profile", "people.csv", tags, fault="csv_profile.profile") == -9
    wait_out_silence(settings)
    [rerun] = daemon.tick()
    assert run_worker(settings, home, "csv_profile", rerun.partition_key, rerun.tags, fault="csv_profile.profile") == -9
    wait_out_silence(settings)
    assert daemon.tick() == []  # attempts exhausted: settled, not re-run
    item = table.latest_profile("people.csv")
    assert item["status"] == "error" and "gave up after 2 attempts" in item["error_message"]
    assert summaries(settings, s3) == 0 and not_terminal(instance) == 0

    env = cli_env(tmp_path, ETL_ENDPOINT_URL=settings.endpoint_url, PATH=f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}")
    env.pop("DAGSTER_HOME", None)  # `local env` exports the project's: the instance these runs are in
    done = subprocess.run(["bash", "-c", PROFILE_AGAIN], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    item = table.latest_profile("people.csv")
    assert (item["status"], item["row_count"]) == ("success", ROWS) and summaries(settings, s3) == 1
    assert not_terminal(instance) == 0
