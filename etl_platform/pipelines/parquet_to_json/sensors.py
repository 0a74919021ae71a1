"""Watch s3://<jobs input bucket>/incoming/ for Parquet files: one job per object version.

Only the drop prefix is watched: the REST API writes its uploads under uploads/<jobId>/
and starts their runs itself, so no upload becomes two jobs. The jobId of a dropped file is
derived from its version (bucket, key, ETag), so a repeated tick finds the job it created.
Every object dropped there becomes a job: one not named `*.parquet` is recorded FAILED with
the reason at once (no run), so it shows in `jobs list` instead of being passed over.
"""

from pathlib import PurePosixPath

from dagster import (
    DefaultSensorStatus, RunRequest, SensorEvaluationContext, SensorResult, SkipReason, sensor,
)

from etl_platform.config import Settings
from etl_platform.core.parquet_jobs import drop_suffix_problem, job_id_for_object, sanitise_file_name
from etl_platform.core.upload_cursor import ListedObject
from etl_platform.pipelines.parquet_to_json.partitions import JOB_TAG, run_day
from etl_platform.resources.connection import PlatformS3Resource
from etl_platform.resources.jobs_table import JobsTable
from etl_platform.resources.s3_listing import new_uploads

MAX_RUNS_PER_TICK = 50


def build_parquet_drop_sensor(settings: Settings, job):
    bucket = settings.names.jobs_input_bucket
    prefix = settings.jobs.drop_prefix

    @sensor(job=job, minimum_interval_seconds=10, default_status=DefaultSensorStatus.RUNNING,
            description=f"A conversion job for every new or re-uploaded s3://{bucket}/{prefix}*.parquet "
                        "(any other file dropped there: a FAILED job saying why)")
    def parquet_drop_sensor(context: SensorEvaluationContext, s3: PlatformS3Resource, jobs_table: JobsTable):
        new, next_cursor = new_uploads(s3.get_client(), bucket, prefix, "", context.cursor, MAX_RUNS_PER_TICK)
        if not new:
            return SkipReason(f"no new file under s3://{bucket}/{prefix}")
        requests = [request for obj in new if (request := drop_run_request(jobs_table, bucket, obj, prefix)[0])]
        refused = len(new) - len(requests)
        if refused:
            context.log.warning(f"{refused} dropped file(s) not named *.parquet: recorded as FAILED jobs")
        return SensorResult(
            run_requests=requests,
            cursor=next_cursor,
        )

    return parquet_drop_sensor


def drop_run_request(jobs_table: JobsTable, bucket: str, obj: ListedObject,
                     drop_prefix: str) -> tuple[RunRequest | None, bool]:
    """The job of a dropped object version (created PENDING unless it exists) and the run
    that converts it; whether this call claimed the job's launch (a POST /trigger-job
    meanwhile gets 409, not a second run). A file not named `*.parquet` gets its job FAILED
    with the reason and no run: (None, False)."""
    job_id = job_id_for_object(bucket, obj.key, obj.etag)
    jobs_table.create_job(job_id, file_name=sanitise_file_name(PurePosixPath(obj.key).name), input_key=obj.key,
                          input_version=obj.version_id)
    refused = drop_suffix_problem(obj.key, drop_prefix)
    if refused is not None:
        jobs_table.mark_failed(job_id, refused)  # PENDING -> FAILED; a repeat finds it FAILED and changes nothing
        return None, False
    claimed = jobs_table.claim_launch(job_id) is not None
    return RunRequest(
        run_key=f"{obj.key}@{obj.etag}",  # unique per object version: a re-upload is a new job
        partition_key=run_day(),
        tags={"s3_key": obj.key, "etag": obj.etag, JOB_TAG: job_id},
    ), claimed
