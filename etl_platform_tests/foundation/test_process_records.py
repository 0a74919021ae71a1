"""A state file naming a server (`api.json`, `emulator.json`) counts only while that server's
process runs: a SIGKILL leaves the file behind, and its pid may be given to another process."""

import json
import os
import subprocess
import sys

from etl_platform.config import Settings
from etl_platform.process_records import process_started, write_record


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _settings(state_dir) -> Settings:
    return Settings.from_env({"ETL_STATE_DIR": str(state_dir), "ETL_MODE": "local"})


def test_records_of_dead_processes_are_ignored(tmp_path):
    dead = _dead_pid()
    (tmp_path / "api.json").write_text(json.dumps({"url": "http://127.0.0.1:1", "pid": dead}))
    (tmp_path / "emulator.json").write_text(json.dumps({"endpoint": "http://127.0.0.1:2", "pid": dead}))
    settings = _settings(tmp_path)
    assert settings.jobs.api_base_url == f"http://127.0.0.1:{settings.jobs.api_port}"
    assert settings.endpoint_url == f"http://127.0.0.1:{settings.local_port}"


def test_a_record_whose_pid_now_names_another_process_is_ignored(tmp_path):
    # This process stands in for whatever got the recorded pid: alive, but started at another time.
    reused = {"pid": os.getpid(), "process_started": process_started() - 60}
    (tmp_path / "api.json").write_text(json.dumps({"url": "http://127.0.0.1:1", **reused}))
    (tmp_path / "emulator.json").write_text(json.dumps({"endpoint": "http://127.0.0.1:2", **reused}))
    settings = _settings(tmp_path)
    assert settings.jobs.api_base_url == f"http://127.0.0.1:{settings.jobs.api_port}"
    assert settings.endpoint_url == f"http://127.0.0.1:{settings.local_port}"


def test_records_of_running_processes_are_followed(tmp_path):
    write_record(tmp_path / "api.json", {"url": "http://127.0.0.1:1"})
    write_record(tmp_path / "emulator.json", {"endpoint": "http://127.0.0.1:2"})
    settings = _settings(tmp_path)
    assert settings.jobs.api_base_url == "http://127.0.0.1:1"
    assert settings.endpoint_url == "http://127.0.0.1:2"
