"""`etl-platform dev` (what `make up` runs): emulator + Dagster webserver + daemon + the sample
run of each pipeline, then Ctrl-C."""

import json
import os
import signal
import subprocess
import time
import urllib.request

import pytest

from etl_platform.config import Settings
from etl_platform.resources import platform_resources

from etl_platform_tests.helpers import PROJECT_ROOT, VENV_BIN, cli_env, free_port, wait_for_http

pytestmark = pytest.mark.e2e


def test_dev_serves_the_ui_and_stops_cleanly(tmp_path):
    state = tmp_path / "state"
    ui_port = free_port()
    env = cli_env(state, ETL_LOCAL_PORT=str(free_port()), ETL_WEBSERVER_PORT=str(ui_port))
    log = open(tmp_path / "dev.log", "wb")
    process = subprocess.Popen([str(VENV_BIN / "etl-platform"), "dev"], env=env, cwd=PROJECT_ROOT,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        info = json.loads(wait_for_http(f"http://127.0.0.1:{ui_port}/server_info", timeout=240))
        assert "dagster_webserver_version" in info
        query = json.dumps({"query": "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }"}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{ui_port}/graphql", data=query, headers={"Content-Type": "application/json"})
        deadline = time.monotonic() + 120
        while True:
            entries = json.loads(urllib.request.urlopen(request, timeout=30).read())["data"]["workspaceOrError"]["locationEntries"]
            if entries and entries[0]["loadStatus"] == "LOADED" or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert [(e["name"], e["loadStatus"]) for e in entries] == [("etl_platform", "LOADED")]
        assert (state / "dagster" / "dagster.yaml").exists()
        endpoint = json.loads((state / "emulator.json").read_text())["endpoint"]
        wait_for_http(f"{endpoint}/moto-api/", timeout=10)

        # The daemon ticks the sensors: the sample CSV gets profiled without anyone asking.
        settings = Settings(state_dir=state, endpoint_url=endpoint)
        table = platform_resources(settings)["file_metadata_table"]
        deadline = time.monotonic() + 240
        while (item := table.latest_profile("sales_data.csv")) is None and time.monotonic() < deadline:
            time.sleep(2)
        assert item is not None, (tmp_path / "dev.log").read_text()[-3000:]
        assert item["status"] == "success" and item["row_count"] == 200
    finally:
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        process.wait(timeout=120)
    assert not (state / "emulator.json").exists(), (tmp_path / "dev.log").read_text()
    assert (state / "snapshot" / "snapshot.json").exists()
