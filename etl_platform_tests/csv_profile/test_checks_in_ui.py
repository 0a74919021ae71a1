"""Pipeline C's quality per file, as the Dagster UI shows it: two files profiled one after the
other on one instance, then a real `dagster-webserver` on 127.0.0.1 over that instance,
asked through its GraphQL API (what the UI's pages query) and looked at in Chromium."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from dagster import DagsterInstance, Definitions

from etl_platform.pipelines.csv_profile import csv_profile_definitions
from etl_platform.resources import platform_resources
from etl_platform_tests.csv_profile.conftest import CLEAN, MISSING_AND_INVALID
from etl_platform_tests.helpers import PROJECT_ROOT, TEST_ARTIFACTS, VENV_BIN, cli_env, free_port, run_as_daemon, tick_sensor, wait_for_http

pytestmark = pytest.mark.e2e

ARTIFACTS = TEST_ARTIFACTS
SCREENSHOT = ARTIFACTS / "csv_profile_checks_per_file.png"
PLOT_SCREENSHOT = ARTIFACTS / "csv_profile_invalid_rate_over_time.png"
ASSET = {"path": ["csv_profile"]}

CHECKS_QUERY = """
query ($assetKey: AssetKeyInput!) {
  assetNodeOrError(assetKey: $assetKey) { ... on AssetNode { assetChecksOrError { ... on AssetChecks { checks {
    name
    partitionDefinition { name }
    partitionStatuses { ... on AssetCheckDefaultPartitionStatuses { succeededPartitions failedPartitions } }
  } } } } }
}"""

EXECUTIONS_QUERY = """
query ($assetKey: AssetKeyInput!, $checkName: String!, $partition: String) {
  assetCheckExecutions(assetKey: $assetKey, checkName: $checkName, partition: $partition, limit: 10) {
    partition status
    evaluation { success severity partition metadataEntries {
      label
      ... on JsonMetadataEntry { jsonString }
      ... on TextMetadataEntry { text }
      ... on FloatMetadataEntry { floatValue }
    } }
  }
}"""

MATERIALIZATIONS_QUERY = """
query ($assetKey: AssetKeyInput!) {
  assetOrError(assetKey: $assetKey) { ... on Asset { assetMaterializations(limit: 10) {
    partition metadataEntries { label ... on FloatMetadataEntry { floatValue } ... on TextMetadataEntry { text } }
  } } }
}"""


def _graphql(url: str, query: str, **variables) -> dict:
    body = json.dumps({"query": query, "variables": variables}).encode()
    request = urllib.request.Request(f"{url}/graphql", data=body, headers={"Content-Type": "application/json"})
    answer = json.loads(urllib.request.urlopen(request, timeout=60).read())
    assert "errors" not in answer, answer["errors"]
    return answer["data"]


def _profile_one_after_the_other(aws, instance: DagsterInstance, files: list[tuple[str, bytes]]) -> None:
    """Upload each file, let the upload sensor see it and run its partition, as the daemon would."""
    defs = Definitions.merge(csv_profile_definitions(aws), Definitions(resources=platform_resources(aws)))
    s3 = defs.resources["s3"].get_client()
    job = defs.resolve_job_def("csv_profile_job")
    cursor = None
    for name, body in files:
        s3.put_object(Bucket=aws.names.csv_data_bucket, Key=f"uploads/{name}", Body=body)
        tick = tick_sensor(defs, instance, "csv_upload_sensor", ("s3",), cursor)
        cursor = tick.cursor
        [request] = tick.run_requests
        assert run_as_daemon(job, instance, request), name


@pytest.fixture
def webserver(aws, tmp_path):
    """(the UI's URL, the instance it shows): a real webserver over a private DAGSTER_HOME,
    loading the code location as `dagster asset materialize -m etl_platform.definitions` does."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    port = free_port()
    env = cli_env(aws.state_dir, ETL_ENDPOINT_URL=aws.endpoint_url, DAGSTER_HOME=str(home))
    log_path = tmp_path / "webserver.log"
    with DagsterInstance.from_config(str(home)) as instance, open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(VENV_BIN / "python"), "-m", "dagster_webserver", "-m", "etl_platform.definitions",
             "-h", "127.0.0.1", "-p", str(port)],
            env=env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for_http(f"{url}/server_info", timeout=180)
            _wait_loaded(url, log_path)
            yield url, instance
        finally:
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)


def _wait_loaded(url: str, log_path: Path) -> None:
    query = "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        entries = _graphql(url, query)["workspaceOrError"]["locationEntries"]
        if entries and entries[0]["loadStatus"] == "LOADED":
            return
        time.sleep(1)
    raise AssertionError("the code location did not load\n" + log_path.read_text()[-3000:])


