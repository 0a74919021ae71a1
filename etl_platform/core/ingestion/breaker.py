"""The circuit breaker of seed 003: after K consecutive failed manifests, stop requesting
processing runs until a cool-down passes or an operator resets it.

What counts: a manifest that fails as a whole (its run ends it `failed`). Problems of one
file never count: an invalid file is quarantined, a malformed line is rejected, a file
overwritten or deleted since its claim is left out of its manifest, a file an engine
cannot read or convert ends `failed#N` alone; the manifest still completes. Only when
none of its files converts does the manifest fail (then the run, not the input, is the
likelier culprit). So K failures in a row say the platform is broken (output bucket or permissions
gone, Glue down), not that some input is bad.

Scope: one breaker for the whole pipeline, on purpose. What it guards against is systemic:
a missing bucket or a broken engine fails every date alike, and a breaker per date would
let such a fault fail K manifests on every date before anything stops. A date with bad data
does not trip it, because bad data fails files, not manifests (above), and a success on
any date breaks the streak.

Concurrency (the tracking table applies these as single atomic updates of one item;
`opens` is also checked before the conditional write, to skip it when it cannot apply):
- a failure adds 1 to `consecutive_failures` and to `failures_total` (never reset) in one
  update, and gets the new counts back: N concurrent failures count N;
- the breaker opens with a conditional write that sets `opened_at` only while the count is
  at or past K and it is not open already (`opens`), so concurrent failures open it once;
  a failure after the cool-down (a failed probe) opens it again;
- a success resets the streak only if no failure was counted since its run started
  (`failures_total` unchanged): a failure newer than the success's start is newer evidence,
  and a success must not erase it;
- an operator reset sets the count to 0 and closes it unconditionally: doing it twice is
  the same as once.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BreakerState:
    consecutive_failures: int = 0
    opened_at: float | None = None  # epoch seconds of the failure that (last) opened it
    failures_total: int = 0  # every failure ever counted: a success's "nothing failed since I started"
    times_opened: int = 0


def is_open(state: BreakerState, now: float, cooldown_seconds: float) -> bool:
    return state.opened_at is not None and state.opened_at + cooldown_seconds > now


def opens(state: BreakerState, now: float, threshold: int, cooldown_seconds: float) -> bool:
    """Whether a failure that left the breaker in `state` opens it: the count reached K and
    it is not open already (closed, or its cool-down has passed)."""
    return state.consecutive_failures >= threshold and not is_open(state, now, cooldown_seconds)


def blocking_reason(state: BreakerState, now: float, threshold: int, cooldown_seconds: float) -> str | None:
    """Why processing is paused, or None if runs may be requested."""
    if state.consecutive_failures < threshold or not is_open(state, now, cooldown_seconds):
        return None
    remaining = state.opened_at + cooldown_seconds - now
    return (
        f"circuit breaker open: {state.consecutive_failures} consecutive failed manifests; "
        f"processing resumes in {remaining:.0f} s or after `etl-platform ingest reset-breaker`"
    )
