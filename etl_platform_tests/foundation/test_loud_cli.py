"""The real `etl-platform` command fails loudly and briefly: a taken port stops `make up`
before anything starts, and a stack that is down is one line on stderr, not a traceback."""

import socket
import subprocess

import pytest

from etl_platform_tests.helpers import PROJECT_ROOT, VENV_BIN, cli_env, free_port

PORT_VARIABLES = ("ETL_LOCAL_PORT", "ETL_WEBSERVER_PORT", "ETL_API_PORT")


def _run(args, env, timeout=120):
    return subprocess.run([str(VENV_BIN / "etl-platform"), *args], env=env, cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=timeout)


def _one_error_line(result) -> str:
    """The single line a failed command printed (stdout and stderr together)."""
    assert result.returncode != 0, result.stdout + result.stderr
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("Error: ") and "Traceback" not in result.stderr
    return lines[0]


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize("taken", PORT_VARIABLES)
def test_dev_refuses_a_taken_port_before_starting_anything(tmp_path, taken):
    state = tmp_path / "state"
    ports = {name: free_port() for name in PORT_VARIABLES}
    with socket.socket() as squatter:  # something else listens on one of the stack's ports
        squatter.bind(("127.0.0.1", ports[taken]))
        squatter.listen()
        result = _run(["dev"], cli_env(state, **{name: str(port) for name, port in ports.items()}))
        line = _one_error_line(result)
    assert taken in line and str(ports[taken]) in line, line
    assert "nothing was started" in line
    # nothing started: no emulator (its state file and log are the first things it writes), no server
    assert not (state / "emulator.json").exists() and not (state / "emulator.log").exists()
    assert not any(_listening(port) for name, port in ports.items() if name != taken)


def test_dev_refuses_two_servers_on_one_port(tmp_path):
    port = free_port()
    result = _run(["dev"], cli_env(tmp_path / "state", ETL_LOCAL_PORT=str(free_port()), ETL_WEBSERVER_PORT=str(port),
                                   ETL_API_PORT=str(port)))
    line = _one_error_line(result)
    assert "ETL_WEBSERVER_PORT and ETL_API_PORT are both" in line, line
    assert not _listening(port)


def test_local_up_names_the_variable_of_a_taken_port(tmp_path):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        line = _one_error_line(_run(["local", "up"], cli_env(tmp_path / "state", ETL_LOCAL_PORT=str(port))))
    assert "ETL_LOCAL_PORT" in line and str(port) in line, line


@pytest.mark.parametrize("command", [
    ["ingest", "status"],
    ["ingest", "reset-breaker"],
    ["ingest", "redrive-dlq", "--dry-run"],
    ["ingest", "replay", "some-manifest"],
    ["ingest", "flush"],
    ["ops", "health"],
    ["ops", "reset-stuck", "--dry-run"],
    ["jobs", "list"],
    ["jobs", "status", "some-job"],
])
def test_a_command_with_the_stack_down_prints_one_line(tmp_path, command):
    """Nothing listens on the emulator's or the API's port (and no state file names another)."""
    env = cli_env(tmp_path / "state", ETL_LOCAL_PORT=str(free_port()), ETL_API_PORT=str(free_port()),
                  DAGSTER_HOME=str(tmp_path / "dagster"))
    line = _one_error_line(_run(command, env))
    assert "make up" in line, line


def test_an_unreachable_aws_endpoint_is_one_line_too(tmp_path):
    """On AWS (no emulator to check first), the error boto3 raises after its retries is one line."""
    endpoint = f"http://127.0.0.1:{free_port()}"
    env = {**cli_env(tmp_path / "state"), "ETL_MODE": "aws", "ETL_ACCOUNT_ID": "210987654321",
           "ETL_ENDPOINT_URL": endpoint, "ETL_AWS_MAX_ATTEMPTS": "1", "AWS_ACCESS_KEY_ID": "x",
           "AWS_SECRET_ACCESS_KEY": "x"}
    line = _one_error_line(_run(["ingest", "status"], env))
    assert endpoint in line, line
