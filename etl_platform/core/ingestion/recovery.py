"""What to do about a manifest left open (MANIFEST `pending` or `processing`): the rule the
reaper and the run-failure sensor of pipeline B both apply. Pure: they read the record and
the manifest's latest Dagster run, and carry the decision out.

    settled            completed/failed: nothing to do (the run, a sensor or a replay did it)
    wait               its latest run is alive (queued, starting, or running and beating), or
                       no run holds it yet and it is younger than the grace (its run request
                       may be on its way: the file-events sensor mints the record first), or a
                       re-run was requested for this very dead run less than the grace ago
    rerun              its latest run is dead (ended without settling it, or STARTED but
                       silent) and fewer than `max_attempts` runs were requested: one more run
                       of the same partition. A claim cut short resumes (`ndjson_manifest`
                       claims more while the MANIFEST is not `claimed`), a conversion cut short
                       starts again and overwrites the same deterministic output paths
    give_up            attempts exhausted, or its run was cancelled (an operator's decision,
                       not a crash: it is not undone behind their back; `etl-platform ingest
                       replay` is one command): MANIFEST and files failed, breaker, alert

`fail_silent_run`: the run is STARTED in Dagster but its worker is dead (Dagster's default
launcher cannot notice); whatever the action, the caller reports that run failed.

A deterministic failure never reaches this rule: the asset records it (MANIFEST `failed`)
before its run ends, and a failed manifest is settled. Only a run that could not settle
(killed, lost host, daemon or sensor killed between minting and requesting) leaves the
manifest open.
"""

from __future__ import annotations

from dataclasses import dataclass

from etl_platform.core.liveness import Verdict

OPEN = ("pending", "processing")
SETTLED, WAIT, RERUN, GIVE_UP = "settled", "wait", "rerun", "give_up"
CANCELLED = ("CANCELED", "CANCELING")  # a cancel whose worker died before it ended is still a cancel
NO_RUN = "-"  # the dead-run key of a manifest no Dagster run ever held


@dataclass(frozen=True)
class ManifestRecord:
    status: str
    created_epoch: float
    attempts: int = 1             # runs requested so far; the file-events sensor's first counts 1
    rerun_of: str | None = None   # the dead run the latest re-run was requested for
    rerun_epoch: float | None = None

    @classmethod
    def from_item(cls, item: dict) -> "ManifestRecord":
        return cls(status=item["status"], created_epoch=float(item.get("created_epoch", 0)),
                   attempts=int(item.get("attempts", 1)), rerun_of=item.get("rerun_of"),
                   rerun_epoch=float(item["rerun_epoch"]) if item.get("rerun_epoch") is not None else None)


@dataclass(frozen=True)
class LatestRun:
    run_id: str
    status: str       # Dagster run status name
    verdict: Verdict  # core/liveness.judge of that run


@dataclass(frozen=True)
class Decision:
    action: str
    reason: str
    dead_run: str = NO_RUN   # the run whose death this decision answers (the re-run's key)
    fail_silent_run: bool = False


def decide(record: ManifestRecord, run: LatestRun | None, now: float, *, grace_seconds: float,
           max_attempts: int) -> Decision:
    if record.status not in OPEN:
        return Decision(SETTLED, f"the manifest is {record.status}")
    if run is not None and run.verdict.alive:
        return Decision(WAIT, run.verdict.reason, run.run_id)
    if run is None and now - record.created_epoch < grace_seconds:
        return Decision(WAIT, f"no run yet, {now - record.created_epoch:.0f} s after it was minted "
                              f"(grace {grace_seconds:.0f} s)")
    dead = run.run_id if run else NO_RUN
    why = f"run {dead} {run.verdict.reason}" if run else "no Dagster run ever held it"
    silent = bool(run and run.verdict.worker_silent)
    if record.rerun_of == dead and record.rerun_epoch is not None and now - record.rerun_epoch < grace_seconds:
        return Decision(WAIT, f"{why}; its re-run was requested {now - record.rerun_epoch:.0f} s ago", dead, silent)
    if run is not None and run.status in CANCELLED:
        return Decision(GIVE_UP, f"{why}: cancelled by an operator, not re-run", dead, silent)
    if record.attempts >= max_attempts:
        return Decision(GIVE_UP, f"{why}; gave up after {record.attempts} runs (max {max_attempts})", dead, silent)
    return Decision(RERUN, f"{why}; run {record.attempts + 1} of at most {max_attempts}", dead, silent)
