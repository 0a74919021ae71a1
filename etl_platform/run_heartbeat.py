"""A heartbeat on the Dagster run itself, and ending the runs whose worker died.

Why on the run and not on a record: every pipeline's run has one, whatever it holds in
progress (pipeline C holds no in-progress record at all), and a reaper can then judge any
job's runs the same way. The step renews run tag `etl/heartbeat_epoch` every
`heartbeat_seconds` (`with run_heartbeat(context, seconds):`); a reaper lists the job's
STARTED runs and ends those silent past the timeout (`end_silent_runs`), reporting them
FAILURE as run monitoring would if Dagster's default launcher could check its workers. The
run-status sensors then settle what those runs held. Tags live in the run storage
(SQLite locally, Postgres in production) that the step, the daemon and the reapers share.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Any, Iterator

from dagster import DagsterInstance, DagsterRun, DagsterRunStatus, RunsFilter

from etl_platform.core.liveness import Verdict
from etl_platform.heartbeat import heartbeat
from etl_platform.liveness import fail_silent_run, run_verdict

HEARTBEAT_TAG = "etl/heartbeat_epoch"


def beat_run(instance: DagsterInstance, run_id: str, now: float | None = None) -> None:
    instance.add_run_tags(run_id, {HEARTBEAT_TAG: f"{time.time() if now is None else now:.3f}"})


@contextmanager
def run_heartbeat(context: Any, interval_seconds: float) -> Iterator[None]:
    """Within: the step's run beats every `interval_seconds` (from a background thread)."""
    instance, run_id = context.instance, context.run.run_id
    with heartbeat(lambda: beat_run(instance, run_id), interval_seconds):
        yield


def last_heartbeat(run: DagsterRun | None) -> float | None:
    """The run's last beat (epoch seconds), None if it never beat (or the tag is not ours)."""
    try:
        return float(run.tags[HEARTBEAT_TAG]) if run is not None else None
    except (KeyError, ValueError):
        return None


def run_liveness(instance: DagsterInstance, run_id: str | None, now: float, timeout: float) -> Verdict:
    """`liveness.run_verdict` with the run's own heartbeat."""
    run = instance.get_run_by_id(run_id) if run_id else None
    return run_verdict(instance, run_id, last_heartbeat(run), now, timeout)


def end_silent_runs(instance: DagsterInstance, job_name: str, now: float, timeout: float) -> list[tuple[str, Verdict]]:
    """End every STARTED or CANCELING run of `job_name` silent for longer than `timeout`
    (`fail_silent_run`); the runs ended, with why."""
    ended = []
    for run in instance.get_runs(RunsFilter(job_name=job_name,
                                            statuses=[DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING])):
        verdict = run_verdict(instance, run.run_id, last_heartbeat(run), now, timeout)
        if verdict.worker_silent and fail_silent_run(instance, run.run_id, verdict):
            ended.append((run.run_id, verdict))
    return ended
