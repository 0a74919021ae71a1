"""Glue start throttling through Dagster: StartJobRun refused with
ConcurrentRunsExceededException (the emulator's Glue, the job's MaxConcurrentRuns 1 reached
by a run held STARTING) raises out of `merged_parquet` as Dagster's RetryRequested (waits from
the settings), and Dagster re-executes the step in the same run, with nothing sleeping inside
the step. A start that is refused on every attempt fails the manifest once, after the last
retry."""

import threading
import time

import pytest
from dagster import DagsterEventType, DagsterInstance, RunsFilter

from etl_platform.pipelines.ndjson_to_parquet.assets import ENGINE_TAG
from etl_platform.pipelines.ndjson_to_parquet.partitions import MANIFEST_TAG
from etl_platform.pipelines.ndjson_to_parquet import JOB_NAME
from etl_platform_tests.ndjson_to_parquet.harness import Pipeline, local_runner_commands, records, scaled
from etl_platform_tests.ndjson_to_parquet.test_glue_runner import held_glue_run

DATE = "2026-07-02"


def _landed(aws, tmp_path, delay: float, files: int = 2) -> tuple[Pipeline, list[str]]:
    pipeline = Pipeline(scaled(aws, manifest_max_files=files, glue_start_retry_delay_seconds=delay))
    # a SQLite instance: the test thread reads the run's events while it executes
    (tmp_path / "dagster").mkdir()
    pipeline.instance = DagsterInstance.local_temp(str(tmp_path / "dagster"))
    ids = []
    for i in range(files):
        rows = records(f"r{i}", 5)
        pipeline.land(DATE, f"r-{i}.ndjson", rows)
        ids += [r["id"] for r in rows]
    return pipeline, ids


def _step_events(instance, run_id: str, event_type: DagsterEventType) -> list:
    return [r.event_log_entry for r in instance.get_records_for_run(run_id, of_type=event_type).records
            if r.event_log_entry.step_key == "merged_parquet"]


@pytest.mark.e2e
def test_a_refused_glue_start_is_retried_by_dagster_in_the_same_run_and_the_manifest_completes_once(aws, tmp_path):
    # retries wait 1, 2, 4 s: the hold is released as soon as the first retry is seen, and a
    # later release only costs another retry (nothing here depends on how long a step takes)
    pipeline, ids = _landed(aws, tmp_path, delay=1.0)
    [request] = pipeline.tick().run_requests
    manifest = request.tags[MANIFEST_TAG]
    outcome = {}
    with held_glue_run(aws, aws.names.ndjson_glue_job) as release:
        worker = threading.Thread(target=lambda: outcome.update(
            result=pipeline.run(manifest, tags={ENGINE_TAG: "spark"})))
        worker.start()
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and worker.is_alive():
            runs = pipeline.instance.get_runs(RunsFilter(job_name=JOB_NAME))
            if runs and _step_events(pipeline.instance, runs[0].run_id, DagsterEventType.STEP_UP_FOR_RETRY):
                break
            time.sleep(0.05)
        release()
        worker.join(timeout=600)
    result = outcome["result"]
    assert result.success
    retried = _step_events(pipeline.instance, result.run_id, DagsterEventType.STEP_UP_FOR_RETRY)
    restarted = _step_events(pipeline.instance, result.run_id, DagsterEventType.STEP_RESTARTED)
    assert len(retried) >= 1 and len(restarted) == len(retried)
    assert "ConcurrentRunsExceededException" in str(retried[0].dagster_event.event_specific_data.error)
    # one run: the retried step had its run id, so complete_manifest (conditional on it) succeeded
    assert [r.run_id for r in pipeline.instance.get_runs(RunsFilter(job_name=JOB_NAME))] == [result.run_id]
    record = pipeline.tracking.manifest(manifest)
    assert (record["status"], record["run_id"], record["engine"]) == ("completed", result.run_id, "spark")
    assert len(local_runner_commands(pipeline.instance, result.run_id)) == 1  # the job ran once
    assert sorted(r["id"] for r in pipeline.output_rows(DATE)) == sorted(ids)
    assert pipeline.tracking.breaker().failures_total == 0  # a throttled start is not a failed manifest


def test_a_start_refused_on_every_attempt_fails_the_manifest_once_after_the_last_retry(aws, tmp_path):
    pipeline, _ = _landed(aws, tmp_path, delay=0.05)
    [request] = pipeline.tick().run_requests
    with held_glue_run(aws, aws.names.ndjson_glue_job):
        result = pipeline.run(request.tags[MANIFEST_TAG], tags={ENGINE_TAG: "spark"})
    assert not result.success
    retried = _step_events(pipeline.instance, result.run_id, DagsterEventType.STEP_UP_FOR_RETRY)
    # seed 003's policy from the settings: 3 retries, waits delay x 2^n (recorded by Dagster, not measured)
    assert [e.dagster_event.event_specific_data.seconds_to_wait for e in retried] == [0.05, 0.1, 0.2]
    record = pipeline.tracking.manifest(request.tags[MANIFEST_TAG])
    assert record["status"] == "failed" and "ConcurrentRunsExceededException" in record["error"]
    assert pipeline.tracking.breaker().failures_total == 1  # recorded once, by the last attempt
    assert local_runner_commands(pipeline.instance, result.run_id) == []
