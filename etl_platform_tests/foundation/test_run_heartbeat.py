"""A run that beats is alive however long it works; the same run silent past the timeout is
judged dead, and `end_silent_runs` reports only such runs FAILURE."""

import time

from dagster import DagsterEvent, DagsterEventType, DagsterInstance, DagsterRunStatus, RetryPolicy, job, op

from etl_platform.core.attempts import ATTEMPT_TAG, attempt_of, next_attempt
from etl_platform.run_heartbeat import HEARTBEAT_TAG, end_silent_runs, last_heartbeat, run_heartbeat, run_liveness

TIMEOUT = 2.0
WORK = TIMEOUT + 1.0  # longer than the timeout: only beats keep the run alive


@op
def long_work(context):
    instance, run_id = context.instance, context.run.run_id
    time.sleep(WORK)
    silent = run_liveness(instance, run_id, time.time(), TIMEOUT)
    with run_heartbeat(context, interval_seconds=0.05):
        time.sleep(WORK)
        beating = run_liveness(instance, run_id, time.time(), TIMEOUT)
        ended_while_beating = end_silent_runs(instance, context.run.job_name, time.time(), TIMEOUT)
    return silent, beating, ended_while_beating


@job
def working():
    long_work()


def test_a_beating_run_is_alive_past_the_timeout_and_a_silent_one_is_not():
    with DagsterInstance.ephemeral() as instance:
        result = working.execute_in_process(instance=instance)
        silent, beating, ended_while_beating = result.output_for_node("long_work")
        assert not silent.alive and silent.worker_silent, silent.reason  # no beat, started WORK s ago
        assert beating.alive, beating.reason
        assert ended_while_beating == []
        assert last_heartbeat(instance.get_run_by_id(result.run_id)) is not None


def test_end_silent_runs_fails_only_a_started_run_that_stopped_beating():
    with DagsterInstance.ephemeral() as instance:
        now = time.time()
        run = instance.create_run_for_job(working, tags={HEARTBEAT_TAG: f"{now:.3f}"})
        # STARTED as a run worker marks it (the worker then dies: nothing else happens to it)
        instance.report_dagster_event(DagsterEvent(DagsterEventType.RUN_START.value, job_name=working.name),
                                      run_id=run.run_id)
        assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.STARTED
        assert end_silent_runs(instance, working.name, now=now + TIMEOUT / 2, timeout=TIMEOUT) == []
        [(run_id, verdict)] = end_silent_runs(instance, working.name, now=now + 10 * TIMEOUT, timeout=TIMEOUT)
        assert run_id == run.run_id and verdict.worker_silent
        assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.FAILURE
        assert end_silent_runs(instance, working.name, now=now + 10 * TIMEOUT, timeout=TIMEOUT) == []


def test_a_cancelling_run_whose_worker_died_ends_cancelled_not_failed():
    with DagsterInstance.ephemeral() as instance:
        run = instance.create_run_for_job(working)
        for event in (DagsterEventType.RUN_START, DagsterEventType.RUN_CANCELING):
            instance.report_dagster_event(DagsterEvent(event.value, job_name=working.name), run_id=run.run_id)
        assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.CANCELING
        [(run_id, _)] = end_silent_runs(instance, working.name, now=time.time() + 10 * TIMEOUT, timeout=TIMEOUT)
        assert instance.get_run_by_id(run_id).status == DagsterRunStatus.CANCELED


def test_attempts_are_bounded():
    assert attempt_of({}) == 1 and attempt_of({ATTEMPT_TAG: "junk"}) == 1
    assert next_attempt({}, 3) == 2 and next_attempt({ATTEMPT_TAG: "2"}, 3) == 3
    assert next_attempt({ATTEMPT_TAG: "3"}, 3) is None and next_attempt({}, 1) is None


RETRY_WAIT = TIMEOUT + 1.0  # a RetryPolicy delay longer than the timeout


@op(retry_policy=RetryPolicy(max_retries=1, delay=RETRY_WAIT))
def throttled_once(context):
    instance, run_id = context.instance, context.run.run_id
    if context.retry_number == 0:
        with run_heartbeat(context, interval_seconds=0.05):
            pass
        raise RuntimeError("ConcurrentRunsExceededException")  # as a refused Glue start
    [record] = instance.get_records_for_run(run_id, of_type=DagsterEventType.STEP_UP_FOR_RETRY).records
    up_for_retry = record.event_log_entry.timestamp
    # judged as a reaper would have judged the run while it waited, no step beating
    waiting = run_liveness(instance, run_id, up_for_retry + RETRY_WAIT - 0.1, TIMEOUT)
    past_due = run_liveness(instance, run_id, up_for_retry + RETRY_WAIT + TIMEOUT + 1, TIMEOUT)
    return waiting, past_due


@job
def retried():
    throttled_once()


def test_a_run_waiting_out_a_retry_delay_is_alive_until_the_retry_is_due():
    with DagsterInstance.ephemeral() as instance:
        result = retried.execute_in_process(instance=instance)
        waiting, past_due = result.output_for_node("throttled_once")
        assert waiting.alive, waiting.reason  # silent for longer than the timeout, but waiting for its retry
        assert not past_due.alive and past_due.worker_silent, past_due.reason
