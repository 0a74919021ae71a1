"""Fault injection: run one partition of a pipeline's job in a real process that dies by
SIGKILL, then act as the daemon would on what the reaper and the failure sensor say.

The process is a run worker as `execute_in_process` makes one (run and step in one
process), against a persistent SQLite DagsterInstance shared with the test, so the killed
run stays STARTED there exactly as a run whose worker the default launcher lost.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from dagster import (
    DagsterEventType, DagsterInstance, DagsterRunStatus, Definitions, RunRequest, RunsFilter,
    build_run_status_sensor_context, build_sensor_context,
)

from etl_platform.config import RecoverySettings, Settings
from etl_platform.faults import ENV as FAULT_ENV
from etl_platform.pipelines.parquet_to_json import JOB_NAME as PARQUET_JOB
from etl_platform.pipelines.parquet_to_json.partitions import JOB_TAG
from etl_platform.resources import platform_resources
from etl_platform_tests.helpers import PROJECT_ROOT, cli_env

# Short enough for a test; a dead worker's silence is waited out, never raced.
TEST_RECOVERY = RecoverySettings(heartbeat_seconds=0.5, silent_run_seconds=2.0, grace_seconds=0.0, max_attempts=2,
                                 reaper_interval_seconds=1)

RUN_PARTITION = """
import json, sys
from etl_platform.config import Settings
from etl_platform.local.devstack import dagster_instance
from etl_platform.pipelines.in_process import execute_partition, resolve_job

pipeline, unit, tags = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
settings = Settings.from_env()
if pipeline == "parquet_to_json":  # a job: today's partition, the job id as tag
    from etl_platform.pipelines.parquet_to_json import JOB_NAME as job_name, parquet_to_json_definitions as build
    from etl_platform.pipelines.parquet_to_json.partitions import JOB_TAG, parquet_jobs_partitions as partitions, run_day
    partition_key, tags = run_day(), {**tags, JOB_TAG: unit}
else:  # a file: its name is the partition
    from etl_platform.pipelines.csv_profile import csv_profile_definitions as build
    from etl_platform.pipelines.csv_profile.partitions import csv_files_partitions as partitions
    job_name, partition_key = "csv_profile_job", unit
job = resolve_job(settings, build(settings), job_name)
sys.exit(0 if execute_partition(job, dagster_instance(settings), partitions, partition_key, tags) else 1)
"""


def recovery_settings(settings: Settings) -> Settings:
    return settings.with_overrides(recovery=TEST_RECOVERY)


def worker_env(settings: Settings, dagster_home: Path, fault: str | None = None) -> dict[str, str]:
    env = cli_env(settings.state_dir, ETL_ENDPOINT_URL=settings.endpoint_url, DAGSTER_HOME=str(dagster_home),
                  ETL_HEARTBEAT_SECONDS=str(TEST_RECOVERY.heartbeat_seconds))
    if fault:
        env[FAULT_ENV] = fault
    return env


def start_worker(settings: Settings, dagster_home: Path, pipeline: str, unit: str,
                 tags: dict[str, str] | None = None, fault: str | None = None) -> subprocess.Popen:
    """Run the unit of work (A: a job id, C: a file name) in a worker process."""
    return subprocess.Popen([sys.executable, "-c", RUN_PARTITION, pipeline, unit, json.dumps(tags or {})],
                            env=worker_env(settings, dagster_home, fault), cwd=PROJECT_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def run_worker(settings: Settings, dagster_home: Path, pipeline: str, unit: str,
               tags: dict[str, str] | None = None, fault: str | None = None) -> int:
    """Run the unit of work to its end (or its death); the process's return code."""
    process = start_worker(settings, dagster_home, pipeline, unit, tags, fault)
    output, _ = process.communicate(timeout=300)
    if process.returncode not in (0, -signal.SIGKILL):
        print(output.decode(errors="replace")[-5000:])
    return process.returncode


def children_running(pid: int, marker: str) -> list[int]:
    """Processes whose parent is `pid` and whose command line contains `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError, ValueError):
            continue
        if parent == pid and marker in command:
            found.append(int(entry.name))
    return found


def wait_until(predicate, timeout: float = 120.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError(f"no {what} in {timeout} s")


def wait_for_exit(pid: int, timeout: float = 120.0) -> None:
    """An orphan (not our child: no waitpid) has exited; a zombie counts as exited."""
    def gone() -> bool:
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
        except OSError:
            return True
    wait_until(gone, timeout, f"exit of process {pid}")


def only_run(instance: DagsterInstance, job_name: str, unit: str):
    """The one run of a job id (A, by its tag) or a file name (C, its partition)."""
    tag = JOB_TAG if job_name == PARQUET_JOB else "dagster/partition"
    runs = instance.get_runs(RunsFilter(job_name=job_name, tags={tag: unit}))
    assert len(runs) == 1, [r.run_id for r in runs]
    return runs[0]


def wait_out_silence(settings: Settings) -> None:
    """The dead worker beats no more: past this, its run is silent for longer than the timeout."""
    time.sleep(settings.recovery.silent_run_seconds + 0.5)


class Daemon:
    """What the Dagster daemon does with the recovery sensors of one pipeline: tick the
    reaper, then evaluate the run-failure sensor on every run failure it has not seen."""

    def __init__(self, settings: Settings, pipeline: Definitions, instance: DagsterInstance, reaper: str,
                 failure_sensor: str, job_name: str):
        self.defs = Definitions.merge(pipeline, Definitions(resources=platform_resources(settings)))
        self.instance, self.job_name = instance, job_name
        self.reaper, self.failure_sensor = reaper, failure_sensor
        self.seen: set[str] = set()

    def _resources(self, sensor) -> dict[str, Any]:
        return {key: self.defs.resources[key] for key in sensor.required_resource_keys}

    def tick(self) -> list[RunRequest]:
        """One reaper tick and the failure sensor's evaluations; the runs it requests."""
        reaper = self.defs.resolve_sensor_def(self.reaper)
        with build_sensor_context(instance=self.instance, resources=self._resources(reaper),
                                  definitions=self.defs) as context:
            reaper(context)
        requests = []
        sensor = self.defs.resolve_sensor_def(self.failure_sensor)
        for run in self.instance.get_runs(RunsFilter(job_name=self.job_name, statuses=[DagsterRunStatus.FAILURE])):
            if run.run_id in self.seen:
                continue
            self.seen.add(run.run_id)
            failure = next(e for e in self.instance.all_logs(run.run_id)
                           if e.dagster_event_type == DagsterEventType.RUN_FAILURE)
            with build_run_status_sensor_context(sensor_name=sensor.name, dagster_event=failure.dagster_event,
                                                 dagster_instance=self.instance, dagster_run=run,
                                                 resources=self._resources(sensor)) as context:
                result = sensor(context.for_run_failure())
            requests += [result] if isinstance(result, RunRequest) else []
        return requests


def home_for_workers(tmp_path: Path) -> Path:
    """A DAGSTER_HOME as the project prepares it (run monitoring on), with SQLite storage."""
    from etl_platform.local.devstack import prepare_dagster_home

    return prepare_dagster_home(Settings(state_dir=tmp_path))


__all__ = ["Daemon", "children_running", "home_for_workers", "only_run", "recovery_settings", "run_worker",
           "start_worker", "wait_for_exit", "wait_out_silence", "wait_until"]
