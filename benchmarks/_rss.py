"""Peak-RSS measurement: run each engine in its own process and read its high-water mark."""

from __future__ import annotations

import json
import resource
import subprocess
import sys


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    """User + system CPU time of this process, all threads: less sensitive than wall
    time to other work on a shared machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def report(result: dict) -> None:
    """Child side: print the result with this process's peak RSS as the last stdout line."""
    print(json.dumps({**result, "peak_rss_mb": round(peak_rss_mb(), 1),
                      "cpu_seconds": round(cpu_seconds(), 2)}), flush=True)


def run_child(argv: list[str], timeout: float | None = None) -> dict:
    """Parent side: run ``python argv...`` and parse the JSON its ``report`` printed."""
    proc = subprocess.run([sys.executable, *argv], capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])
