"""Pipeline C's reconciliation: uploads the upload sensor never profiled.

The upload sensor looks one hour below its watermark, so an upload it missed (a multipart
upload that took longer, a sensor stopped and its cursor reset, a run request lost) would
never be profiled. Every 15 minutes `csv_upload_reconciliation` lists `uploads/*.csv`,
reads each file's metadata item (one BatchGetItem per 100 files) and requests the profile
run of each upload whose item is missing or describes an older upload, through the upload
sensor's own run key and partition (`profile_run_request`). Dagster skips a run key only
per sensor, so an upload is left alone while any run carries its run key (a run of the
upload sensor queued or in flight; one that ended unsettled is recorded by the settlement
sensors): an upload is profiled by at most one run per version.
"""

from __future__ import annotations

import time

from dagster import DefaultSensorStatus, SensorEvaluationContext, sensor

from etl_platform.config import Settings
from etl_platform.core.reconciliation import ReconcileWindow, unprofiled_uploads
from etl_platform.core.timestamps import iso_utc
from etl_platform.core.upload_cursor import ListedObject
from etl_platform.pipelines.csv_profile.partitions import csv_files_partitions
from etl_platform.pipelines.csv_profile.sensors import MAX_RUNS_PER_TICK, profile_run_request
from etl_platform.pipelines.reconciliation import (
    RECONCILE_INTERVAL_SECONDS, landing_reconciled_check, recovery_runs, run_key_taken,
)
from etl_platform.resources.connection import PlatformS3Resource
from etl_platform.resources.file_metadata import FileMetadataTable
from etl_platform.resources.s3_listing import list_objects

LANDING_ASSET = "csv_uploads"


def unprofiled(s3_client, metadata: FileMetadataTable, settings: Settings, now: float) -> tuple[int, list[ListedObject]]:
    """(uploads listed, those whose profile is missing or older than the upload)."""
    prefix = settings.profiling.upload_prefix
    objects = list_objects(s3_client, settings.names.csv_data_bucket, prefix, "")
    keys = [{"file_name": o.key[len(prefix):]} for o in objects]
    profiles = {item["file_name"]: item for item in metadata.batch_get(keys)} if keys else {}
    window = ReconcileWindow(grace_seconds=settings.reconcile_grace_seconds)
    return len(objects), unprofiled_uploads(objects, profiles, prefix, now, window, iso_utc)


def build_csv_reconciliation(settings: Settings, job):
    """(sensor, `landing_reconciled` check) of pipeline C."""
    prefix = settings.profiling.upload_prefix

    @sensor(name="csv_upload_reconciliation", job=job, minimum_interval_seconds=RECONCILE_INTERVAL_SECONDS,
            default_status=DefaultSensorStatus.RUNNING,
            description=f"Profiles uploads under s3://{settings.names.csv_data_bucket}/{prefix} the upload sensor missed")
    def csv_upload_reconciliation(context: SensorEvaluationContext, s3: PlatformS3Resource,
                                  file_metadata_table: FileMetadataTable):
        listed, missing = unprofiled(s3.get_client(), file_metadata_table, settings, time.time())
        requests = [r for r in (profile_run_request(o, prefix) for o in missing)
                    if not run_key_taken(context.instance, r.run_key)][:MAX_RUNS_PER_TICK]
        return recovery_runs(context, LANDING_ASSET, csv_files_partitions, requests, listed=listed,
                             untracked=len(missing), what="profiling uploads the upload sensor missed")

    def unprofiled_now(resources) -> tuple[int, list[str]]:
        listed, missing = unprofiled(resources.s3, resources.file_metadata_table, settings, time.time())
        return listed, [o.key for o in missing]

    return csv_upload_reconciliation, landing_reconciled_check(LANDING_ASSET, {"s3", "file_metadata_table"},
                                                               unprofiled_now)
