"""Settle what a failed or cancelled run of pipeline A leaves behind, outside the run.

The asset marks its job FAILED itself (the fast path), but only for errors it sees: a run
cancelled from the UI raises Dagster's interruption, a BaseException that its `except
Exception` never catches, and a run worker that dies runs no handler at all; either way the
job stayed RUNNING and `POST /trigger-job` refused it for ever. These sensors run in the
daemon, not in the run: on each failed or cancelled run of the job they move the job the
run had started (or launched) to FAILED with the reason, a conditional write that changes
nothing if the asset got there first, the job completed, or another run has it since.
"""

from __future__ import annotations

from dagster import (
    DagsterRunStatus, DefaultSensorStatus, RunFailureSensorContext, RunStatusSensorContext, run_failure_sensor,
    run_status_sensor,
)

from etl_platform.pipelines.parquet_to_json.partitions import JOB_TAG
from etl_platform.resources.jobs_table import JobsTable

def _settle(context: RunStatusSensorContext, jobs_table: JobsTable, reason: str) -> None:
    run = context.dagster_run
    job_id = run.tags.get(JOB_TAG)
    if not job_id:
        return
    settled = jobs_table.fail_run_of_job(job_id, run.run_id, reason)
    if settled is not None:
        context.log.info(f"job {job_id}: FAILED after run {run.run_id} ended without settling it")


def build_settlement_sensors(job):
    @run_failure_sensor(monitored_jobs=[job], default_status=DefaultSensorStatus.RUNNING,
                        description="Marks a job FAILED when its run failed without doing so (killed, interrupted)")
    def parquet_to_json_failed_runs(context: RunFailureSensorContext, jobs_table: JobsTable):
        message = context.failure_event.message if context.failure_event else "the run failed"
        _settle(context, jobs_table, f"run {context.dagster_run.run_id} failed: {message}"[:2000])

    @run_status_sensor(run_status=DagsterRunStatus.CANCELED, monitored_jobs=[job],
                       default_status=DefaultSensorStatus.RUNNING,
                       description="Marks a job FAILED when its run was cancelled")
    def parquet_to_json_cancelled_runs(context: RunStatusSensorContext, jobs_table: JobsTable):
        _settle(context, jobs_table, f"run {context.dagster_run.run_id} was cancelled")

    return [parquet_to_json_failed_runs, parquet_to_json_cancelled_runs]
