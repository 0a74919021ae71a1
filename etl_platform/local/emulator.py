"""Start, stop and inspect the embedded AWS process (`etl-platform local ...`)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass

from etl_platform.aws import client_for
from etl_platform.config import AwsCredentials, Settings
from etl_platform.local.ports import Port, PortTaken, check_free
from etl_platform.local.provision import provision
from etl_platform.local.snapshot import Snapshot, SnapshotSummary
from etl_platform.glue_artifacts import upload_glue_scripts
from etl_platform.process_records import alive


class EmulatorError(RuntimeError):
    pass


@dataclass(frozen=True)
class EmulatorState:
    endpoint: str
    pid: int
    port: int
    started_at: float
    admin_credentials: dict | None = None  # IAM mode: the keys that may provision and wipe
    process_started: float | None = None  # tells a reused pid apart (process_records.py)

    def live_settings(self, settings: Settings) -> Settings:
        """`settings` pointed at this emulator, as its admin when IAM is enforced."""
        creds = self.admin_credentials
        admin = AwsCredentials(creds["aws_access_key_id"], creds["aws_secret_access_key"]) if creds else None
        return settings.with_overrides(endpoint_url=self.endpoint, credentials=admin or settings.credentials)


def running_state(settings: Settings) -> EmulatorState | None:
    """The recorded emulator, if its process is alive and answers."""
    try:
        state = EmulatorState(**json.loads(settings.endpoint_file.read_text()))
    except (OSError, ValueError, TypeError):
        return None
    if not alive(state.pid, state.process_started) or not _answers(state.endpoint):
        return None
    return state


def up(settings: Settings, *, port: int | None = None, snapshot_interval: float | None = None,
       timeout: float = 120.0, strict: dict[str, object] | None = None, iam: bool = False) -> EmulatorState:
    """Start the emulator in the background (or return the one already running).

    `strict` switches strict modes on at start, as `server.py`'s flags:
    {"read_lag": 2.0, "expiry": True, "strict_limits": True, "sweep_interval": 1.0};
    `iam` enforces IAM policies (README, "How the local stack proves IAM").
    """
    current = running_state(settings)
    if current:
        return current
    port = settings.local_port if port is None else port
    try:
        check_free([Port("embedded AWS", "127.0.0.1", port, "ETL_LOCAL_PORT")] if port else [])
    except PortTaken as exc:
        raise EmulatorError(str(exc)) from exc
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    settings.endpoint_file.unlink(missing_ok=True)
    command = [sys.executable, "-m", "etl_platform.local.server", "--state-dir", str(settings.state_dir),
               "--port", str(port)]
    if snapshot_interval is not None:
        command += ["--snapshot-interval", str(snapshot_interval)]
    command += strict_flags(strict or {})
    if iam:
        command.append("--iam")
    env = {**os.environ, "ETL_ENV": settings.env, "ETL_REGION": settings.region}
    env.pop("ETL_ENDPOINT_URL", None)
    log_file = open(settings.state_dir / "emulator.log", "ab")
    process = subprocess.Popen(
        command, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        env=env, cwd=settings.project_root, start_new_session=True,  # survives the CLI that started it
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EmulatorError(
                f"the emulator exited with code {process.returncode}; see {settings.state_dir / 'emulator.log'}"
            )
        state = running_state(settings)
        if state:
            return state
        time.sleep(0.2)
    process.terminate()
    raise EmulatorError(f"the emulator did not become ready in {timeout:.0f} s; see {settings.state_dir / 'emulator.log'}")


def strict_flags(strict: dict[str, object]) -> list[str]:
    unknown = set(strict) - {"read_lag", "expiry", "strict_limits", "sweep_interval"}
    if unknown:
        raise ValueError(f"unknown strict modes {sorted(unknown)}")
    flags: list[str] = []
    for name in ("read_lag", "sweep_interval"):
        if name in strict:
            flags += [f"--{name.replace('_', '-')}", str(float(strict[name]))]  # type: ignore[arg-type]
    for name in ("expiry", "strict_limits"):
        if name in strict:
            flags.append(f"--{'' if strict[name] else 'no-'}{name.replace('_', '-')}")
    return flags


def control(endpoint: str, name: str, body: dict | None = None, *, timeout: float = 60.0) -> dict:
    """GET (body None) or POST a route of the emulator's `/_etl/` control endpoint."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{endpoint}/_etl/{name}", data=data, method="GET" if data is None else "POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def request_counts(endpoint: str, *, reset: bool = False) -> dict:
    """The requests the emulator answered since its last reset, per service and operation
    ({"dynamodb": {"Query": {"requests", "errors", "items_read", "items_written"}}, ...}:
    local/request_counts.py); with `reset`, zeroed at the same moment they are read."""
    return control(endpoint, "requests", {"reset": True} if reset else None)


def down(settings: Settings, *, timeout: float = 120.0) -> bool:
    """Stop the emulator after its final snapshot. False if none was running."""
    try:
        state = EmulatorState(**json.loads(settings.endpoint_file.read_text()))
    except (OSError, ValueError, TypeError):
        return False
    if not alive(state.pid, state.process_started):
        settings.endpoint_file.unlink(missing_ok=True)
        return False
    os.kill(state.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(state.pid, state.process_started):
            return True
        time.sleep(0.2)
    raise EmulatorError(f"the emulator (pid {state.pid}) did not stop in {timeout:.0f} s")


def reset(settings: Settings) -> None:
    """Forget every object, item and message: wipe the snapshot and, if running, the emulator."""
    Snapshot(settings).clear()
    state = running_state(settings)
    if state:
        request = urllib.request.Request(f"{state.endpoint}/moto-api/reset", method="POST")
        urllib.request.urlopen(request, timeout=30).close()
        live = state.live_settings(settings)
        template = provision(live)
        upload_glue_scripts(live, template)


def status(settings: Settings) -> dict:
    state = running_state(settings)
    summary: SnapshotSummary | None = Snapshot(settings).summary()
    report: dict = {
        "running": bool(state),
        "state_dir": str(settings.state_dir),
        "last_snapshot": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(summary.saved_at)) if summary else None,
    }
    if state:
        live = state.live_settings(settings)
        report.update(
            endpoint=state.endpoint,
            pid=state.pid,
            buckets=[b["Name"] for b in client_for(live, "s3").list_buckets()["Buckets"]],
            tables=client_for(live, "dynamodb").list_tables()["TableNames"],
            queues=[url.rsplit("/", 1)[-1] for url in client_for(live, "sqs").list_queues().get("QueueUrls", [])],
        )
    return report


def _answers(endpoint: str) -> bool:
    try:
        urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2).close()
        return True
    except OSError:
        return False
