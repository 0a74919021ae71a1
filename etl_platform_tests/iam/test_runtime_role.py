"""The Dagster runtime's calls under DagsterRuntimeRole's credentials, pipeline by pipeline.

Every client of the code location (resources, sensors, the REST API, the operator
commands) is built from `Settings.credentials`, here a session of the runtime role assumed
from the template, so each call the runtime makes is checked against that role's policy
on the IAM-enforced emulator. Producers (whoever drops files) act as the admin.
"""

from __future__ import annotations

import io
import json
import time

import httpx

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from botocore.exceptions import ClientError
from dagster import DagsterInstance, Definitions
from fastapi.testclient import TestClient

from etl_platform.api.app import create_app
from etl_platform.api.launcher import InProcessLauncher
from etl_platform.config import Settings
from etl_platform.aws import client_for, make_client
from etl_platform.local.iam_session import as_role
from etl_platform.local.provision import provision
from etl_platform.pipelines.csv_profile import csv_profile_definitions
from etl_platform.pipelines.ndjson_to_parquet import operations
from etl_platform.pipelines.ndjson_to_parquet.assets import ENGINE_TAG
from etl_platform.pipelines.parquet_to_json import JOB_NAME as PARQUET_JOB, parquet_to_json_definitions
from etl_platform.resources import platform_resources
from etl_platform.resources.glue import GlueJobRunner
from etl_platform_tests.helpers import tick_sensor
from etl_platform_tests.ndjson_to_parquet.harness import Pipeline, records, scaled, manifest_id_of

pytestmark = pytest.mark.e2e


@pytest.fixture
def runtime(admin, tmp_path):
    """Settings signing as a session of DagsterRuntimeRole (its own Dagster home)."""
    return as_role(admin, "DagsterRuntimeRole", "dagster-runtime").with_overrides(state_dir=tmp_path)


def _parquet(rows: int) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.table({"id": list(range(rows)), "name": [f"n{i}" for i in range(rows)]}), sink)
    return sink.getvalue()


def _wait_for_status(client: TestClient, job_id: str, wanted: set[str], timeout: float = 180.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/job-status/{job_id}").json()
        if job["status"] in wanted:
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} stayed {job['status']}")


def _launcher_whose_glue_runs_under_its_role(admin: Settings, runtime: Settings) -> InProcessLauncher:
    """The API's in-process launcher, its asset signing as the runtime role (which starts the
    Glue job run) and its Glue script as ParquetToJsonGlueRole, the role Glue would run it under."""
    launcher = InProcessLauncher(runtime)
    glue_role = as_role(admin, "ParquetToJsonGlueRole", "glue-parquet-to-json")
    glue = GlueJobRunner(**{**GlueJobRunner.from_settings(glue_role, platform_resources(runtime)["aws"]).__dict__,
                            "script_connection": platform_resources(glue_role)["aws"]})
    resources = {**platform_resources(runtime), "glue": glue}
    launcher.job = Definitions.merge(parquet_to_json_definitions(runtime), Definitions(resources=resources)).resolve_job_def(PARQUET_JOB)
    return launcher


def test_pipeline_a_api_and_sensor_under_the_runtime_role(admin, runtime):
    app = create_app(runtime, launcher=_launcher_whose_glue_runs_under_its_role(admin, runtime))
    with TestClient(app) as client:
        # Upload through the API, run the conversion (the local Glue runner), read it back.
        uploaded = client.post("/upload", files={"file": ("data.parquet", _parquet(40), "application/octet-stream")})
        assert uploaded.status_code == 201, uploaded.text
        job_id = uploaded.json()["jobId"]
        triggered = client.post("/trigger-job", json={"jobId": job_id})
        assert triggered.status_code == 202, triggered.text
        job = _wait_for_status(client, job_id, {"COMPLETED", "FAILED"})
        assert job["status"] == "COMPLETED", job
        assert client.get("/jobs", params={"status": "COMPLETED"}).json()["jobs"][0]["jobId"] == job_id  # the GSI
        assert [j["jobId"] for j in client.get("/jobs").json()["jobs"]] == [job_id]  # a scan
        assert len(client.get(f"/jobs/{job_id}/preview").json()["records"]) == 10
        download = client.get(f"/download/{job_id}").json()["downloadUrl"]
        assert len(httpx.get(download, timeout=30).content.splitlines()) == 40  # presigned by the runtime role

        # The large-file path: a presigned POST straight to S3 (signed by the role), then the trigger.
        presigned = client.post("/uploads/presign", json={"fileName": "big.parquet"}).json()
        posted = httpx.post(presigned["uploadUrl"], data=presigned["fields"],
                            files={"file": ("big.parquet", _parquet(25))}, timeout=30)
        assert posted.status_code in (200, 204), posted.text
        assert client.post("/trigger-job", json={"jobId": presigned["jobId"]}).status_code == 202
        assert _wait_for_status(client, presigned["jobId"], {"COMPLETED", "FAILED"})["status"] == "COMPLETED"

    # A file dropped under incoming/ (by a producer) becomes a job through the sensor.
    client_for(admin, "s3").put_object(Bucket=admin.names.jobs_input_bucket, Key="incoming/drop.parquet", Body=_parquet(7))
    launcher = _launcher_whose_glue_runs_under_its_role(admin, runtime)
    defs = Definitions.merge(parquet_to_json_definitions(runtime), Definitions(resources=platform_resources(runtime)))
    instance = DagsterInstance.ephemeral()
    tick = tick_sensor(defs, instance, "parquet_drop_sensor", ("s3", "jobs_table"))
    [run_request] = tick.run_requests
    result = launcher.job.execute_in_process(
        instance=instance, partition_key=run_request.partition_key, tags=run_request.tags, raise_on_error=False)
    assert result.success
    assert platform_resources(runtime)["jobs_table"].get_job(run_request.tags["job_id"])["status"] == "COMPLETED"


