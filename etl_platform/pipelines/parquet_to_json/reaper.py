"""Pipeline A's reaper: no job stays RUNNING (or launched but never started) for a dead run.

The settlement sensors (settlement.py) act on a run's failure or cancellation. Two cases
never reach them:
- the run worker was SIGKILLed (OOM, lost host): with Dagster's default run launcher the
  run stays STARTED for ever, so no run-status event ever fires. The step beats on its run
  (etl_platform/run_heartbeat.py); this reaper reports a run silent for
  `silent_run_seconds` as FAILURE and the failure sensor then settles its job;
- the run ended or vanished and no sensor settled its job (a sensor was stopped, its
  cursor started after the run ended, the run was deleted): a job RUNNING, or PENDING with
  a launched run, for longer than `grace_seconds` whose run is dead is settled here, with
  the same conditional write as the sensors (`fail_run_of_job`).

Decision: a job whose run died ends FAILED with the reason and is NOT re-run by the
platform. The job is the user's: they triggered it and watch its status, the seed's
lifecycle has them re-trigger a FAILED job (`etl-platform jobs trigger <jobId>` or `POST
/trigger-job`), and a run whose worker died may have died of its input (a file that
exhausts the worker's memory), which an automatic re-run would repeat at a Glue bill's
cost. Transient errors inside a live run are still retried by the asset's RetryPolicy. A
re-trigger is safe: it converts the pinned input version again to the job's own output
key, overwriting whatever the dead run wrote.
"""

from __future__ import annotations

import time

from dagster import DagsterInstance, DefaultSensorStatus, SensorEvaluationContext, SkipReason, sensor

from etl_platform.config import RecoverySettings, Settings
from etl_platform.core.parquet_jobs import PENDING, RUNNING
from etl_platform.core.timestamps import iso_utc
from etl_platform.resources.jobs_table import LAUNCH_CLAIM, LAUNCH_RUN_ID, RUN_ID, JobsTable
from etl_platform.run_heartbeat import end_silent_runs, run_liveness


def reap(instance: DagsterInstance, jobs_table: JobsTable, job_name: str, recovery: RecoverySettings,
         now: float) -> list[str]:
    """One pass; what it did, one line per action."""
    done = []
    held_since = iso_utc(now - recovery.grace_seconds, digits=3)
    for status, run_attribute, since_attribute in ((RUNNING, RUN_ID, "startedAt"), (PENDING, LAUNCH_RUN_ID, LAUNCH_CLAIM)):
        for job in jobs_table.jobs_with_status(status):
            run_id, since = job.get(run_attribute), job.get(since_attribute)
            if not run_id or not isinstance(since, str) or since > held_since:
                continue
            verdict = run_liveness(instance, run_id, now, recovery.silent_run_seconds)
            if verdict.alive or verdict.worker_silent:  # a silent run is ended below; its failure sensor settles
                continue
            if jobs_table.fail_run_of_job(job["jobId"], run_id, f"run {run_id} did not finish the job: {verdict.reason}"):
                done.append(f"job {job['jobId']}: FAILED ({verdict.reason})")
    for run_id, verdict in end_silent_runs(instance, job_name, now, recovery.silent_run_seconds):
        done.append(f"run {run_id}: reported FAILURE ({verdict.reason})")
    return done


def build_reaper(settings: Settings, job):
    recovery = settings.recovery

    @sensor(minimum_interval_seconds=recovery.reaper_interval_seconds, default_status=DefaultSensorStatus.RUNNING,
            description=(f"Ends runs of {job.name} whose worker died (silent {recovery.silent_run_seconds:.0f} s) and "
                         "fails jobs left RUNNING or launched by a dead run"))
    def parquet_to_json_reaper(context: SensorEvaluationContext, jobs_table: JobsTable):
        done = reap(context.instance, jobs_table, job.name, recovery, time.time())
        for line in done:
            context.log.info(line)
        return SkipReason("; ".join(done) if done else "no job is held by a dead run")

    return parquet_to_json_reaper
