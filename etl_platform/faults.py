"""Fault points: named places in the platform where a test can have the process killed.

`fault_point("ndjson.claim")` does nothing unless the environment names that point:

    ETL_FAULT_POINT=ndjson.claim        SIGKILL this process the first time it gets there
    ETL_FAULT_POINT=ndjson.claim@3      ... the third time (e.g. mid-claim, after two claims)

SIGKILL, not an exception: it is what an OOM killer, a lost host or `kill -9` does, so no
`except`, `finally` or atexit handler of ours runs, and whatever the process wrote as "in
progress" must be settled by something else (the settlement sensors and reapers). The
fault-injection tests start real processes with this variable set and check that recovery
leaves every row in the output once and every record terminal.

Why by hand: Python has no failpoint library that works across the subprocesses Dagster
starts (run workers, step processes); an environment variable is inherited by all of them.
Unset, a fault point costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal
import threading
from collections import Counter

ENV = "ETL_FAULT_POINT"
_reached: Counter[str] = Counter()
_lock = threading.Lock()  # points inside thread pools (settle_files) count each pass once


def fault_point(name: str) -> None:
    wanted = os.environ.get(ENV)
    if not wanted:
        return
    point, _, nth = wanted.partition("@")
    if point != name:
        return
    with _lock:
        _reached[name] += 1
        if _reached[name] >= int(nth or 1):
            os.kill(os.getpid(), signal.SIGKILL)
