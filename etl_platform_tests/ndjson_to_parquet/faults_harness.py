"""Fault injection for pipeline B: do a piece of the platform's work in a real child process
that a fault point (etl_platform/faults.py) kills with SIGKILL, then recover as the daemon
would, with the platform's own sensors evaluated against the same persistent Dagster instance.

The child builds the same definitions with the same settings (pickled) and records its run
in the SQLite instance under `dagster_home`, so a killed run is left STARTED there exactly
as a dead run worker leaves it. `recover` then plays the daemon: the file-events sensor,
the reaper and the run-failure sensor for every failed run, executing the run requests
they return, until none returns any. No operator step is taken; a test that needs one
(the give-up case) does it itself and says so.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

from dagster import (
    DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter, build_run_status_sensor_context, build_sensor_context,
)

from etl_platform.config import Settings
from etl_platform.faults import ENV as FAULT_ENV
from etl_platform.pipelines.ndjson_to_parquet import JOB_NAME
from etl_platform.pipelines.ndjson_to_parquet.partitions import MANIFEST_TAG
from etl_platform_tests.helpers import PROJECT_ROOT
from etl_platform_tests.ndjson_to_parquet.harness import Pipeline, glue_on_its_runtime, manifest_id_of

CHILD = """
import pickle, sys
from dagster import DagsterInstance
from etl_platform_tests.ndjson_to_parquet.faults_harness import child_pipeline
with open(sys.argv[1], "rb") as f:
    settings, action, spark, manifest_id, tags = pickle.load(f)
pipeline = child_pipeline(settings, spark, DagsterInstance.get())
if action == "tick":
    pipeline.tick()
else:
    pipeline.run(manifest_id, tags)
