"""Pipeline A end to end: every hostile Parquet input of the README tables with an innocent
file, uploaded through the real REST API, and dropped in incoming/ for the drop sensor;
each ends with its documented status and message, and the innocent file converts whole."""

from __future__ import annotations

import io

import httpx
import pytest
from dagster import DagsterInstance, Definitions

from etl_platform.pipelines.parquet_to_json import JOB_NAME, parquet_to_json_definitions
from etl_platform.resources import platform_resources
from etl_platform_tests.helpers import tick_sensor
from etl_platform_tests.hostile import parquet_inputs
from etl_platform_tests.hostile.documented import documented, matches
from etl_platform_tests.parquet_to_json.conftest import running_api, wait_for_status

pytestmark = pytest.mark.e2e

KEYS = {"a-space-unicode": "incoming/my file ü.parquet", "a-dotdot": "incoming/../up.parquet"}


def _output(s3, settings, key: str) -> bytes:
    return s3.get_object(Bucket=settings.names.jobs_output_bucket, Key=key)["Body"].read()


def test_hostile_parquet_dropped_in_incoming(aws):
    defs = Definitions.merge(parquet_to_json_definitions(aws), Definitions(resources=platform_resources(aws)))
    s3, table = defs.resources["s3"].get_client(), defs.resources["jobs_table"]
    bucket = aws.names.jobs_input_bucket
    files = {f"incoming/{name}.parquet": make() for name, make in parquet_inputs.SCENARIOS.items()}
    files["incoming/innocent.parquet"] = parquet_inputs.innocent(25)
    files.update({key: parquet_inputs.innocent(25) for key in KEYS.values()})
    for key, body in files.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)

    instance = DagsterInstance.ephemeral()
    tick = tick_sensor(defs, instance, "parquet_drop_sensor", ("s3", "jobs_table"), None)
    assert sorted(r.tags["s3_key"] for r in tick.run_requests) == sorted(files)
    job = defs.resolve_job_def(JOB_NAME)
    jobs = {}
    for request in tick.run_requests:
        job.execute_in_process(instance=instance, partition_key=request.partition_key, tags=request.tags,
                               raise_on_error=False)
        jobs[request.tags["s3_key"]] = table.get_job(request.tags["job_id"])

    def observed(item: dict) -> tuple[str, str]:
        if item["status"] == "FAILED":
            return "FAILED", item["errorMessage"]
        return item["status"], parquet_inputs.describe_output(_output(s3, aws, item["outputS3Key"]))

    doc = documented("A drop")
    for name in parquet_inputs.SCENARIOS:
        status, message = observed(jobs[f"incoming/{name}.parquet"])
        assert status == doc[name][0], name
        assert matches(doc[name][1], message), (name, message)
    assert observed(jobs["incoming/innocent.parquet"]) == ("COMPLETED", "25 rows, 2 columns")
    keys = documented("S3 keys")
    for scenario, key in KEYS.items():
        item = jobs[key]
        assert observed(item) == ("COMPLETED", "25 rows, 2 columns")
        assert (item["status"], item["outputS3Key"].replace(item["jobId"], "<job>")) == keys[scenario]


@pytest.fixture(scope="module")
def api(emulator_settings, tmp_path_factory):
    with running_api(emulator_settings, tmp_path_factory, 8 * 1024 * 1024) as server:  # room for 10,000 columns
        with httpx.Client(base_url=server.url, timeout=60) as client:
            yield client


def test_hostile_parquet_uploaded_through_the_api(api, aws):
    s3 = platform_resources(aws)["s3"].get_client()
    files = {name: make() for name, make in parquet_inputs.SCENARIOS.items()}
    files["innocent"] = parquet_inputs.innocent(25)
    answers, jobs = {}, {}
    for name, body in files.items():
        uploaded = api.post("/upload", files={"file": (f"{name}.parquet", io.BytesIO(body), "application/octet-stream")})
        if uploaded.status_code != 201:
            answers[name] = (str(uploaded.status_code), uploaded.json()["detail"])
            continue
        job_id = uploaded.json()["jobId"]
        triggered = api.post("/trigger-job", json={"jobId": job_id})
        assert triggered.status_code == 202, triggered.text
        jobs[name] = job_id
    for name, job_id in jobs.items():   # all triggered before any is awaited: one batch
        item = wait_for_status(api, job_id)
        answers[name] = ((item["status"], item["errorMessage"]) if item["status"] == "FAILED" else
                         (item["status"], parquet_inputs.describe_output(_output(s3, aws, item["outputS3Key"]))))

    doc = documented("A upload")
    for name in parquet_inputs.SCENARIOS:
        assert answers[name][0] == doc[name][0], (name, answers[name])
        assert matches(doc[name][1], answers[name][1]), (name, answers[name])
    assert answers["innocent"] == ("COMPLETED", "25 rows, 2 columns")
