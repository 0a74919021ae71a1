"""Is the run that holds a record still alive? The rule every reaper applies.

A record in progress names its run, and the run carries its last heartbeat (a run tag,
etl_platform/run_heartbeat.py). The run is dead when Dagster has no such run, when the run
ended (it can end without settling the record: killed, cancelled, interrupted), or when it
is STARTED but silent for longer than `timeout` (its worker died and Dagster's default
launcher cannot notice). A run still queued or starting is alive: run monitoring's start
timeout fails it if it never starts. Pure: callers read the run's status from Dagster.
"""

from __future__ import annotations

from dataclasses import dataclass

WAITING = {"QUEUED", "NOT_STARTED", "STARTING", "MANAGED"}
RUNNING = {"STARTED", "CANCELING", "SUSPENDED"}
ENDED = {"SUCCESS", "FAILURE", "CANCELED"}


@dataclass(frozen=True)
class Verdict:
    alive: bool
    reason: str
    worker_silent: bool = False  # STARTED in Dagster but dead: the reaper must also fail the Dagster run


def judge(run_status: str | None, last_sign_of_life: float | None, now: float, timeout: float) -> Verdict:
    """`run_status`: the Dagster run's status name, None if there is no such run;
    `last_sign_of_life`: the latest of the record's heartbeat and the run's start (epoch s)."""
    if run_status is None:
        return Verdict(False, "no Dagster run holds it")
    if run_status in ENDED:
        return Verdict(False, f"its run ended {run_status}")
    if run_status in WAITING:
        return Verdict(True, f"its run is {run_status}")
    if run_status not in RUNNING:
        raise ValueError(f"unknown Dagster run status {run_status!r}")
    if last_sign_of_life is None or now - last_sign_of_life > timeout:
        silent = "no heartbeat" if last_sign_of_life is None else f"no heartbeat for {now - last_sign_of_life:.0f} s"
        return Verdict(False, f"its run is {run_status} but its worker is dead ({silent}, timeout {timeout:.0f} s)",
                       worker_silent=True)
    return Verdict(True, f"its run is {run_status} and beat {now - last_sign_of_life:.0f} s ago")
