"""Settle a profile run of pipeline C that ended without recording its outcome, and re-run it.

The asset records `error` itself for bad input, but a run that is cancelled (Dagster's
interruption is a BaseException) or whose worker dies records nothing: the file's item
keeps describing an older upload (or is missing) and a half-written summary may remain.
These sensors run in the daemon: for each failed or cancelled run of the job they record
the file's item as `error` with the reason and remove its summary, unless a run profiled
the file since this one started (a conditional write). A run whose worker died and stayed
STARTED is first ended by the reaper (reaper.py), which makes it a failed run here.

Decision: a failed run that left no outcome is re-run by the platform, up to
`Settings.recovery.max_attempts` runs in all (run tag `etl/attempt`, core/attempts.py).
Profiling is idempotent: a re-run profiles the same object version (run tag
`s3/version_id`) and overwrites the one item and the one summary of the file, so nothing
is duplicated, and no user triggered it who could re-trigger it. The `error` recorded
first stays until the re-run succeeds, so the file is never shown with a stale profile.
A run that recorded its own outcome (bad input: `error` with the reason) is not re-run,
nor is a cancelled one: someone cancelled it on purpose. After the last attempt the item
stays `error`, naming the attempts; re-upload the file, or re-materialize its partition
in the UI, to profile it again.
"""

from __future__ import annotations

from datetime import datetime, timezone

from dagster import (
    DagsterRunStatus, DefaultSensorStatus, RunFailureSensorContext, RunRequest, RunStatusSensorContext,
    run_failure_sensor, run_status_sensor,
)

from etl_platform.config import Settings
from etl_platform.core.attempts import ATTEMPT_TAG, attempt_of, next_attempt
from etl_platform.pipelines.csv_profile.partitions import csv_files_partitions
from etl_platform.pipelines.csv_profile.sensors import VERSION_TAG
from etl_platform.pipelines.csv_profile.service import settle_unfinished_run
from etl_platform.resources.connection import PlatformS3Resource
from etl_platform.resources.file_metadata import FileMetadataTable

PARTITION_TAG = "dagster/partition"
# Set by the asset once it recorded the file's error itself. The timestamps are whole
# seconds, so "profiled since the run started" cannot tell a run that recorded its outcome
# within its first second from one that recorded nothing; this tag can.
OUTCOME_TAG = "etl/outcome_recorded"
CARRIED_TAGS = (VERSION_TAG, "s3_key", "etag")  # what the upload sensor tagged: the re-run profiles the same version


def build_settlement_sensors(settings: Settings, job):
    profiling, max_attempts = settings.profiling, settings.recovery.max_attempts

    def settle(context: RunStatusSensorContext, s3: PlatformS3Resource, metadata: FileMetadataTable, why: str) -> bool:
        """True if the run had left no outcome and its error is recorded now."""
        run = context.dagster_run
        file_name = run.tags.get(PARTITION_TAG)
        if not file_name:
            return False
        record = context.instance.get_run_record_by_id(run.run_id)
        if record and record.dagster_run.tags.get(OUTCOME_TAG):
            return False  # the run recorded its own outcome (bad input): its message stands
        started = record.start_time or record.create_timestamp.timestamp() if record else None
        run_started = datetime.fromtimestamp(started, timezone.utc) if started else datetime.now(timezone.utc)
        recorded = settle_unfinished_run(
            s3.get_client(), metadata, bucket=settings.names.csv_data_bucket,
            key=profiling.upload_prefix + file_name, upload_prefix=profiling.upload_prefix,
            processed_prefix=profiling.processed_prefix, message=why[:2000], run_started=run_started,
            version_id=run.tags.get(VERSION_TAG), run_id=run.run_id,
        )
        if recorded:
            context.log.info(f"{file_name}: recorded as error after run {run.run_id} ended without a profile")
        return recorded

    @run_failure_sensor(monitored_jobs=[job], request_job=job, default_status=DefaultSensorStatus.RUNNING,
                        description=("Records a file's profile as error when its run failed without doing so, "
                                     f"and profiles it again (at most {max_attempts} runs in all)"))
    def csv_profile_failed_runs(context: RunFailureSensorContext, s3: PlatformS3Resource,
                                file_metadata_table: FileMetadataTable):
        run = context.dagster_run
        message = context.failure_event.message if context.failure_event else "the run failed"
        attempt = next_attempt(run.tags, max_attempts)
        then = f"profiling it again (attempt {attempt} of {max_attempts})" if attempt else \
            f"gave up after {attempt_of(run.tags)} attempts"
        if not settle(context, s3, file_metadata_table,
                      f"profiling did not finish: run {run.run_id} failed: {message}; {then}") or attempt is None:
            return None
        # the pruner may have removed the file's partition since the run failed: a request for
        # a partition that does not exist would fail the sensor (adding one that exists is a no-op)
        context.instance.add_dynamic_partitions(csv_files_partitions.name, [run.tags[PARTITION_TAG]])
        return RunRequest(run_key=f"rerun-of-{run.run_id}", partition_key=run.tags[PARTITION_TAG],
                          tags={**{k: run.tags[k] for k in CARRIED_TAGS if k in run.tags}, ATTEMPT_TAG: str(attempt)})

    @run_status_sensor(run_status=DagsterRunStatus.CANCELED, monitored_jobs=[job],
                       default_status=DefaultSensorStatus.RUNNING,
                       description="Records a file's profile as error when its run was cancelled")
    def csv_profile_cancelled_runs(context: RunStatusSensorContext, s3: PlatformS3Resource,
                                   file_metadata_table: FileMetadataTable):
        settle(context, s3, file_metadata_table, f"profiling did not finish: run {context.dagster_run.run_id} was cancelled")

    return [csv_profile_failed_runs, csv_profile_cancelled_runs]
