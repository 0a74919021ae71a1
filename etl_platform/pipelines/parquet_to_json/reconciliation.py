"""Pipeline A's reconciliation: files dropped under `incoming/` that never became a job run.

The drop sensor turns each new object version under `incoming/` into a job (its id derived
from bucket, key and ETag) and a run; it looks one hour below its watermark, so a drop it
missed would never be converted, and a job whose launched run was lost (the daemon
restarted before launching it, the run deleted) stays PENDING for ever. For A, "tracking
lacks it" is therefore: no job under the object's derived id, or a PENDING job that no run
carries the object's run key for. Every 15 minutes `parquet_drop_reconciliation` lists
`incoming/` (every file: one not named `*.parquet` gets its FAILED job) and hands each such
object to the drop sensor's own path
(`drop_run_request`: create the job if absent, claim its launch, request the run under the
same run key and job tag). The run is requested only if this pass won the launch claim,
a conditional write (`JobsTable.claim_launch`): a trigger or the drop sensor launching it
meanwhile keeps it, so no job gets a second run. Uploads through the API (`uploads/`) are
not reconciled: their jobs wait for the client's `POST /trigger-job`, by design.
"""

from __future__ import annotations

import time

from dagster import DefaultSensorStatus, SensorEvaluationContext, sensor

from etl_platform.config import Settings
from etl_platform.core.parquet_jobs import job_id_for_object
from etl_platform.core.reconciliation import ReconcileWindow, unlaunched_drops
from etl_platform.core.upload_cursor import ListedObject
from etl_platform.pipelines.parquet_to_json.sensors import MAX_RUNS_PER_TICK, drop_run_request
from etl_platform.pipelines.reconciliation import (
    RECONCILE_INTERVAL_SECONDS, landing_reconciled_check, recovery_runs, run_key_taken,
)
from etl_platform.resources.connection import PlatformS3Resource
from etl_platform.resources.jobs_table import JobsTable
from etl_platform.resources.s3_listing import list_objects

LANDING_ASSET = "parquet_uploads"


def unlaunched(s3_client, jobs_table: JobsTable, settings: Settings, now: float) -> tuple[int, list[ListedObject]]:
    """(drops listed, those whose job is missing or still PENDING)."""
    bucket = settings.names.jobs_input_bucket
    objects = list_objects(s3_client, bucket, settings.jobs.drop_prefix, "")
    window = ReconcileWindow(grace_seconds=settings.reconcile_grace_seconds)
    return len(objects), unlaunched_drops(
        objects, lambda o: jobs_table.get_job(job_id_for_object(bucket, o.key, o.etag)), now, window)


def build_parquet_reconciliation(settings: Settings, job):
    """(sensor, `landing_reconciled` check) of pipeline A."""
    bucket = settings.names.jobs_input_bucket

    @sensor(name="parquet_drop_reconciliation", job=job, minimum_interval_seconds=RECONCILE_INTERVAL_SECONDS,
            default_status=DefaultSensorStatus.RUNNING,
            description=f"Starts the job of each file under s3://{bucket}/{settings.jobs.drop_prefix} that never got a run")
    def parquet_drop_reconciliation(context: SensorEvaluationContext, s3: PlatformS3Resource, jobs_table: JobsTable):
        listed, missing = unlaunched(s3.get_client(), jobs_table, settings, time.time())
        requests = []
        for obj in missing:
            if len(requests) >= MAX_RUNS_PER_TICK or run_key_taken(context.instance, f"{obj.key}@{obj.etag}"):
                continue  # a run holds the job already (or its run settled it)
            request, claimed = drop_run_request(jobs_table, bucket, obj, settings.jobs.drop_prefix)
            if claimed:
                requests.append(request)
        return recovery_runs(context, LANDING_ASSET, None, requests, listed=listed,
                             untracked=len(missing), what="starting dropped files that never got a run")

    def unlaunched_now(resources) -> tuple[int, list[str]]:
        listed, missing = unlaunched(resources.s3, resources.jobs_table, settings, time.time())
        return listed, [o.key for o in missing]

    return parquet_drop_reconciliation, landing_reconciled_check(LANDING_ASSET, {"s3", "jobs_table"}, unlaunched_now)
