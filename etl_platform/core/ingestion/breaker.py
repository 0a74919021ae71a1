"""The circuit breaker of seed 003: after K consecutive failed manifests, stop requesting
processing runs until a cool-down passes or an operator resets it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BreakerState:
    consecutive_failures: int = 0
    opened_at: float | None = None  # epoch seconds of the failure that tripped it

    def after_success(self) -> "BreakerState":
        return BreakerState()

    def after_failure(self, now: float, threshold: int) -> "BreakerState":
        # Each failure at or past the threshold (re)opens it: a failed probe after the
        # cool-down starts a new cool-down.
        failures = self.consecutive_failures + 1
        return BreakerState(failures, now if failures >= threshold else None)


def blocking_reason(state: BreakerState, now: float, threshold: int, cooldown_seconds: float) -> str | None:
    """Why processing is paused, or None if runs may be requested."""
    if state.opened_at is None or state.consecutive_failures < threshold:
        return None
    remaining = state.opened_at + cooldown_seconds - now
    if remaining <= 0:
        return None
    return (
        f"circuit breaker open: {state.consecutive_failures} consecutive failed manifests; "
        f"processing resumes in {remaining:.0f} s or after `etl-platform ingest reset-breaker`"
    )
