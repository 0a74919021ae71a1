"""Daily partitions whose unit of work is a run tag (pipelines A and B).

A dynamic partition per manifest (B) or per job (A) grows by one row per unit of work in
the instance's storage and is never pruned: at prod traffic (50,000 manifests a day into
B) Dagster's guidance of at most ~100,000 partitions per asset is passed in two days, and
SQLite storage fails near 36,000 dynamic partitions. A daily partition grows by one a day
whatever the traffic (core/partition_days.py fixes which days), and runs of the same day
run side by side: each run names its unit (manifest, job) in a run tag, which the asset
reads (`tagged_unit`), the sensors and reapers set and search by, and Dagster's
re-execution copies from the parent run (the UI's "Re-execute" launches with
`useParentRunTags`, true by default), so a failed run is still replayed with one click.
"""

from __future__ import annotations

from dagster import DailyPartitionsDefinition, Failure

from etl_platform.core.partition_days import DAYS_AHEAD, FIRST_DAY


def daily_partitions() -> DailyPartitionsDefinition:
    # end_offset 1 is today's partition; DAYS_AHEAD more after it
    return DailyPartitionsDefinition(start_date=FIRST_DAY, end_offset=1 + DAYS_AHEAD)


def tagged_unit(context, tag: str, what: str) -> str:
    """The unit of work this run is for, from its run tag; a clear failure, never retried,
    when a run was launched without it (a day materialized by hand, without the tag)."""
    unit = context.run.tags.get(tag)
    if not unit:
        raise Failure(description=f"run {context.run.run_id} names no {what}: partition {context.partition_key} holds "
                                  f"many; launch it with the run tag {tag}=<{what} id>", allow_retries=False)
    return unit
