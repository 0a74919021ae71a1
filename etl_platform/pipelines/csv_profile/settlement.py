"""Settle a profile run of pipeline C that ended without recording its outcome.

The asset records `error` itself for bad input, but a run that is cancelled (Dagster's
interruption is a BaseException) or whose worker dies records nothing: the file's item
keeps describing an older upload (or is missing) and a half-written summary may remain.
These sensors run in the daemon: for each failed or cancelled run of the job they record
the file's item as `error` with the reason and remove its summary, unless a run profiled
the file since this one started (a conditional write).
"""

from __future__ import annotations

from datetime import datetime, timezone

from dagster import (
    DagsterRunStatus, DefaultSensorStatus, RunFailureSensorContext, RunStatusSensorContext, run_failure_sensor,
    run_status_sensor,
)

from etl_platform.config import Settings
from etl_platform.pipelines.csv_profile.sensors import VERSION_TAG
from etl_platform.pipelines.csv_profile.service import settle_unfinished_run
from etl_platform.resources.connection import PlatformS3Resource
from etl_platform.resources.file_metadata import FileMetadataTable

PARTITION_TAG = "dagster/partition"


def build_settlement_sensors(settings: Settings, job):
    profiling = settings.profiling

    def settle(context: RunStatusSensorContext, s3: PlatformS3Resource, metadata: FileMetadataTable, why: str):
        run = context.dagster_run
        file_name = run.tags.get(PARTITION_TAG)
        if not file_name:
            return
        record = context.instance.get_run_record_by_id(run.run_id)
        started = record.start_time or record.create_timestamp.timestamp() if record else None
        run_started = datetime.fromtimestamp(started, timezone.utc) if started else datetime.now(timezone.utc)
        recorded = settle_unfinished_run(
            s3.get_client(), metadata, bucket=settings.names.csv_data_bucket,
            key=profiling.upload_prefix + file_name, upload_prefix=profiling.upload_prefix,
            processed_prefix=profiling.processed_prefix, message=why[:2000], run_started=run_started,
            version_id=run.tags.get(VERSION_TAG),
        )
        if recorded:
            context.log.info(f"{file_name}: recorded as error after run {run.run_id} ended without a profile")

    @run_failure_sensor(monitored_jobs=[job], default_status=DefaultSensorStatus.RUNNING,
                        description="Records a file's profile as error when its run failed without doing so")
    def csv_profile_failed_runs(context: RunFailureSensorContext, s3: PlatformS3Resource,
                                file_metadata_table: FileMetadataTable):
        message = context.failure_event.message if context.failure_event else "the run failed"
        settle(context, s3, file_metadata_table, f"profiling did not finish: run {context.dagster_run.run_id} failed: {message}")

    @run_status_sensor(run_status=DagsterRunStatus.CANCELED, monitored_jobs=[job],
                       default_status=DefaultSensorStatus.RUNNING,
                       description="Records a file's profile as error when its run was cancelled")
    def csv_profile_cancelled_runs(context: RunStatusSensorContext, s3: PlatformS3Resource,
                                   file_metadata_table: FileMetadataTable):
        settle(context, s3, file_metadata_table, f"profiling did not finish: run {context.dagster_run.run_id} was cancelled")

    return [csv_profile_failed_runs, csv_profile_cancelled_runs]
