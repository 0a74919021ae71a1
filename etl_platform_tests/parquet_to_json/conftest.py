"""Sample Parquet files of pipeline A's tests and how their JSON output should read back."""

import contextlib
import datetime as dt
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def flat_table(rows: int = 250) -> pa.Table:
    return pa.table({
        "id": pa.array(range(rows), pa.int64()),
        "name": [f"name \"{i}\" é" if i % 7 else None for i in range(rows)],
        "score": [i / 4 for i in range(rows)],
        "active": [i % 2 == 0 for i in range(rows)],
        "day": [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(rows)],
    })


def nested_table(rows: int = 120) -> pa.Table:
    return pa.table({
        "id": pa.array(range(rows), pa.int32()),
        "tags": [[f"t{i}", f"u{i}"] if i % 5 else [] for i in range(rows)],
        "point": [{"x": i, "label": f"p{i}"} if i % 9 else None for i in range(rows)],
        "matrix": [[[i, i + 1], [None]] for i in range(rows)],
    })


def as_json_values(value):
    """A Python value the way the converter's type rules write it (dates as ISO strings)."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return [as_json_values(v) for v in value]
    if isinstance(value, dict):
        return {k: as_json_values(v) for k, v in value.items()}
    return value


def expected_records(table: pa.Table) -> list[dict]:
    return [as_json_values(row) for row in table.to_pylist()]


def read_ndjson(body: bytes) -> list[dict]:
    return [json.loads(line) for line in body.decode().splitlines() if line]


@pytest.fixture
def samples() -> dict[str, pa.Table]:
    return {"flat": flat_table(), "nested": nested_table()}


MAX_UPLOAD_BYTES = 300_000  # small, so the 413 path is cheap to reach


@pytest.fixture(scope="module")
def api_server(emulator_settings, tmp_path_factory):
    """`etl-platform api` on a free port, against this worker's emulator (url, dagster_home)."""
    with running_api(emulator_settings, tmp_path_factory, MAX_UPLOAD_BYTES) as server:
        yield server


@pytest.fixture(scope="module")
def api_url(api_server):
    return api_server.url


@contextlib.contextmanager
def running_api(emulator_settings, tmp_path_factory, max_upload_bytes: int):
    """`etl-platform api` on a free port with `ETL_MAX_UPLOAD_BYTES=max_upload_bytes`; runs execute
    in-process against the DagsterInstance of its `dagster_home` (prepared as the project prepares it)."""
    import subprocess
    from types import SimpleNamespace

    from etl_platform.config import Settings
    from etl_platform.local.devstack import prepare_dagster_home
    from etl_platform_tests.helpers import PROJECT_ROOT, VENV_BIN, cli_env, free_port, wait_for_http

    state = tmp_path_factory.mktemp("api-state")
    home = prepare_dagster_home(Settings(state_dir=state))
    port = free_port()
    env = cli_env(state, ETL_ENDPOINT_URL=emulator_settings.endpoint_url, ETL_MAX_UPLOAD_BYTES=str(max_upload_bytes),
                  DAGSTER_HOME=str(home))
    log = open(state / "api.log", "wb")
    process = subprocess.Popen([str(VENV_BIN / "etl-platform"), "api", "--port", str(port)], env=env, cwd=PROJECT_ROOT,
                               stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/openapi.json", timeout=120)
        yield SimpleNamespace(url=url, dagster_home=home)
    finally:
        process.terminate()
        process.wait(timeout=60)
        log.close()


def wait_for_status(client, job_id: str, statuses=("COMPLETED", "FAILED"), timeout: float = 180.0) -> dict:
    """Poll GET /job-status until the job reaches one of `statuses`."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/job-status/{job_id}").json()
        if job["status"] in statuses or time.monotonic() > deadline:
            return job
        time.sleep(0.3)
