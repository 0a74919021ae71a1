"""What the Dagster UI shows of pipeline B's waiting files (issue 12, item 1): a real
`dagster-webserver` on 127.0.0.1 over an instance where files landed and a sensor tick
ran; its GraphQL API (what the UI reads) gives the landing asset's per-date numbers, and
headless Chromium saves the asset page as the issue's screenshot. Through the same API, as the
Launchpad does, it launches `ndjson_flush_job` (the instance's default run launcher runs it
without a daemon), and it shows `pipeline_health`'s materialization and the
`pipeline_healthy` check's execution, run in-process on the instance it serves.

The tick is evaluated in-process and its observations recorded as the Dagster daemon
records a sensor's asset events (`report_runless_asset_event`, dagster/_daemon/sensor.py),
into the instance the webserver serves: the daemon itself is not needed to show the page."""

import json
import os
import re
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from dagster import AssetKey, DagsterInstance

from etl_platform.pipelines.ndjson_to_parquet.flush import FLUSH_JOB
from etl_platform.pipelines.ndjson_to_parquet.health import HEALTH_CHECK_JOB, HEALTH_JOB
from etl_platform.pipelines.ndjson_to_parquet.validation import LANDING_ASSET
from etl_platform_tests.helpers import PROJECT_ROOT, TEST_ARTIFACTS, VENV_BIN, cli_env, free_port, wait_for_http
from etl_platform_tests.ndjson_to_parquet.harness import Pipeline, records, scaled
from etl_platform_tests.ndjson_to_parquet.test_health_check import _with_health

pytestmark = pytest.mark.e2e

DAY = "2026-12-03"
SCREENSHOT = TEST_ARTIFACTS / "landing_asset_pending_files.png"
QUERY = """
query Landing($key: AssetKeyInput!) {
  assetOrError(assetKey: $key) {
    ... on Asset {
      assetObservations(limit: 1) {
        description
        metadataEntries {
          label
          ... on IntMetadataEntry { intValue }
          ... on FloatMetadataEntry { floatValue }
          ... on TextMetadataEntry { text }
        }
      }
    }
  }
}
"""


REPOSITORIES = "{ repositoriesOrError { ... on RepositoryConnection { nodes { name location { name } } } } }"
PRESETS = """
query Presets($selector: PipelineSelector!) {
  pipelineOrError(params: $selector) { __typename ... on Pipeline { presets { name runConfigYaml } } }
}
"""
LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchPipelineExecution(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on PythonError { message }
  }
}
"""
RUN = "query Run($id: ID!) { runOrError(runId: $id) { __typename ... on Run { status pipelineName } } }"
ENTRIES = """
  label
  ... on IntMetadataEntry { intValue }
  ... on FloatMetadataEntry { floatValue }
  ... on TextMetadataEntry { text }
  ... on BoolMetadataEntry { boolValue }
"""
HEALTH = """
query Health($health: AssetKeyInput!, $landing: AssetKeyInput!) {
  assetOrError(assetKey: $health) {
    ... on Asset { assetMaterializations(limit: 1) { partition metadataEntries { %s } } }
  }
  assetCheckExecutions(assetKey: $landing, checkName: "pipeline_healthy", limit: 1) {
    status evaluation { severity metadataEntries { %s } }
  }
}
""" % (ENTRIES, ENTRIES)
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}


def _graphql(port: int, query: str, variables: dict) -> dict:
    body = json.dumps({"query": query, "variables": variables}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=body,
                                     headers={"Content-Type": "application/json"})
    answer = json.loads(urllib.request.urlopen(request, timeout=60).read())
    assert "errors" not in answer, answer
    return answer["data"]


def _value(entry: dict):
    return next((entry[k] for k in ("intValue", "floatValue", "text", "boolValue") if k in entry), None)


def test_the_landing_asset_shows_pending_files_per_date_in_the_ui(aws, tmp_path, chromium):
    home = tmp_path / "dagster"
    home.mkdir()
    # runs launch as they are submitted (no daemon dequeues them here), so a UI launch executes
    (home / "dagster.yaml").write_text(
        "run_coordinator:\n  module: dagster.core.run_coordinator\n  class: DefaultRunCoordinator\n")
    pipeline = Pipeline(scaled(aws))
    pipeline.instance = DagsterInstance.local_temp(tempdir=str(home))  # the instance the webserver serves
    for n in range(4):
        pipeline.land(DAY, f"ui-{n}.ndjson", records(f"ui-{n}", 4))
    tick = pipeline.tick()
    assert tick.run_requests == [] and tick.skip_reason.startswith(f"4 files pending for {DAY} ")
    for event in pipeline.observations:  # as the daemon records a sensor's asset events
        pipeline.instance.report_runless_asset_event(event)

    port = free_port()
    env = cli_env(aws.state_dir, ETL_ENDPOINT_URL=aws.endpoint_url, DAGSTER_HOME=str(home))
    log = open(tmp_path / "webserver.log", "wb")
    server = subprocess.Popen([str(VENV_BIN / "python"), "-m", "dagster_webserver", "-m", "etl_platform.definitions",
                               "-h", "127.0.0.1", "-p", str(port)], env=env, cwd=PROJECT_ROOT, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/server_info", timeout=180)
        data = _graphql(port, QUERY, {"key": {"path": [LANDING_ASSET]}})
        [observation] = data["assetOrError"]["assetObservations"]
        shown = {e["label"]: _value(e) for e in observation["metadataEntries"]}
        assert shown[f"{DAY} pending_files"] == 4 and shown["pending_files"] == 4
        assert shown[f"{DAY} pending_bytes"] == sum(
            pipeline.s3.head_object(Bucket=pipeline.names.ndjson_input_bucket,
                                    Key=f"landing/ndjson/{DAY}/ui-{n}.ndjson")["ContentLength"] for n in range(4))
        assert isinstance(shown[f"{DAY} oldest_pending_age_s"], float)
        assert shown[f"{DAY} oldest_pending_age_s"] + shown[f"{DAY} next_manifest_in_s"] == pytest.approx(3600, abs=0.2)
        assert re.fullmatch(rf"4 files pending for {DAY} .*; a manifest forms at 5 files, 700 MB or when the oldest "
                            r"is 60 min old \(in \d+ min\)", shown[f"{DAY} next_manifest"])
        assert observation["description"] == shown[f"{DAY} next_manifest"]
        _screenshot(chromium, f"http://127.0.0.1:{port}/assets/{LANDING_ASSET}?view=events", SCREENSHOT)
        _the_flush_job_launches_from_the_ui(port, pipeline)
        _health_and_its_check_show_in_the_ui(port, pipeline)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)  # its own session: the webserver and its code server
            server.wait(timeout=30)
        log.close()


def _screenshot(chromium, url: str, path: Path) -> None:
    """The asset page in headless Chromium, once it shows the observation's numbers."""
    path.parent.mkdir(parents=True, exist_ok=True)
    page = chromium.new_page(viewport={"width": 1600, "height": 1200})
    try:
        page.set_default_timeout(120_000)
        page.goto(url)
        page.get_by_text(f"{DAY} pending_files").first.wait_for()
        page.screenshot(path=str(path), full_page=True)
    finally:
        page.close()