def test_checks_are_per_file_with_values_and_plottable_rates(aws, webserver, browser_page):
    url, instance = webserver
    _profile_one_after_the_other(aws, instance, [("first.csv", MISSING_AND_INVALID), ("second.csv", CLEAN)])

    # The checks are partitioned like the asset: per check, which files passed and which failed.
    checks = _graphql(url, CHECKS_QUERY, assetKey=ASSET)["assetNodeOrError"]["assetChecksOrError"]["checks"]
    by_name = {c["name"]: c for c in checks}
    assert set(by_name) == {"missing_values", "invalid_values", "profile_drift", "unterminated_quote"}
    assert all(c["partitionDefinition"] for c in checks)
    statuses = {name: c["partitionStatuses"] for name, c in by_name.items()}
    assert statuses["invalid_values"] == {"succeededPartitions": ["second.csv"], "failedPartitions": ["first.csv"]}
    assert statuses["missing_values"] == {"succeededPartitions": ["second.csv"], "failedPartitions": ["first.csv"]}
    assert sorted(statuses["unterminated_quote"]["succeededPartitions"]) == ["first.csv", "second.csv"]

    # The first file's results are still its own after the second file was profiled, with the
    # bad values and their rows.
    [first] = _graphql(url, EXECUTIONS_QUERY, assetKey=ASSET, checkName="invalid_values",
                       partition="first.csv")["assetCheckExecutions"]
    evaluation = first["evaluation"]
    assert (first["partition"], first["status"], evaluation["success"], evaluation["severity"]) == (
        "first.csv", "FAILED", False, "ERROR")
    entries = {e["label"]: e for e in evaluation["metadataEntries"]}
    assert json.loads(entries["examples"]["jsonString"]) == {"age": [{"row": 3, "value": "abc"}]}
    assert entries["bad_values"]["text"] == 'age: row 3 "abc"'
    assert entries["worst_column_pct"]["floatValue"] == pytest.approx(9.09)
    [second] = _graphql(url, EXECUTIONS_QUERY, assetKey=ASSET, checkName="invalid_values",
                        partition="second.csv")["assetCheckExecutions"]
    assert (second["status"], second["evaluation"]["success"]) == ("SUCCEEDED", True)

    # The metadata item: profiled (seed 004's status), and its checks failed at ERROR level.
    table = platform_resources(aws)["file_metadata_table"]
    first_item, second_item = table.latest_profile("first.csv"), table.latest_profile("second.csv")
    assert (first_item["status"], first_item["quality_status"]) == ("success", "failed_checks")
    assert first_item["failed_checks"] == {"invalid_values": "ERROR", "missing_values": "WARN"}
    assert (second_item["status"], second_item["quality_status"], second_item["failed_checks"]) == ("success", "passed", {})

    # Rates as numbers on every materialization: what the asset's Plots tab draws over time.
    materializations = _graphql(url, MATERIALIZATIONS_QUERY, assetKey=ASSET)["assetOrError"]["assetMaterializations"]
    rates = {m["partition"]: {e["label"]: e.get("floatValue") for e in m["metadataEntries"]} for m in materializations}
    assert rates["first.csv"]["invalid_cells_pct"] == pytest.approx(100 / 44, abs=1e-4)
    assert rates["first.csv"]["missing_cells_pct"] == pytest.approx(200 / 44, abs=1e-4)
    assert rates["second.csv"]["invalid_cells_pct"] == 0.0 and rates["second.csv"]["missing_cells_pct"] == 0.0

    # The page: the check's Partitions tab lists both files, the first one's detail shows its values.
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    _graphql(url, "mutation { setNuxSeen }")  # what the UI's first-visit dialog's "Skip" does
    page = browser_page
    page.set_viewport_size({"width": 1600, "height": 1000})
    page.goto(f"{url}/assets/csv_profile?view=checks&checkDetail=invalid_values")
    page.locator("canvas").first.wait_for()  # the check's Overview plots worst_column_pct over its executions
    page.screenshot(path=str(PLOT_SCREENSHOT), full_page=True)
    page.locator("button[role=tab]", has_text="Partitions").click()  # the check's tab, not the asset's link
    files = page.locator("[class*=assetListRow]")  # the list of partitions, each with its status dot
    files.filter(has_text="second.csv").wait_for()
    files.filter(has_text="first.csv").click()
    page.get_by_text('age: row 3 "abc"').wait_for()  # the bad value and its row, on the first file's page
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 10_000

    # Retention (pruning.py): the pruner deletes the first file's partition. The checks list
    # the files kept; the first file's result stays in the history.
    instance.delete_dynamic_partition("csv_files", "first.csv")
    checks = _graphql(url, CHECKS_QUERY, assetKey=ASSET)["assetNodeOrError"]["assetChecksOrError"]["checks"]
    statuses = {c["name"]: c["partitionStatuses"] for c in checks}
    assert statuses["invalid_values"] == {"succeededPartitions": ["second.csv"], "failedPartitions": []}
    assert len(_graphql(url, EXECUTIONS_QUERY, assetKey=ASSET, checkName="invalid_values",
                        partition="first.csv")["assetCheckExecutions"]) == 1
