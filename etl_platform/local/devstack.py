"""`etl-platform dev`: the whole platform on one machine, and never half of it.

Checks first that every port it needs is free (local/ports.py): one that is not stops it
with a line naming the variable to change, before anything starts. Then starts the
embedded AWS (unless it already runs), prepares a project-local DAGSTER_HOME
(SQLite storage), then supervises three children: the Dagster webserver
(`python -m dagster_webserver`, 127.0.0.1:3000), the Dagster daemon (`python -m
dagster._daemon run`, so sensors tick) and pipeline A's REST API and web page
(`etl_platform.cli api`, 127.0.0.1:8000). Sample inputs are dropped on first start, so the
sensors run each pipeline's job once.

Supervision. `dagster dev` ran the webserver and daemon as one unit: a SIGKILLed daemon took
the webserver down with it and the command exited, leaving the API (and the emulator)
without the rest. Here each child runs on its own (as in a deployment; each loads the code
location in its own code server) and in its own process group. One that dies is reported
loudly on stderr (`etl-platform dev: dagster-daemon (pid N) DIED with signal SIGKILL`) and
started again, the others untouched. What the dead one started is left to finish: its code
server lets the runs it launched complete, then stops by itself (30 s without its parent's
heartbeat); whatever of it is still there when the stack stops is killed with the rest. Each child may be restarted `ETL_DEV_RESTART_BUDGET` times (default 3) within
`ETL_DEV_RESTART_WINDOW_SECONDS` (600); one that dies past that stops the whole stack (API,
Dagster and, if this command started it, the emulator, which saves its snapshot first) and
the command exits 1 with a line saying what died. Budget 0: the first death stops all.

Ctrl-C or SIGTERM stops the API, Dagster and, if this command started it, the emulator,
with exit code 0. The children are in their own process groups, so a terminal's Ctrl-C
reaches this process only, and it stops them in order; a second signal during the
clean-up is ignored rather than allowed to orphan anything.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from etl_platform.concurrency import apply_pool_limits, dagster_instance_config
from etl_platform.config import Settings
from etl_platform.local import emulator
from etl_platform.local.ports import check_free, stack_ports
from etl_platform.local.samples import drop_samples

DAGSTER_YAML_HEADER = "# Written by `etl-platform dev`"
DAGSTER_YAML = f"""\
{DAGSTER_YAML_HEADER} (rewritten at each start). SQLite storage lives in this folder (Dagster's default).
telemetry:
  enabled: false
# Runs that need a full pool wait in the run queue (etl_platform/concurrency.py); the pools'
# limits are in the instance's storage, set from the settings at each start.
{{concurrency}}
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
    """The project-local DAGSTER_HOME: its dagster.yaml (written unless someone else's file is
    there) and the pool limits of `settings` in its storage."""
    from dagster import DagsterInstance

    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists() or config.read_text().startswith(DAGSTER_YAML_HEADER):
        section = yaml.safe_dump(dagster_instance_config(), sort_keys=False).rstrip()
        text = DAGSTER_YAML.format(concurrency=section)
        if not config.exists() or config.read_text() != text:
            config.write_text(text)
    with DagsterInstance.from_config(str(home)) as instance:
        apply_pool_limits(instance, settings)
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
        # The daemon's console: warnings and errors. At INFO it logs two lines per sensor tick,
        # idle or not (what each tick did is in the UI); DAGSTER_DAEMON_LOG_LEVEL=info brings them back.
        "DAGSTER_DAEMON_LOG_LEVEL": "warning",
        **os.environ,
        "DAGSTER_HOME": str(prepare_dagster_home(settings)),
        "ETL_MODE": "local",
        "ETL_ENV": settings.env,
        "ETL_ENDPOINT_URL": endpoint,
        "ETL_STATE_DIR": str(settings.state_dir),
    }


def dagster_commands(settings: Settings) -> dict[str, list[str]]:
    workspace = str(settings.project_root / "workspace.yaml")
    return {
        "dagster-webserver": [sys.executable, "-m", "dagster_webserver", "-w", workspace,
                              "-h", settings.webserver_host, "-p", str(settings.webserver_port)],
        "dagster-daemon": [sys.executable, "-m", "dagster._daemon", "run", "-w", workspace],
    }


class StackFailed(RuntimeError):
    """A child died and its restart budget is spent: the whole stack stops."""


@dataclass
class Child:
    """One supervised process, in its own process group: when the stack stops, what it
    started (its code server, runs) goes with it, even after the child itself died."""

    name: str
    command: list[str]
    env: dict[str, str]
    cwd: Path
    stop_signal: int = signal.SIGTERM
    process: subprocess.Popen | None = None
    restarts: list[float] = field(default_factory=list)  # monotonic times
    groups: list[int] = field(default_factory=list)  # process groups of earlier, dead instances

    def start(self) -> None:
        self.process = subprocess.Popen(self.command, env=self.env, cwd=self.cwd, process_group=0,
                                        preexec_fn=_stop_with_parent)

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def died(self) -> None:
        """Forget the dead instance, keeping its group for the final clean-up: its code
        server lets the runs it launched finish, then stops by itself (Dagster's code server
        shuts down 30 s after its parent's heartbeats stop, once its runs are done)."""
        if self.process is not None:
            self.groups.append(self.process.pid)

    def stop(self, timeout: float = 60) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(self.stop_signal)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        # a code server or run worker still in a group: give it a moment, then kill it
        groups = [*self.groups, self.process.pid]
        deadline = time.monotonic() + 10
        while any(_group_alive(g) for g in groups) and time.monotonic() < deadline:
            time.sleep(0.2)
        for group in groups:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signal.SIGKILL)


