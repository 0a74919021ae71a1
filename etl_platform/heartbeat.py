"""A heartbeat: a background thread that renews a sign of life while work runs.

Dagster's default run launcher cannot tell whether a run worker is alive (its
`supports_check_run_worker_health` is False): a worker killed by SIGKILL or OOM leaves its
run STARTED for ever. So every step that holds something in progress beats (the beat is a
run tag: etl_platform/run_heartbeat.py), and a reaper that finds a run silent for longer
than its timeout treats the worker as dead (core/liveness.py). This works the same on AWS
(ECS tasks die the same way) and needs nothing from the launcher.
"""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from typing import Callable, Iterator

log = logging.getLogger(__name__)


@contextmanager
def heartbeat(beat: Callable[[], object], interval_seconds: float) -> Iterator[None]:
    """Call `beat()` now and every `interval_seconds` until the block ends. A failed beat
    is logged, not raised: a slow or briefly unreachable table must not fail the work; a
    reaper only acts after several missed beats."""
    stop = threading.Event()

    def loop() -> None:
        while True:
            try:
                beat()
            except Exception as exc:  # noqa: BLE001 - see docstring
                log.warning(f"heartbeat not recorded: {exc!r}")
            if stop.wait(interval_seconds):
                return

    thread = threading.Thread(target=loop, name="etl-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=interval_seconds + 5)
