"""The emulator's clock: real time plus an offset that tests move forward.

DynamoDB TTL and S3 lifecycle rules act days after a write. Tests cannot wait that long, so
expiry (etl_platform/local/expiry.py) reads this clock instead of `time.time()`, and a test
advances it (`POST /_etl/clock {"advance_seconds": 2678400}`: 31 days) to see what would
exist a month later; `{"reset": true}` returns it to real time. Only what reads this clock moves: moto's own timestamps (S3
LastModified, SQS timers) stay real, as the objects and items they describe were written
at real times. The lagged-reads window is measured on it too.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

from etl_platform.local.control import route

_lock = threading.Lock()
_offset = 0.0
_listeners: list[Callable[[], dict[str, Any]]] = []


def now() -> float:
    """Epoch seconds on the emulator's clock."""
    return time.time() + _offset


def advance(seconds: float) -> float:
    global _offset
    if seconds < 0:
        raise ValueError("the clock only moves forward")
    with _lock:
        _offset += seconds
    return _offset


def reset() -> None:
    """Back to real time (tests sharing one emulator start from the same clock)."""
    global _offset
    with _lock:
        _offset = 0.0


def on_advance(listener: Callable[[], dict[str, Any]]) -> None:
    """Run `listener` after each advance (expiry sweeps there); its result joins the answer."""
    _listeners.append(listener)


def _control(body: dict[str, Any] | None) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if body is not None:
        if body.get("reset"):
            reset()
        if "advance_seconds" in body:
            advance(float(body["advance_seconds"]))
            for listener in _listeners:
                result.update(listener())
    return {"now": now(), "offset_seconds": _offset, **result}


def install_clock() -> None:
    route("clock", _control)
