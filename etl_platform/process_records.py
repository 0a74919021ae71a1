"""State files that name a running process (`emulator.json`, `api.json`).

Each server writes its record when it is ready and removes it when it stops, but a SIGKILL
skips that removal, and the kernel may later hand the same pid to another process. So a
record counts only while its pid is alive (not a zombie) and, when the record carries it,
that process started when the record says (psutil's create time). psutil gives the start
time; the atomic write and the comparison are the few lines no library offers.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

# psutil derives a start time from clock ticks since boot: the same process reads the same
# value within well under this, and a reused pid started at least this much later.
_SAME_START = 0.5


def process_started(pid: int | None = None) -> float:
    """When process `pid` (default: this one) started, as psutil reports it."""
    import psutil  # here, not at the top: config imports this module, and the validator Lambda's package has no psutil

    return psutil.Process(pid).create_time()


def write_record(path: Path, record: dict) -> None:
    """Write `record` plus this process's pid and start time to `path` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps({**record, "pid": os.getpid(), "process_started": process_started()}))
    os.replace(partial, path)


def alive(pid: int, started: float | None = None) -> bool:
    """Whether `pid` is a live process (zombies count as gone) that started at `started`, if given."""
    import psutil  # see process_started

    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        return started is None or abs(process.create_time() - started) < _SAME_START
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:  # exists, but another user's: cannot be told apart further
        return True


def live_record(path: Path) -> dict | None:
    """The record at `path` if its process still runs; None if absent, unreadable or stale.

    A stale record is left in place: deleting it could race with a server writing a fresh
    one, and the next server to start replaces it anyway."""
    try:
        record = json.loads(path.read_text())
        pid = int(record["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return record if alive(pid, record.get("process_started")) else None