def supervise(children: list[Child], budget: int, window: float, poll: float = 1.0) -> None:
    """Restart a child that dies, at most `budget` times per child within `window` seconds;
    raise StackFailed when one dies past that. Returns only through an exception
    (KeyboardInterrupt on Ctrl-C or SIGTERM)."""
    while True:
        time.sleep(poll)
        for child in children:
            code = child.exited()
            if code is None:
                continue
            how = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
            print(f"etl-platform dev: {child.name} (pid {child.process.pid}) DIED with {how}", file=sys.stderr, flush=True)  # type: ignore[union-attr]
            child.died()
            now = time.monotonic()
            child.restarts = [t for t in child.restarts if now - t < window]
            if len(child.restarts) >= budget:
                raise StackFailed(
                    f"{child.name} died ({how}) and its restart budget is spent ({budget} in {window:.0f} s, "
                    "ETL_DEV_RESTART_BUDGET): stopping the whole stack")
            child.restarts.append(now)
            print(f"etl-platform dev: restarting {child.name} (restart {len(child.restarts)} of {budget} "
                  f"within {window:.0f} s)", file=sys.stderr, flush=True)
            child.start()


def run(settings: Settings) -> int:
    """Raises PortTaken, with nothing started, when a port it needs is in use."""
    already_running = emulator.running_state(settings) is not None
    check_free(stack_ports(settings, emulator_running=already_running))
    state = emulator.up(settings)
    print(f"embedded AWS: {state.endpoint}   (aws --endpoint-url {state.endpoint} s3 ls)", flush=True)
    dropped = drop_samples(settings.with_overrides(endpoint_url=state.endpoint))
    if dropped:
        buckets = sorted({uri.split("/")[2] for uri in dropped})
        print(f"samples dropped: {len(dropped)} objects in {', '.join(buckets)}", flush=True)
    print(f"Dagster UI: http://{settings.webserver_host}:{settings.webserver_port}", flush=True)
    env = dagster_environment(settings, state.endpoint)
    # SIGTERM (a service manager, `kill`) takes the same clean path as Ctrl-C.
    signal.signal(signal.SIGTERM, _interrupt)
    # A background job starts with SIGINT ignored, and children inherit that: a child would
    # then ignore the SIGINT that shuts it down. A handled signal is reset to the default in
    # the children.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    commands = dagster_commands(settings)
    children = [
        Child("dagster-webserver", commands["dagster-webserver"], env, settings.project_root, signal.SIGINT),
        Child("dagster-daemon", commands["dagster-daemon"], env, settings.project_root, signal.SIGINT),
        api_child(settings, env),
    ]
    code = 0
    try:
        for child in children:
            child.start()
        supervise(children, settings.dev_restart_budget, settings.dev_restart_window_seconds)
    except KeyboardInterrupt:
        code = 0
    except StackFailed as exc:
        print(f"etl-platform dev: {exc}", file=sys.stderr, flush=True)
        code = 1
    finally:
        # A second Ctrl-C or SIGTERM must not cut this clean-up short: it would orphan Dagster
        # and the emulator. Each child runs in its own process group, so a terminal's Ctrl-C
        # reaches this process only, and it stops them all.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for child in reversed(children):  # the API first: it launches runs through the webserver
            child.stop()
        if not already_running:
            emulator.down(settings)
        if code:
            print("etl-platform dev: stopped (API, Dagster"
                  f"{', emulator' if not already_running else ''}); exit code {code}", file=sys.stderr, flush=True)
    return code


def _stop_with_parent() -> None:
    """In the child: SIGTERM when `etl-platform dev` itself dies (even by SIGKILL), so no
    Dagster or API process outlives its supervisor (Linux; elsewhere a no-op)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return any(_pgid_of(pid) == pgid and _state_of(pid) != "Z" for pid in _pids())


def _pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()] if os.path.isdir("/proc") else []


def _pgid_of(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def _state_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "?"


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def api_child(settings: Settings, env: dict[str, str]) -> Child:
    """Pipeline A's REST API and web page; /trigger-job launches runs through this webserver."""
    graphql = f"http://{settings.webserver_host}:{settings.webserver_port}/graphql"
    command = [sys.executable, "-m", "etl_platform.cli", "api", "--host", settings.jobs.api_host,
               "--port", str(settings.jobs.api_port)]
    print(f"jobs API and web page: http://{settings.jobs.api_host}:{settings.jobs.api_port}", flush=True)
    return Child("jobs API", command, {**env, "ETL_DAGSTER_GRAPHQL_URL": graphql}, settings.project_root)
