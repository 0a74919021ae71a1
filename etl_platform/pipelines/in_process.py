"""Run one partition of a pipeline's job in this process, recorded in a DagsterInstance,
for the commands and the API that start runs without a daemon (replays, API triggers)."""

from __future__ import annotations

from typing import Any

from dagster import DagsterInstance, Definitions, DynamicPartitionsDefinition, PartitionsDefinition

from etl_platform.config import Settings
from etl_platform.console_log import LOGGERS
from etl_platform.resources import platform_resources


def resolve_job(settings: Settings, pipeline: Definitions, job_name: str) -> Any:
    """`job_name` of `pipeline`, bound to the platform's resources for `settings`."""
    return Definitions.merge(pipeline, Definitions(resources=platform_resources(settings), loggers=LOGGERS)
                             ).resolve_job_def(job_name)


def execute_partition(job: Any, instance: DagsterInstance, partitions: PartitionsDefinition,
                      partition_key: str, tags: dict[str, str], run_id: str | None = None) -> bool:
    """Execute the partition (a dynamic one added first if unknown: a run needs its partition);
    True on success."""
    if isinstance(partitions, DynamicPartitionsDefinition) and not instance.has_dynamic_partition(
            partitions.name, partition_key):
        instance.add_dynamic_partitions(partitions.name, [partition_key])
    result = job.execute_in_process(instance=instance, partition_key=partition_key, tags=tags, run_id=run_id,
                                    raise_on_error=False)
    return result.success