def test_pipeline_b_sensor_runs_alerts_and_operations_under_the_runtime_role(admin, runtime):
    pipeline = Pipeline(scaled(runtime, manifest_max_files=1, circuit_breaker_failures=5))
    producer = client_for(admin, "s3")
    for name in ("a.ndjson", "b.ndjson"):
        body = ("\n".join(json.dumps(r) for r in records(name, 6)) + "\n{broken\n").encode()
        producer.put_object(Bucket=admin.names.ndjson_input_bucket, Key=f"landing/ndjson/2026-06-01/{name}", Body=body)
    producer.put_object(Bucket=admin.names.ndjson_input_bucket, Key="landing/ndjson/2026-06-01/tiny.ndjson", Body=b"{}\n")
    results = pipeline.drain()
    assert list(results.values()) == [True, True], results  # quarantine (tiny), manifests, Parquet, rejects, metrics
    assert len(pipeline.output_rows("2026-06-01")) == 12

    # A failing manifest: the output bucket is gone -> failed files, an SNS alert, the breaker counts.
    pipeline.land("2026-06-02", "later.ndjson", records("later", 6))
    [request] = pipeline.tick().run_requests
    output = admin.names.parquet_output_bucket
    for obj in producer.list_objects_v2(Bucket=output).get("Contents", []):
        producer.delete_object(Bucket=output, Key=obj["Key"])
    producer.delete_bucket(Bucket=output)
    assert not pipeline.run(manifest_id_of(request)).success
    inbox = client_for(admin, "sqs").get_queue_url(QueueName=admin.names.alerts_inbox_queue)["QueueUrl"]
    alerts = client_for(admin, "sqs").receive_message(QueueUrl=inbox, WaitTimeSeconds=1).get("Messages", [])
    assert any(manifest_id_of(request) in m["Body"] for m in alerts)

    # The operator commands' work (`etl-platform ingest ...`), in-process under the same role.
    report = operations.status(runtime, time.time())
    assert report["failed_files"] == 1 and report["dead_letters"] == {"visible": 0, "in_flight": 0}
    operations.reset_breaker(runtime)
    assert platform_resources(runtime)["tracking_table"].breaker().consecutive_failures == 0
    provision(admin)  # the operator fixes the account
    assert operations.replay(runtime, manifest_id_of(request), DagsterInstance.ephemeral())
    dlq = client_for(admin, "sqs").get_queue_url(QueueName=admin.names.file_events_dlq)["QueueUrl"]
    client_for(admin, "sqs").send_message(QueueUrl=dlq, MessageBody='{"Records": []}')
    assert operations.redrive_dead_letters(runtime) == 1


def test_pipeline_b_glue_path_starts_runs_under_the_runtime_role(admin, runtime):
    """On AWS the Spark engine starts the Glue job through PipesGlueClient (context and
    messages in the Pipes bucket). moto runs nothing, so the run ends without a result, but
    starting and polling the job run and the Pipes exchange pass the runtime role's policy."""
    resources = platform_resources(runtime)
    aws_glue = GlueJobRunner.from_settings(runtime.with_overrides(mode="aws"), resources["aws"])
    pipeline = Pipeline(scaled(runtime, manifest_max_files=1), glue=aws_glue)
    pipeline.land("2026-06-03", "g.ndjson", records("g", 3))
    [request] = pipeline.tick().run_requests
    assert not pipeline.run(manifest_id_of(request), tags={ENGINE_TAG: "spark"}).success
    error = pipeline.tracking.manifest(manifest_id_of(request))["error"]
    assert "ended without reporting its result" in error, error  # not AccessDenied
    runs = client_for(admin, "glue").get_job_runs(JobName=admin.names.ndjson_glue_job)["JobRuns"]
    assert len(runs) == 1
    # What PipesGlueClient calls when the Dagster run is cancelled. moto implements no
    # BatchStopJobRun: once authorized it answers 500; refused, it answers 403.
    glue = make_client("glue", region=runtime.region, endpoint_url=runtime.endpoint_url, max_attempts=1,
                       credentials=runtime.credentials.client_kwargs())
    with pytest.raises(ClientError) as stop:
        glue.batch_stop_job_run(JobName=admin.names.ndjson_glue_job, JobRunIds=[runs[0]["Id"]])
    assert stop.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500, stop.value


