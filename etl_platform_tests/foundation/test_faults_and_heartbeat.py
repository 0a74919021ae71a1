"""A fault point kills its process exactly where and when the environment says; a
heartbeat keeps beating while the work runs and stops with it."""

import os
import signal
import subprocess
import sys
import threading
import time

from etl_platform.heartbeat import heartbeat

SCRIPT = """
from etl_platform.faults import fault_point
for i in range(1, 4):
    print(i, flush=True)
    fault_point("demo.step")
print("done", flush=True)
"""


def run(point: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "ETL_FAULT_POINT"}
    if point:
        env["ETL_FAULT_POINT"] = point
    return subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=60)


def test_a_fault_point_sigkills_at_the_nth_time():
    assert run(None).stdout.split() == ["1", "2", "3", "done"]
    assert run("other.step").stdout.split() == ["1", "2", "3", "done"]
    killed = run("demo.step@2")
    assert killed.returncode == -signal.SIGKILL and killed.stdout.split() == ["1", "2"]
    assert run("demo.step").stdout.split() == ["1"]


def test_a_heartbeat_beats_until_the_block_ends_and_survives_a_failed_beat():
    beats, third = [], threading.Event()

    def beat():
        beats.append(1)
        if len(beats) == 2:
            raise ConnectionError("table briefly unreachable")
        if len(beats) >= 3:
            third.set()

    with heartbeat(beat, interval_seconds=0.01):
        assert third.wait(10)
    count = len(beats)
    assert count >= 3
    time.sleep(0.1)
    assert len(beats) == count  # the thread stopped with the block
