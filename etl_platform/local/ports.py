"""The ports the local stack listens on, checked before anything starts.

`etl-platform dev` runs three servers of its own (the embedded AWS, the Dagster webserver,
the jobs API). A server that cannot bind does not stop the others: the Dagster webserver
logs one bind error and the rest runs on without a UI, so API triggers answer 503. Binding
each port once, before starting anything, turns that into one line that names the
variable to change, with nothing started. Written here because neither Dagster nor
uvicorn checks a port before the process that needs it has started.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from etl_platform.config import Settings


class PortTaken(RuntimeError):
    """A port the stack needs is in use (or two servers are given the same one)."""


@dataclass(frozen=True)
class Port:
    what: str       # the server, as a person calls it
    host: str
    number: int
    variable: str   # the setting that moves it

    def __str__(self) -> str:
        return f"{self.what} port {self.host}:{self.number}"


def stack_ports(settings: Settings, *, emulator_running: bool) -> list[Port]:
    """What `etl-platform dev` will bind; the emulator's port only if it must start it."""
    ports = [
        Port("Dagster UI", settings.webserver_host, settings.webserver_port, "ETL_WEBSERVER_PORT"),
        Port("jobs API", settings.jobs.api_host, settings.jobs.api_port, "ETL_API_PORT"),
    ]
    if not emulator_running:
        ports.insert(0, Port("embedded AWS", "127.0.0.1", settings.local_port, "ETL_LOCAL_PORT"))
    return [port for port in ports if port.number != 0]  # 0: the server picks a free one


def problems(ports: list[Port]) -> list[str]:
    """What stops these ports from being bound, one phrase each (empty when all are free)."""
    found = []
    seen: dict[int, Port] = {}
    for port in ports:
        if port.number in seen:
            first = seen[port.number]
            found.append(f"{first.variable} and {port.variable} are both {port.number}: change one")
            continue
        seen[port.number] = port
        if not bindable(port.host, port.number):
            found.append(f"{port} is already in use: set {port.variable} to a free port")
    return found


def check_free(ports: list[Port]) -> None:
    """Raise PortTaken with one line naming every port in the way and its variable."""
    found = problems(ports)
    if found:
        raise PortTaken("; ".join(found) + " (nothing was started)")


def bindable(host: str, port: int) -> bool:
    """Whether a server could listen on host:port now. SO_REUSEADDR, as uvicorn and werkzeug
    set it: a port whose last connections linger in TIME_WAIT counts as free, one that
    something listens on does not."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def answers(url: str, timeout: float = 2.0) -> bool:
    """Whether something accepts connections at the host and port of `url`."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False