"""
KILLED = -signal.SIGKILL
RECOVERY_RESOURCES = ("tracking_table", "alerts", "metrics_table")


def recovering(settings: Settings, **recovery) -> Settings:
    """Recovery timeouts short enough for a test: a silent run is dead after 1 s; a re-run
    request is awaited 60 s before it counts as lost (the test executes it at once)."""
    defaults = dict(heartbeat_seconds=0.2, silent_run_seconds=1.0, grace_seconds=60.0, max_attempts=3)
    return settings.with_overrides(recovery=replace(settings.recovery, **{**defaults, **recovery}))


def child_pipeline(settings: Settings, spark: bool, instance: DagsterInstance) -> Pipeline:
    overrides = {"glue": glue_on_its_runtime(settings, settings.names.ndjson_glue_job)[0]} if spark else {}
    pipeline = Pipeline(settings, **overrides)
    pipeline.instance = instance
    return pipeline


class FaultyPipeline(Pipeline):
    """A Pipeline on a persistent instance whose work can be done by a child process."""

    def __init__(self, settings: Settings, dagster_home: Path, spark: bool = False):
        self.spark = spark
        overrides = {"glue": glue_on_its_runtime(settings, settings.names.ndjson_glue_job)[0]} if spark else {}
        super().__init__(settings, **overrides)
        dagster_home.mkdir(parents=True, exist_ok=True)
        self.home = dagster_home
        self.instance = DagsterInstance.from_config(str(dagster_home))
        self.killed_runs: list[str] = []
        self._evaluated_failures: set[str] = set()
        self._used_run_keys: set[str] = set()

    # --- work in a child process ------------------------------------------------------
    def start_child(self, action: str, fault: str | None, manifest_id: str | None = None,
                    tags: dict | None = None) -> subprocess.Popen:
        args = self.home / f"child-{time.monotonic_ns()}.pickle"
        args.write_bytes(pickle.dumps((self.settings, action, self.spark, manifest_id, tags or {})))
        env = {**os.environ, "DAGSTER_HOME": str(self.home),
               "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))}
        env.pop(FAULT_ENV, None)
        if fault:
            env[FAULT_ENV] = fault
        return subprocess.Popen([sys.executable, "-c", CHILD, str(args)], env=env, cwd=PROJECT_ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def in_child(self, action: str, fault: str | None, manifest_id: str | None = None, tags: dict | None = None) -> int:
        """Run `action` ("tick", or "run" of manifest `manifest_id`) in a child process with the fault
        point `fault`; its exit code (-9: the fault point killed it)."""
        child = self.start_child(action, fault, manifest_id, tags)
        output, _ = child.communicate(timeout=600)
        if child.returncode == KILLED:
            self.note_killed_run(manifest_id)
        elif fault:
            sys.stdout.write(output.decode(errors="replace")[-4000:])  # why the fault point was never reached
        return child.returncode

    def note_killed_run(self, manifest_id: str | None) -> None:
        if manifest_id:
            self.killed_runs.append(self.latest_run(manifest_id).run_id)
        # a dead worker is judged silent once its last beat is older than the timeout
        time.sleep(self.settings.recovery.silent_run_seconds + 0.5)

    def latest_run(self, manifest_id: str):
        [run] = self.instance.get_runs(RunsFilter(tags={MANIFEST_TAG: manifest_id}), limit=1)
        return run

    # --- the daemon's part ------------------------------------------------------------
    def reap(self) -> list:
        sensor = self.defs.resolve_sensor_def("ndjson_manifest_reaper")
        resources = {k: self.defs.resources[k] for k in RECOVERY_RESOURCES}
        with build_sensor_context(instance=self.instance, resources=resources, definitions=self.defs) as context:
            result = sensor(context)
        return list(result.run_requests or [])

    def failure_sensor(self, run_id: str) -> list:
        run = self.instance.get_run_by_id(run_id)
        failure = next(e for e in self.instance.all_logs(run_id) if e.dagster_event_type == DagsterEventType.RUN_FAILURE)
        sensor = self.defs.resolve_sensor_def("ndjson_failed_runs")
        resources = {k: self.defs.resources[k] for k in RECOVERY_RESOURCES}
        with build_run_status_sensor_context(sensor_name=sensor.name, dagster_event=failure.dagster_event,
                                             dagster_instance=self.instance, dagster_run=run,
                                             resources=resources) as context:
            return list(sensor(context.for_run_failure()) or [])

    def recover(self, fault: str | None = None, max_rounds: int = 8) -> SimpleNamespace:
        """Evaluate the daemon's sensors and execute what they request until they request
        nothing: requested runs execute in this process, or, with `fault`, in a child that
        the fault point kills again. The requests, in order."""
        requests = []
        for _ in range(max_rounds):
            due = self.tick().run_requests + self.reap()
            # the run-failure sensor watches the ingestion job only (a validation run's messages
            # come back by themselves: the file-events sensor requests the next validation run)
            for run in self.instance.get_runs(RunsFilter(job_name=JOB_NAME, statuses=[DagsterRunStatus.FAILURE])):
                if run.run_id not in self._evaluated_failures:
                    self._evaluated_failures.add(run.run_id)
                    due += self.failure_sensor(run.run_id)
            if not due:
                return SimpleNamespace(requests=requests)
            for request in due:
                if request.run_key in self._used_run_keys:
                    continue  # the daemon skips a run key its sensor used before: so does this harness
                self._used_run_keys.add(request.run_key)
                requests.append(request)
                if fault:
                    assert self.in_child("run", fault, manifest_id_of(request), request.tags) == KILLED
                else:
                    self.run(manifest_id_of(request), tags=request.tags)
        raise AssertionError(f"recovery did not settle within {max_rounds} rounds: {requests}")

    # --- what recovery must leave -----------------------------------------------------
    def assert_recovered(self, date_prefix: str, expected_ids: list[str]) -> dict:
        """Every input row in the output exactly once, every file record completed, no
        MANIFEST open, every killed run FAILURE. Counts for the report."""
        rows = [r["id"] for r in self.output_rows(date_prefix)]
        lost = sorted(set(expected_ids) - set(rows))
        duplicated = len(rows) - len(set(rows))
        files = [i for i in self.tracking.query(key_condition="date_prefix = :d", values={":d": date_prefix},
                                                consistent=True) if "shard_id" in i]
        not_terminal = [f"{f['file_key']}={f['status']}" for f in files if not f["status"].startswith("completed#")]
        open_manifests = [m["manifest_id"] for m in self.tracking.open_manifests()]
        killed = {r: self.instance.get_run_by_id(r).status.value for r in self.killed_runs}
        assert (lost, duplicated, not_terminal, open_manifests) == ([], 0, [], [])
        assert set(rows) == set(expected_ids) and len(files) > 0
        assert set(killed.values()) <= {"FAILURE"}, killed
        return {"inputs": len(expected_ids), "lost": len(lost), "duplicated": duplicated,
                "non_terminal": len(not_terminal)}
