"""Helpers shared by the benchmarks: run one engine per subprocess and measure it.

Each engine runs in a fresh interpreter so its peak RSS is its own: the parent
reaps the child with ``os.wait4``, whose rusage covers exactly that child
(``RUSAGE_CHILDREN`` would report the maximum over every child reaped so far).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any


@dataclass
class ChildResult:
    seconds: float  # as measured by the child around the work, imports excluded
    cpu_seconds: float  # user + system CPU of the child (all threads) around the work
    wall_seconds: float  # whole subprocess, interpreter start and imports included
    peak_rss_mb: float
    payload: dict[str, Any]


def run_child(argv: list[str], *, env: dict[str, str] | None = None) -> ChildResult:
    """Run ``python argv...``; the child must print one JSON object as its last stdout line."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    # Reading the pipes before wait4 avoids a deadlock on large outputs.
    out, err = proc.stdout.read(), proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{argv} failed ({proc.returncode}):\n{err.decode(errors='replace')[-3000:]}")
    payload = json.loads(out.decode().strip().splitlines()[-1])
    # ru_maxrss is in KiB on Linux.
    return ChildResult(payload.pop("seconds"), payload.pop("cpu_seconds"), wall, usage.ru_maxrss / 1024, payload)


def cpu_seconds() -> float:
    """User + system CPU time of this process so far, all threads."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def emit(seconds: float, cpu: float, **payload: Any) -> None:
    """Child side: report the timed section and any cross-check figures."""
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, **payload}, default=str), flush=True)


def format_table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:  # first column left-aligned, numbers right-aligned
        return "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])
