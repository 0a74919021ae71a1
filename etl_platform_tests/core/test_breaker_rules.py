"""The circuit breaker's rules on plain values (the tracking table applies the same rules
as conditional DynamoDB updates: etl_platform_tests/ndjson_to_parquet/test_breaker_atomic.py)."""

from etl_platform.core.ingestion.breaker import BreakerState, blocking_reason, is_open, opens

K, COOLDOWN = 3, 600.0


def _failures(n: int) -> BreakerState:
    return BreakerState(consecutive_failures=n, failures_total=n)


def test_it_opens_at_the_threshold_and_not_before():
    assert not opens(_failures(K - 1), now=100.0, threshold=K, cooldown_seconds=COOLDOWN)
    assert opens(_failures(K), now=100.0, threshold=K, cooldown_seconds=COOLDOWN)


def test_an_open_breaker_does_not_open_again_until_its_cooldown_passed():
    opened = BreakerState(K, opened_at=100.0, failures_total=K, times_opened=1)
    later = BreakerState(K + 1, opened_at=100.0, failures_total=K + 1, times_opened=1)
    assert not opens(later, now=100.0 + COOLDOWN - 1, threshold=K, cooldown_seconds=COOLDOWN)
    # a failed probe after the cool-down starts a new one
    assert opens(later, now=100.0 + COOLDOWN, threshold=K, cooldown_seconds=COOLDOWN)


def test_it_blocks_while_open_and_stops_blocking_when_the_cooldown_ends():
    opened = BreakerState(K, opened_at=100.0, failures_total=K)
    assert is_open(opened, 100.0 + COOLDOWN - 1, COOLDOWN)
    assert "circuit breaker open: 3 consecutive failed manifests" in blocking_reason(opened, 101.0, K, COOLDOWN)
    assert blocking_reason(opened, 100.0 + COOLDOWN, K, COOLDOWN) is None
    assert blocking_reason(_failures(K), 101.0, K, COOLDOWN) is None  # counted, not opened: nothing blocks