@pytest.mark.parametrize("role, bucket, key", [
    ("DagsterRuntimeRole", "jobs_input_bucket", "uploads/job-3/big.parquet"),  # s3transfer, a failed API upload
    ("NdjsonGlueRole", "parquet_output_bucket", "tmp/batch-0001-20260601-000000/part-00000.snappy.parquet"),  # Spark's committer
])
def test_failed_multipart_uploads_can_be_aborted(admin, role, bucket, key):
    """Only failure paths abort a multipart upload; left behind, its parts are billed until
    the lifecycle rule removes them a day later."""
    s3 = client_for(as_role(admin, role), "s3")
    bucket = getattr(admin.names, bucket)
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload)
    assert client_for(admin, "s3").list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_pipeline_c_sensor_and_run_under_the_runtime_role(admin, runtime):
    client_for(admin, "s3").put_object(Bucket=admin.names.csv_data_bucket, Key="uploads/people.csv",
                                       Body=b"name,age\nAda,36\nAlan,41\n")
    defs = Definitions.merge(csv_profile_definitions(runtime), Definitions(resources=platform_resources(runtime)))
    instance = DagsterInstance.ephemeral()
    [run_request] = tick_sensor(defs, instance, "csv_upload_sensor", ("s3",)).run_requests
    result = defs.resolve_job_def("csv_profile_job").execute_in_process(
        instance=instance, partition_key=run_request.partition_key, tags=run_request.tags, raise_on_error=False)
    assert result.success
    assert platform_resources(runtime)["file_metadata_table"].latest_profile("people.csv")["row_count"] == 2
    client_for(admin, "s3").head_object(Bucket=admin.names.csv_data_bucket, Key="processed/people_summary.json")


def test_reconciliation_sensors_and_dead_letter_checks_under_the_runtime_role(admin, runtime):
    """The three reconciliation sensors, the DLQ check and `redrive-dlq --dry-run` pass the
    runtime role's policy (versions listed, tags read, dead letters peeked and released)."""
    from datetime import datetime, timezone

    from etl_platform_tests.helpers import reconcile, reconciling

    producer, sqs = client_for(admin, "s3"), client_for(admin, "sqs")
    day = datetime.now(timezone.utc).date().isoformat()
    producer.put_object(Bucket=admin.names.ndjson_input_bucket, Key=f"landing/ndjson/{day}/r.ndjson",
                        Body=("\n".join(json.dumps(r) for r in records("r", 6)) + "\n").encode())
    # a stray outside landing/ndjson/ (its event lost too): quarantined from anywhere in the bucket
    producer.put_object(Bucket=admin.names.ndjson_input_bucket, Key="landing/other/stray.json", Body=b'{"a": 1}\n')
    events = sqs.get_queue_url(QueueName=admin.names.file_events_queue)["QueueUrl"]
    dlq = sqs.get_queue_url(QueueName=admin.names.file_events_dlq)["QueueUrl"]
    while messages := sqs.receive_message(QueueUrl=events, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages"):
        for message in messages:  # the event is lost, and a copy of it dead-lettered
            if "r.ndjson" in message["Body"]:
                sqs.send_message(QueueUrl=dlq, MessageBody=message["Body"])
            sqs.delete_message(QueueUrl=events, ReceiptHandle=message["ReceiptHandle"])

    pipeline = Pipeline(scaled(runtime).with_overrides(reconcile_grace_seconds=0))
    _, metadata, _ = reconcile(pipeline.defs, pipeline.instance, "ndjson_landing_reconciliation",
                               ("tracking_table", "s3", "metrics_table"), "ndjson_landing_files")
    assert (metadata["recovered"], metadata["outcomes"]) == (2, {"tracked": 1, "quarantined": 1}), metadata
    client_for(admin, "s3").head_object(Bucket=admin.names.quarantine_bucket, Key="landing/other/stray.json")
    job = pipeline.defs.resolve_job_def("ndjson_dead_letters_job")
    [check] = job.execute_in_process(instance=pipeline.instance).get_asset_check_evaluations()
    assert (check.passed, check.metadata["depth"].value) == (False, 1)
    assert [m["object_keys"] for m in operations.preview_dead_letters(runtime)] == [[f"landing/ndjson/{day}/r.ndjson"]]

    producer.put_object(Bucket=admin.names.csv_data_bucket, Key="uploads/missed.csv", Body=b"a,b\n1,2\n")
    producer.put_object(Bucket=admin.names.jobs_input_bucket, Key="incoming/missed.parquet", Body=_parquet(3))
    for definitions, sensor_name, keys, landing in (
            (csv_profile_definitions, "csv_upload_reconciliation", ("s3", "file_metadata_table"), "csv_uploads"),
            (parquet_to_json_definitions, "parquet_drop_reconciliation", ("s3", "jobs_table"), "parquet_uploads")):
        result, metadata, _ = reconcile(reconciling(runtime, definitions), DagsterInstance.ephemeral(), sensor_name,
                                        keys, landing)
        assert (metadata["recovered"], len(result.run_requests)) == (1, 1)
