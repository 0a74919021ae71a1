"""Small helpers shared by tests."""

from __future__ import annotations

import os
import socket
import sys
import time
import urllib.request
from pathlib import Path

from etl_platform.config import PROJECT_ROOT

VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cli_env(state_dir: Path, **extra: str) -> dict[str, str]:
    """Environment for running the `etl-platform` command against a private state dir."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETL_")}
    env.update(ETL_STATE_DIR=str(state_dir), ETL_MODE="local", **extra)
    return env


def wait_for_http(url: str, timeout: float = 120.0) -> bytes:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read()
        except OSError as exc:
            last_error = exc
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer in {timeout} s: {last_error}")


__all__ = ["PROJECT_ROOT", "VENV_BIN", "cli_env", "free_port", "wait_for_http"]
