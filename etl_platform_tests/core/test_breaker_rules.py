"""The circuit breaker's rules on plain values (the tracking table applies the same rules
as conditional DynamoDB updates: etl_platform_tests/ndjson_to_parquet/test_breaker_atomic.py)."""

from etl_platform.core.ingestion.breaker import BreakerState, blocking_reason, is_open, opens, success_resets

K, COOLDOWN = 3, 600.0


def _failures(n: int) -> BreakerState:
    state = BreakerState()
    for _ in range(n):
        state = state.after_failure()
    return state


def test_a_failure_counts_once_in_the_streak_and_in_the_total():
    state = _failures(2)
    assert (state.consecutive_failures, state.failures_total, state.opened_at) == (2, 2, None)


def test_it_opens_at_the_threshold_and_not_before():
    assert not opens(_failures(K - 1), now=100.0, threshold=K, cooldown_seconds=COOLDOWN)
    assert opens(_failures(K), now=100.0, threshold=K, cooldown_seconds=COOLDOWN)


def test_an_open_breaker_does_not_open_again_until_its_cooldown_passed():
    opened = BreakerState(K, opened_at=100.0, failures_total=K, times_opened=1)
    later = opened.after_failure()
    assert not opens(later, now=100.0 + COOLDOWN - 1, threshold=K, cooldown_seconds=COOLDOWN)
    # a failed probe after the cool-down starts a new one
    assert opens(later, now=100.0 + COOLDOWN, threshold=K, cooldown_seconds=COOLDOWN)


def test_it_blocks_while_open_and_stops_blocking_when_the_cooldown_ends():
    opened = BreakerState(K, opened_at=100.0, failures_total=K)
    assert is_open(opened, 100.0 + COOLDOWN - 1, COOLDOWN)
    assert "circuit breaker open: 3 consecutive failed manifests" in blocking_reason(opened, 101.0, K, COOLDOWN)
    assert blocking_reason(opened, 100.0 + COOLDOWN, K, COOLDOWN) is None
    assert blocking_reason(_failures(K), 101.0, K, COOLDOWN) is None  # counted, not opened: nothing blocks


def test_a_success_resets_only_if_no_failure_was_counted_since_its_run_started():
    state = _failures(2)
    assert success_resets(state, failures_total_at_start=2)
    assert not success_resets(state.after_failure(), failures_total_at_start=2)  # a newer failure stands
    assert not success_resets(BreakerState(0, failures_total=5), failures_total_at_start=5)  # nothing to reset
