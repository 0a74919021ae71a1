"""`etl-platform dev` (what `make up` runs): emulator + Dagster webserver + daemon + jobs API +
the sample run of each pipeline, then Ctrl-C."""

import json
import signal
import subprocess
import time
import urllib.request

import httpx
import pytest

from etl_platform.config import Settings
from etl_platform.local.samples import SAMPLE_LANDING_DATE, orders_parquet
from etl_platform.resources import platform_resources

from etl_platform_tests.helpers import PROJECT_ROOT, VENV_BIN, cli_env, free_port, wait_for_http

pytestmark = pytest.mark.e2e


def test_dev_serves_the_ui_and_stops_cleanly(tmp_path):
    state = tmp_path / "state"
    ui_port, api_port = free_port(), free_port()
    env = cli_env(state, ETL_LOCAL_PORT=str(free_port()), ETL_WEBSERVER_PORT=str(ui_port), ETL_API_PORT=str(api_port))
    log = open(tmp_path / "dev.log", "wb")
    # started as a shell's background job is: SIGINT ignored, inherited by its children
    process = subprocess.Popen([str(VENV_BIN / "etl-platform"), "dev"], env=env, cwd=PROJECT_ROOT,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        info = json.loads(wait_for_http(f"http://127.0.0.1:{ui_port}/server_info", timeout=480))
        assert "dagster_webserver_version" in info
        query = json.dumps({"query": "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }"}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{ui_port}/graphql", data=query, headers={"Content-Type": "application/json"})
        deadline = time.monotonic() + 300
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
        deadline = time.monotonic() + 480
        while (item := table.latest_profile("sales_data.csv")) is None and time.monotonic() < deadline:
            time.sleep(2)
        assert item is not None, (tmp_path / "dev.log").read_text()[-3000:]
        assert item["status"] == "success" and item["row_count"] == 200

        # Pipeline B: the 200 sample files fill one manifest, converted under the daemon.
        tracking = platform_resources(settings)["tracking_table"]
        deadline = time.monotonic() + 480
        while time.monotonic() < deadline:
            manifests = tracking.manifests_of_date(SAMPLE_LANDING_DATE)
            if manifests and all(m["status"] in ("completed", "failed") for m in manifests):
                break
            time.sleep(2)
        assert [m["status"] for m in manifests] == ["completed"], (tmp_path / "dev.log").read_text()[-3000:]
        # as in the seed's flow, the files turn completed#N just after their MANIFEST does
        deadline = time.monotonic() + 60
        while len(completed := tracking.files_in_state("completed", SAMPLE_LANDING_DATE)) < 200 and time.monotonic() < deadline:
            time.sleep(1)
        assert len(completed) == 200

        # Pipeline A: the sample Parquet becomes a job through the sensor, and an API upload
        # is launched through the webserver's GraphQL API; both complete under the daemon.
        api = f"http://127.0.0.1:{api_port}"
        wait_for_http(f"{api}/openapi.json", timeout=300)
        with httpx.Client(base_url=api, timeout=60) as client:
            uploaded = client.post("/upload", files={"file": ("again.parquet", orders_parquet(5))}).json()
            assert client.post("/trigger-job", json={"jobId": uploaded["jobId"]}).status_code == 202
            deadline = time.monotonic() + 480
            while time.monotonic() < deadline:
                done = {j["fileName"] for j in client.get("/jobs", params={"status": "COMPLETED"}).json()["jobs"]}
                if done == {"sample_orders.parquet", "again.parquet"}:
                    break
                time.sleep(2)
            assert done == {"sample_orders.parquet", "again.parquet"}, (tmp_path / "dev.log").read_text()[-3000:]
    finally:
        # SIGTERM to the command alone (as a service manager or `kill` would, or a background
        # job that ignores Ctrl-C): it must still stop Dagster, the API and the emulator, even
        # when an impatient operator signals again while it is shutting down.
        process.send_signal(signal.SIGTERM)
        time.sleep(2)
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.wait(timeout=180)
    for port in (ui_port, api_port):
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5)
    assert not (state / "emulator.json").exists(), (tmp_path / "dev.log").read_text()
    assert (state / "snapshot" / "snapshot.json").exists()


# --- supervision: a child that dies is restarted, or the whole stack stops --------------

def _start_dev(tmp_path, **extra):
    state = tmp_path / "state"
    ui_port, api_port = free_port(), free_port()
    env = cli_env(state, ETL_LOCAL_PORT=str(free_port()), ETL_WEBSERVER_PORT=str(ui_port), ETL_API_PORT=str(api_port),
                  **extra)
    log = open(tmp_path / "dev.log", "wb")
    process = subprocess.Popen([str(VENV_BIN / "etl-platform"), "dev"], env=env, cwd=PROJECT_ROOT,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    wait_for_http(f"http://127.0.0.1:{ui_port}/server_info", timeout=480)
    return process, state, ui_port, api_port


def _child(process, marker: str, must: bool = True):
    """The one live process under `etl-platform dev` run as `python -m <marker>` (at any
    depth: the test finds the daemon wherever a devstack runs it)."""
    import psutil

    found = []
    for child in psutil.Process(process.pid).children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE and child.cmdline()[1:3] == ["-m", marker]:
                found.append(child)
        except psutil.NoSuchProcess:
            pass
    if not must:
        return found[0] if len(found) == 1 else None
    assert len(found) == 1, [c.cmdline() for c in psutil.Process(process.pid).children()]
    return found[0]


def _sensor_heartbeat(ui_port: int) -> float | None:
    query = json.dumps({"query": "{ instance { daemonHealth { allDaemonStatuses { daemonType lastHeartbeatTime } } } }"}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{ui_port}/graphql", data=query, headers={"Content-Type": "application/json"})
    try:
        statuses = json.loads(urllib.request.urlopen(request, timeout=30).read())["data"]["instance"]["daemonHealth"]["allDaemonStatuses"]
    except OSError:
        return None
    return next((s["lastHeartbeatTime"] for s in statuses if s["daemonType"] == "SENSOR"), None)


def _wait(condition, timeout: float, what: str, log_path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(1)
    raise AssertionError(f"{what} within {timeout:.0f} s\n" + log_path.read_text()[-4000:])


def _stop(process):
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=240)


def test_a_killed_daemon_or_webserver_is_restarted_loudly(tmp_path):
    import psutil

    process, state, ui_port, api_port = _start_dev(tmp_path, ETL_DEV_RESTART_BUDGET="2")
    log_path = tmp_path / "dev.log"
    try:
        _wait(lambda: _sensor_heartbeat(ui_port), 300, "the daemon's sensor heartbeat", log_path)
        daemon = _child(process, "dagster._daemon")
        daemon.send_signal(signal.SIGKILL)
        killed_at = time.time()
        # the daemon alone comes back; the webserver answers all along
        _wait(lambda: (c := _child(process, "dagster._daemon", False)) and c.pid != daemon.pid, 60, "a new daemon", log_path)
        _wait(lambda: (beat := _sensor_heartbeat(ui_port)) and beat > killed_at, 300,
              "the sensors ticking again", log_path)
        out = log_path.read_text()
        assert f"dagster-daemon (pid {daemon.pid}) DIED with signal SIGKILL" in out
        assert "restarting dagster-daemon (restart 1 of 2" in out

        webserver = _child(process, "dagster_webserver")
        webserver.send_signal(signal.SIGKILL)
        _wait(lambda: (c := _child(process, "dagster_webserver", False)) and c.pid != webserver.pid, 60, "a new webserver", log_path)
        assert "dagster_webserver_version" in json.loads(wait_for_http(f"http://127.0.0.1:{ui_port}/server_info", timeout=300))
        assert f"dagster-webserver (pid {webserver.pid}) DIED with signal SIGKILL" in log_path.read_text()
        wait_for_http(f"http://127.0.0.1:{api_port}/openapi.json", timeout=120)
        assert process.poll() is None, log_path.read_text()[-3000:]
        assert not psutil.pid_exists(daemon.pid) or psutil.Process(daemon.pid).status() == psutil.STATUS_ZOMBIE
    finally:
        _stop(process)
    assert process.returncode == 0, log_path.read_text()[-3000:]
    assert not (state / "emulator.json").exists()


def test_a_child_dying_past_its_budget_stops_the_whole_stack(tmp_path):
    import psutil

    process, state, ui_port, api_port = _start_dev(tmp_path, ETL_DEV_RESTART_BUDGET="0")
    log_path = tmp_path / "dev.log"
    try:
        wait_for_http(f"http://127.0.0.1:{api_port}/openapi.json", timeout=300)
        everything = psutil.Process(process.pid).children(recursive=True)
        emulator_pid = json.loads((state / "emulator.json").read_text())["pid"]
        everything.append(psutil.Process(emulator_pid))
        assert len(everything) >= 4  # webserver, daemon, API (+ code servers), emulator
        _child(process, "dagster._daemon").send_signal(signal.SIGKILL)
        process.wait(timeout=300)
    finally:
        _stop(process)
    out = log_path.read_text()
    assert process.returncode == 1, out[-3000:]
    assert "dagster-daemon" in out and "restart budget is spent" in out and "stopping the whole stack" in out
    _, alive = psutil.wait_procs(everything, timeout=30)
    alive = [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not alive, [(p.pid, p.cmdline()) for p in alive]
    assert not (state / "emulator.json").exists()
    for port in (ui_port, api_port):
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5)
