"""`etl-platform jobs` finds the running API as `local env` finds the emulator: through the
state folder, with no ETL_API_PORT in the shell."""

import json
import os
import signal
import subprocess

import httpx
import pytest

from etl_platform_tests.helpers import PROJECT_ROOT, VENV_BIN, cli_env
from etl_platform_tests.parquet_to_json.conftest import nested_table, parquet_bytes, running_api

pytestmark = pytest.mark.e2e


def _jobs(state, *args):
    env = cli_env(state)  # no ETL_API_PORT, no ETL_API_URL: only the state folder
    return subprocess.run([str(VENV_BIN / "etl-platform"), "jobs", *args], env=env, cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=120)


def test_jobs_finds_the_api_on_its_port_without_etl_api_port(emulator_settings, tmp_path_factory):
    with running_api(emulator_settings, tmp_path_factory, 10_000_000) as api:
        state = api.dagster_home.parent  # the API's state folder (its DAGSTER_HOME is <state>/dagster)
        uploaded = httpx.post(f"{api.url}/upload", files={"file": ("found.parquet", parquet_bytes(nested_table(3)))},
                              timeout=60).json()
        listed = _jobs(state, "list")
        assert listed.returncode == 0, listed.stderr
        assert uploaded["jobId"] in listed.stdout and "found.parquet" in listed.stdout
    # stopped: its record is gone (a command then tries the default port; stack-down errors: test_loud_cli.py)
    assert not (state / "api.json").exists()


def test_jobs_ignores_the_record_of_a_killed_api(emulator_settings, tmp_path_factory):
    with running_api(emulator_settings, tmp_path_factory, 10_000_000) as api:
        state = api.dagster_home.parent
        os.kill(json.loads((state / "api.json").read_text())["pid"], signal.SIGKILL)
        assert (state / "api.json").exists()  # a SIGKILL skips the removal
        listed = _jobs(state, "list")  # the killed API stays a zombie until the fixture reaps it
    # The dead API's URL is not followed: the command uses the default, as with no API started.
    default = "127.0.0.1:8000"
    assert api.url.removeprefix("http://") not in listed.stdout + listed.stderr
    if listed.returncode != 0:  # nothing on the default port: the one-line stack-down error
        assert default in listed.stderr and len(listed.stderr.strip().splitlines()) == 1, listed.stderr
