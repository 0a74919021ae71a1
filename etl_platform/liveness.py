"""Read a run's liveness from the Dagster instance (the rule is core/liveness.py) and end
a run whose worker died, so the run-status sensors settle what it held."""

from __future__ import annotations

from dagster import DagsterInstance, DagsterRunStatus

from etl_platform.core.liveness import Verdict, judge


def run_verdict(instance: DagsterInstance, run_id: str | None, heartbeat_epoch: float | None, now: float,
                timeout: float) -> Verdict:
    record = instance.get_run_record_by_id(run_id) if run_id else None
    if record is None:
        return judge(None, heartbeat_epoch, now, timeout)
    signs = [t for t in (heartbeat_epoch, record.start_time) if t is not None]
    return judge(record.dagster_run.status.value, max(signs) if signs else None, now, timeout)


def fail_silent_run(instance: DagsterInstance, run_id: str, verdict: Verdict) -> bool:
    """End a run whose worker is dead (what run monitoring does for launchers that can check
    their workers): a STARTED one as FAILURE, a CANCELING one (cancelled, then its worker
    died before it could stop) as CANCELED, so a cancellation stays one for the sensors,
    which re-run failed runs, never cancelled ones. True if this call ended it."""
    run = instance.get_run_by_id(run_id)
    if run is None or run.status not in (DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING):
        return False
    if run.status == DagsterRunStatus.CANCELING:
        instance.report_run_canceled(run, message=f"reaped: {verdict.reason}")
    else:
        instance.report_run_failed(run, message=f"reaped: {verdict.reason}")
    return True
