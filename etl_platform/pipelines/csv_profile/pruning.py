"""Pipeline C's partitions stay bounded: per-file partitions are pruned after a retention.

C keeps one dynamic partition per file name, unlike A and B (daily partitions): a file's
partition is its profile history (each materialization one profile, the drift check
comparing it with the one before), and the operator step for a file whose runs all died
names it (`dagster asset materialize -m etl_platform.definitions --select csv_profile
--partition <file name>`). Names are the uploaders' own, though: dated exports make a new
name every day, and the partitions grew with them for ever (Dagster advises at most ~100k
per asset; SQLite storage fails near 36k dynamic partitions).

`csv_partition_pruner` (every hour, in the daemon) deletes the partitions that
core/partition_pruning.py picks: files not uploaded for `profiling.partition_retention_days`
or gone from the upload prefix, keeping those whose profile is `error` while their upload
remains and those with a run in flight, and at most `profiling.max_file_partitions` in all.
A pruned file's item, summary and run history stay; uploading it again adds its partition
back (the upload sensor). Each pass lists the upload prefix once (as the reconciliation
does) and reads the metadata items of past-retention files only (BatchGetItem, 100 a call).
"""

from __future__ import annotations

import time

from dagster import DagsterRunStatus, DefaultSensorStatus, RunsFilter, SensorEvaluationContext, SensorResult, SkipReason, sensor

from etl_platform.config import Settings
from etl_platform.core.partition_pruning import PruneRules, partitions_to_prune
from etl_platform.pipelines.csv_profile.partitions import csv_files_partitions
from etl_platform.pipelines.csv_profile.settlement import PARTITION_TAG
from etl_platform.resources.connection import PlatformS3Resource
from etl_platform.resources.file_metadata import FileMetadataTable
from etl_platform.resources.s3_listing import list_objects

PRUNE_INTERVAL_SECONDS = 3600
# runs that may still need their partition (Dagster's own list is private)
NOT_FINISHED = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING,
                DagsterRunStatus.STARTED, DagsterRunStatus.SUSPENDED, DagsterRunStatus.CANCELING]
MAX_DELETES_PER_TICK = 1000


def build_partition_pruner(settings: Settings, job):
    profiling = settings.profiling
    rules = PruneRules(retention_days=profiling.partition_retention_days, cap=profiling.max_file_partitions,
                       max_deletes=MAX_DELETES_PER_TICK)

    @sensor(minimum_interval_seconds=PRUNE_INTERVAL_SECONDS, default_status=DefaultSensorStatus.RUNNING,
            description=f"Deletes the partitions of files not uploaded for {rules.retention_days} days "
                        f"(keeping failed ones still uploaded), at most {rules.cap} kept")
    def csv_partition_pruner(context: SensorEvaluationContext, s3: PlatformS3Resource,
                             file_metadata_table: FileMetadataTable):
        keys = context.instance.get_dynamic_partitions(csv_files_partitions.name)
        if not keys:
            return SkipReason("no file partition")
        prefix, now = profiling.upload_prefix, time.time()
        uploaded = {o.key[len(prefix):]: o.last_modified
                    for o in list_objects(s3.get_client(), settings.names.csv_data_bucket, prefix, "")}
        stale = [k for k in keys if k in uploaded and uploaded[k] < now - rules.retention_days * 86400]
        errored = {i["file_name"] for i in file_metadata_table.batch_get([{"file_name": k} for k in stale])
                   if i.get("status") == "error"} if stale else set()
        in_flight = {r.tags.get(PARTITION_TAG) for r in context.instance.get_runs(
            RunsFilter(job_name=job.name, statuses=NOT_FINISHED))}
        doomed = partitions_to_prune(keys, uploaded, errored, in_flight, now, rules)
        if not doomed:
            return SkipReason(f"{len(keys)} file partitions, none to prune")
        context.log.info(f"pruning {len(doomed)} of {len(keys)} file partitions: {doomed[:20]}")
        return SensorResult(dynamic_partitions_requests=[csv_files_partitions.build_delete_request(doomed)])

    return csv_partition_pruner