def _the_flush_job_launches_from_the_ui(port: int, pipeline: Pipeline) -> None:
    """Launch `ndjson_flush_job` as the Launchpad does (its default config: every date) and
    follow the run: the instance's default run launcher executes it, no daemon needed."""
    [repository] = _graphql(port, REPOSITORIES, {})["repositoriesOrError"]["nodes"]
    selector = {"repositoryLocationName": repository["location"]["name"], "repositoryName": repository["name"],
                "pipelineName": FLUSH_JOB}
    job = _graphql(port, PRESETS, {"selector": selector})["pipelineOrError"]
    assert job["__typename"] == "Pipeline", job
    presets = {p["name"]: yaml.safe_load(p["runConfigYaml"]) or {} for p in job["presets"]}
    launched = _graphql(port, LAUNCH, {"params": {"selector": selector, "mode": "default",
                                                  "runConfigData": presets.get("default", {})}})
    launched = launched["launchPipelineExecution"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    status = None
    for _ in range(120):  # until the run ends (a bound, not a timing assertion)
        run = _graphql(port, RUN, {"id": run_id})["runOrError"]
        assert run["__typename"] == "Run" and run["pipelineName"] == FLUSH_JOB, run
        if (status := run["status"]) in TERMINAL:
            break
        time.sleep(0.5)
    assert status == "SUCCESS", (status, [e.user_message for e in pipeline.instance.all_logs(run_id)][-5:])
    [manifest] = pipeline.tracking.manifests_of_date(DAY)  # the flush formed one from the 4 pending files
    assert manifest["status"] == "pending" and manifest["minted_by"] == "flush"


def _health_and_its_check_show_in_the_ui(port: int, pipeline: Pipeline) -> None:
    """`pipeline_health` and `pipeline_healthy` run in-process on the instance the webserver
    serves: its GraphQL gives what they recorded."""
    defs = _with_health(pipeline)
    assert defs.resolve_job_def(HEALTH_JOB).execute_in_process(instance=pipeline.instance, partition_key=DAY).success
    checked = defs.resolve_job_def(HEALTH_CHECK_JOB).execute_in_process(instance=pipeline.instance)
    [evaluation] = checked.get_asset_check_evaluations()
    recorded = pipeline.instance.get_latest_materialization_event(AssetKey("pipeline_health")).asset_materialization

    data = _graphql(port, HEALTH, {"health": {"path": ["pipeline_health"]}, "landing": {"path": [LANDING_ASSET]}})
    [materialization] = data["assetOrError"]["assetMaterializations"]
    assert materialization["partition"] == DAY
    assert {e["label"]: _value(e) for e in materialization["metadataEntries"]} == {
        k: v.value for k, v in recorded.metadata.items()}
    [execution] = data["assetCheckExecutions"]
    assert execution["status"] == ("SUCCEEDED" if evaluation.passed else "FAILED")
    shown = {e["label"]: _value(e) for e in execution["evaluation"]["metadataEntries"]}
    assert shown["pending_files"] == evaluation.metadata["pending_files"].value == 4  # the flushed files wait for their run
    assert shown["alerted"] is False
