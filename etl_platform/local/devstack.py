"""`etl-platform dev`: the whole platform on one machine.

Starts the embedded AWS (unless it already runs), prepares a project-local DAGSTER_HOME
(SQLite storage), then runs `dagster dev` (webserver on 127.0.0.1:3000 plus the daemon, so
sensors tick) in the foreground, and pipeline A's REST API and web page on 127.0.0.1:8000.
Ctrl-C stops the API, Dagster and, if this command started it, the emulator, which saves
its snapshot first. Sample inputs are dropped on first start,
so the sensors run each pipeline's job once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from etl_platform.config import Settings
from etl_platform.local import emulator
from etl_platform.local.samples import drop_samples

DAGSTER_YAML = """\
# Written by `etl-platform dev`. SQLite storage lives in this folder (Dagster's default).
telemetry:
  enabled: false
run_queue:
  max_concurrent_runs: 4
# The daemon fails runs that never start or outlive any run of this platform (the Glue jobs
# time out after 120 minutes), so their settlement sensors act. The default run launcher
# cannot report a dead run worker: that needs the platform's own reaper.
run_monitoring:
  enabled: true
  start_timeout_seconds: 300
  max_runtime_seconds: 10800
  poll_interval_seconds: 60
"""


def prepare_dagster_home(settings: Settings) -> Path:
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
    return home


def dagster_instance(settings: Settings):
    """The DagsterInstance of DAGSTER_HOME, else of the project-local home (for commands
    and the API that run jobs in-process, so their runs show in the UI)."""
    from dagster import DagsterInstance

    if "DAGSTER_HOME" not in os.environ:
        os.environ["DAGSTER_HOME"] = str(prepare_dagster_home(settings))
    return DagsterInstance.get()


def dagster_environment(settings: Settings, endpoint: str) -> dict[str, str]:
    return {
        **os.environ,
        "DAGSTER_HOME": str(prepare_dagster_home(settings)),
        "ETL_MODE": "local",
        "ETL_ENV": settings.env,
        "ETL_ENDPOINT_URL": endpoint,
        "ETL_STATE_DIR": str(settings.state_dir),
    }


def run(settings: Settings) -> int:
    already_running = emulator.running_state(settings) is not None
    state = emulator.up(settings)
    print(f"embedded AWS: {state.endpoint}   (aws --endpoint-url {state.endpoint} s3 ls)", flush=True)
    dropped = drop_samples(settings.with_overrides(endpoint_url=state.endpoint))
    if dropped:
        buckets = sorted({uri.split("/")[2] for uri in dropped})
        print(f"samples dropped: {len(dropped)} objects in {', '.join(buckets)}", flush=True)
    command = [
        sys.executable, "-m", "dagster", "dev",
        "-w", str(settings.project_root / "workspace.yaml"),
        "-h", settings.webserver_host, "-p", str(settings.webserver_port),
    ]
    print(f"Dagster UI: http://{settings.webserver_host}:{settings.webserver_port}", flush=True)
    env = dagster_environment(settings, state.endpoint)
    # SIGTERM (a service manager, `kill`) takes the same clean path as Ctrl-C.
    signal.signal(signal.SIGTERM, _interrupt)
    # A background job starts with SIGINT ignored, and children inherit that: dagster dev
    # would then ignore the SIGINT that shuts it down (and be killed, orphaning its daemon
    # and webserver). A handled signal is reset to the default in the children.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    process = subprocess.Popen(command, env=env, cwd=settings.project_root)
    api = start_api(settings, env)
    try:
        return process.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        # A second Ctrl-C or SIGTERM must not cut this clean-up short: it would orphan Dagster
        # and the emulator. A terminal's Ctrl-C still reaches the children (it forces dagster).
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        # Children may not have had the terminal's Ctrl-C (started in the background, or SIGTERM here).
        stop(api)
        stop(process, signal.SIGINT, timeout=60)  # dagster dev shuts its daemon and webserver down on SIGINT
        if not already_running:
            emulator.down(settings)


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def start_api(settings: Settings, env: dict[str, str]) -> subprocess.Popen:
    """Pipeline A's REST API and web page; /trigger-job launches runs through this webserver."""
    graphql = f"http://{settings.webserver_host}:{settings.webserver_port}/graphql"
    command = [sys.executable, "-m", "etl_platform.cli", "api", "--host", settings.jobs.api_host,
               "--port", str(settings.jobs.api_port)]
    print(f"jobs API and web page: http://{settings.jobs.api_host}:{settings.jobs.api_port}", flush=True)
    return subprocess.Popen(command, env={**env, "ETL_DAGSTER_GRAPHQL_URL": graphql}, cwd=settings.project_root)


def stop(process: subprocess.Popen, how: int = signal.SIGTERM, timeout: float = 30) -> None:
    """Stop a child. After a Ctrl-C in a terminal it got the signal too and is already on
    its way out: give it a moment before signalling again (a second SIGINT forces dagster)."""
    try:
        process.wait(timeout=5)
        return
    except subprocess.TimeoutExpired:
        process.send_signal(how)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
