"""Pipeline A's partitions: one per day a job's run was requested, the job named by the run
tag `job_id` (see pipelines/daily_runs.py).

A job is the user's unit (its id, status and output key live in the jobs table; they
re-trigger it by id), and each upload makes one: a dynamic partition per job grew by the
day's uploads for ever, where a daily one grows by 365 a year whatever the traffic. All
runs of a job are found by its tag, whatever day they ran. Runs from before this scheme
already carried the `job_id` tag (their partition key was the same id), so the settlement
sensors recognise them unchanged; their old dynamic partitions stay in the instance, unused.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

from etl_platform.pipelines.daily_runs import daily_partitions, tagged_unit

parquet_jobs_partitions = daily_partitions()
JOB_TAG = "job_id"


def run_day(now: float | None = None) -> str:
    """The partition of a run requested at `now` (UTC day)."""
    return datetime.fromtimestamp(time.time() if now is None else now, timezone.utc).date().isoformat()


def job_of(context) -> str:
    """The job this run converts (its run tag)."""
    return tagged_unit(context, JOB_TAG, "job")
