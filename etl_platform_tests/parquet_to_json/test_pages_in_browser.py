"""What people read, in headless Chromium: the API's /docs with no internet, the jobs page
after "Upload and convert" (the launched run, and a link to it in the Dagster UI), and
pipeline A's description on its asset page in the Dagster UI.

The stack is the one `make up` runs, without the daemon: the Dagster webserver on the
project's instance (`devstack.dagster_commands`) and `etl-platform api` launching runs
through its GraphQL API. Without a daemon a launched run stays QUEUED, so the page's
"launched, waiting to start" state is there for as long as the test looks.
"""

import json
import signal
import subprocess
import time
import urllib.request
from types import SimpleNamespace
from urllib.parse import urlsplit

import httpx
import pytest

from etl_platform.config import Settings
from etl_platform.local.devstack import dagster_commands, dagster_environment
from etl_platform_tests.helpers import PROJECT_ROOT, VENV_BIN, free_port, wait_for_http
from etl_platform_tests.parquet_to_json.conftest import nested_table, parquet_bytes

pytestmark = pytest.mark.e2e

LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def _graphql(ui: str, query: str, variables: dict | None = None) -> dict:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(f"{ui}/graphql", data=body, headers={"Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(request, timeout=60).read())["data"]


def _wait_loaded(ui: str, timeout: float = 300) -> None:
    query = "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        entries = _graphql(ui, query)["workspaceOrError"]["locationEntries"]
        if entries and entries[0]["loadStatus"] == "LOADED":
            return
        time.sleep(1)
    raise AssertionError(f"the code location did not load: {entries}")


@pytest.fixture(scope="module")
def stack(emulator_settings, tmp_path_factory):
    state = tmp_path_factory.mktemp("pages-state")
    ui_port, api_port = free_port(), free_port()
    settings = Settings(state_dir=state, webserver_port=ui_port, endpoint_url=emulator_settings.endpoint_url)
    env = {k: v for k, v in dagster_environment(settings, emulator_settings.endpoint_url).items()
           if not k.startswith("ETL_") or k in ("ETL_MODE", "ETL_ENV", "ETL_ENDPOINT_URL", "ETL_STATE_DIR")}
    ui = f"http://127.0.0.1:{ui_port}"
    log = open(state / "stack.log", "wb")
    processes = [
        subprocess.Popen(dagster_commands(settings)["dagster-webserver"], env=env, cwd=PROJECT_ROOT, stdout=log,
                         stderr=subprocess.STDOUT, start_new_session=True),
        subprocess.Popen([str(VENV_BIN / "etl-platform"), "api", "--port", str(api_port)],
                         env={**env, "ETL_DAGSTER_GRAPHQL_URL": f"{ui}/graphql"}, cwd=PROJECT_ROOT, stdout=log,
                         stderr=subprocess.STDOUT, start_new_session=True),
    ]
    try:
        wait_for_http(f"{ui}/server_info", timeout=300)
        _wait_loaded(ui)
        wait_for_http(f"http://127.0.0.1:{api_port}/openapi.json", timeout=120)
        yield SimpleNamespace(ui=ui, api=f"http://127.0.0.1:{api_port}", log=state / "stack.log")
    finally:
        for process in processes:
            process.send_signal(signal.SIGINT)
        for process in processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


def offline_page(browser, refused: list[str]):
    """A page that can reach this machine only: every other request is refused and listed."""
    context = browser.new_context()

    def only_local(route):
        if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    page.set_default_timeout(120_000)
    return page


def test_docs_render_with_no_internet(chromium, stack):
    refused: list[str] = []
    page = offline_page(chromium, refused)
    page.goto(stack.api + "/docs")
    operations = page.locator(".swagger-ui .opblock")
    operations.first.wait_for(timeout=60_000)
    documented = httpx.get(stack.api + "/openapi.json").json()["paths"]
    assert operations.count() == sum(len(methods) for methods in documented.values())
    assert page.locator(".swagger-ui .info .title").inner_text().startswith("etl-platform jobs API")
    assert refused == []
    page.goto(stack.api + "/redoc")  # ReDoc too; only its "Powered by Redocly" logo is an image from outside
    page.locator("h1", has_text="etl-platform jobs API").wait_for(timeout=60_000)
    assert refused == [] or refused == ["https://cdn.redoc.ly/redoc/logo-mini.svg"]


def test_upload_and_convert_shows_the_launched_run_and_links_to_it(chromium, stack, aws, tmp_path):
    upload = tmp_path / "launched.parquet"
    upload.write_bytes(parquet_bytes(nested_table(5)))
    refused: list[str] = []
    page = offline_page(chromium, refused)
    page.goto(stack.api + "/")
    page.set_input_files("#file", str(upload))
    page.click("#upload")
    page.locator("#message", has_text="launched as Dagster run").wait_for()
    row = page.locator("#jobs tbody tr", has_text="launched.parquet")
    row.locator(".launched").wait_for()  # the run is launched: no "Convert" offered again
    assert row.locator(".status").first.inner_text().startswith("PENDING")
    assert row.locator("button.trigger").count() == 0

    job_id = row.get_attribute("data-job-id")
    job = httpx.get(f"{stack.api}/job-status/{job_id}").json()
    assert job["launched"] is True and job["runUrl"] == f"{stack.ui}/runs/{job['runId']}"
    link = row.locator("a.run")
    assert link.get_attribute("href") == job["runUrl"] and link.inner_text() == job["runId"][:8]
    # the link's run is the job's, waiting in Dagster's queue (no daemon here)
    run = _graphql(stack.ui, "query($id: ID!) { runOrError(runId: $id) { ... on Run { status tags { key value } } } }",
                   {"id": job["runId"]})["runOrError"]
    assert run["status"] == "QUEUED" and {"key": "job_id", "value": job_id} in run["tags"]
    assert refused == []


def test_dagster_ui_shows_pipeline_a_description_whole(chromium, stack):
    page = chromium.new_page()
    page.set_default_timeout(180_000)
    page.goto(stack.ui + "/assets/parquet_to_json")
    described = page.get_by_text("/output/<jobId>/<name>.ndjson", exact=False)
    described.first.wait_for()
    assert "output//.ndjson" not in page.inner_text("body")
