"""`etl-platform dev`: the whole platform on one machine.

Starts the embedded AWS (unless it already runs), prepares a project-local DAGSTER_HOME
(SQLite storage), then runs `dagster dev` (webserver on 127.0.0.1:3000 plus the daemon, so
sensors tick) in the foreground. Ctrl-C stops Dagster and, if this command started it,
the emulator, which saves its snapshot first. Sample inputs are dropped on first start,
so the sensors run each pipeline's job once.
"""

from __future__ import annotations

import os
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
"""


def prepare_dagster_home(settings: Settings) -> Path:
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
    return home


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
    for uri in drop_samples(settings.with_overrides(endpoint_url=state.endpoint)):
        print(f"sample dropped: {uri}", flush=True)
    command = [
        sys.executable, "-m", "dagster", "dev",
        "-w", str(settings.project_root / "workspace.yaml"),
        "-h", settings.webserver_host, "-p", str(settings.webserver_port),
    ]
    print(f"Dagster UI: http://{settings.webserver_host}:{settings.webserver_port}", flush=True)
    process = subprocess.Popen(command, env=dagster_environment(settings, state.endpoint), cwd=settings.project_root)
    try:
        return process.wait()
    except KeyboardInterrupt:
        return process.wait()
    finally:
        if not already_running:
            emulator.down(settings)
