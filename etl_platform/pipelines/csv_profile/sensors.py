"""Watch s3://<data bucket>/uploads/ for CSV files: one run per new object version.

Every file uploaded there gets its run: one not named `*.csv` is recorded `error` with the
reason (service.py), not passed over."""


from dagster import (
    DefaultSensorStatus, RunRequest, SensorEvaluationContext, SensorResult, SkipReason, sensor,
)

from etl_platform.config import Settings
from etl_platform.core.upload_cursor import ListedObject
from etl_platform.pipelines.csv_profile.partitions import csv_files_partitions
from etl_platform.resources.connection import PlatformS3Resource
from etl_platform.resources.s3_listing import new_uploads

MAX_RUNS_PER_TICK = 50
VERSION_TAG = "s3/version_id"  # the object version a run profiles (absent: the current one)


def build_csv_upload_sensor(settings: Settings, job):
    bucket = settings.names.csv_data_bucket
    prefix = settings.profiling.upload_prefix

    @sensor(job=job, minimum_interval_seconds=10, default_status=DefaultSensorStatus.RUNNING,
            description=f"Profiles every new or re-uploaded s3://{bucket}/{prefix}*.csv "
                        "(any other file uploaded there: an error item saying why)")
    def csv_upload_sensor(context: SensorEvaluationContext, s3: PlatformS3Resource):
        new, next_cursor = new_uploads(s3.get_client(), bucket, prefix, "", context.cursor, MAX_RUNS_PER_TICK)
        if not new:
            return SkipReason(f"no new file under s3://{bucket}/{prefix}")
        requests = [profile_run_request(o, prefix) for o in new]
        return SensorResult(
            run_requests=requests,
            dynamic_partitions_requests=[csv_files_partitions.build_add_request(
                sorted({r.partition_key for r in requests}))],
            cursor=next_cursor,
        )

    return csv_upload_sensor


def profile_run_request(obj: ListedObject, prefix: str) -> RunRequest:
    """The run that profiles one uploaded object version (its file name is the partition)."""
    return RunRequest(
        run_key=f"{obj.key}@{obj.etag}",  # unique per object version: a re-upload runs again
        partition_key=obj.key[len(prefix):],
        tags={"s3_key": obj.key, "etag": obj.etag, VERSION_TAG: obj.version_id},
    )
