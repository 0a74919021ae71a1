"""Read a run's liveness from the Dagster instance (the rule is core/liveness.py) and end
a run whose worker died, so the run-status sensors settle what it held."""

from __future__ import annotations

from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus

from etl_platform.core.liveness import Verdict, judge


def run_verdict(instance: DagsterInstance, run_id: str | None, heartbeat_epoch: float | None, now: float,
                timeout: float) -> Verdict:
    record = instance.get_run_record_by_id(run_id) if run_id else None
    if record is None:
        return judge(None, heartbeat_epoch, now, timeout)
    signs = [t for t in (heartbeat_epoch, record.start_time) if t is not None]
    verdict = judge(record.dagster_run.status.value, max(signs) if signs else None, now, timeout)
    if verdict.worker_silent:
        due = retry_due(instance, run_id)  # only read when it matters: one event-log query
        if due is not None:
            verdict = judge(record.dagster_run.status.value, max([*signs, due]), now, timeout)
    return verdict


def retry_due(instance: DagsterInstance, run_id: str) -> float | None:
    """When the run's latest step retry is due (epoch s), None if no step is up for retry. A
    run waiting out a retry's delay (Glue start throttling: up to 240 s) runs no step,
    so nothing beats its heartbeat; its worker is alive while it waits, and silent past that."""
    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.STEP_UP_FOR_RETRY,
                                           ascending=False, limit=1).records
    if not records:
        return None
    entry = records[0].event_log_entry
    data = entry.dagster_event.event_specific_data if entry.dagster_event else None
    return entry.timestamp + float(getattr(data, "seconds_to_wait", None) or 0)


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
