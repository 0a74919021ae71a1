"""The REST API over real HTTP: `etl-platform api` against the emulator, runs in-process."""

import io
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from etl_platform.aws import make_client
from etl_platform.resources import platform_resources

from etl_platform_tests.helpers import PROJECT_ROOT, VENV_BIN, cli_env
from etl_platform_tests.parquet_to_json.conftest import (
    MAX_UPLOAD_BYTES, expected_records, flat_table, parquet_bytes, read_ndjson, wait_for_status,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def client(api_url, aws):
    with httpx.Client(base_url=api_url, timeout=60) as http:
        yield http


def _upload(client, name: str, body: bytes) -> httpx.Response:
    return client.post("/upload", files={"file": (name, io.BytesIO(body), "application/octet-stream")})


def test_openapi_schema_and_web_page(client):
    schema = client.get("/openapi.json").json()
    assert {"/upload", "/uploads/presign", "/trigger-job", "/job-status/{job_id}", "/jobs", "/download/{job_id}",
            "/jobs/{job_id}/preview"} <= set(schema["paths"])
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'id="upload-form"' in page.text


def test_upload_convert_download_preview_round_trip(client, samples, aws):
    job_ids = {}
    for name, source in samples.items():
        uploaded = _upload(client, f"../dir/{name} data.parquet", parquet_bytes(source))
        assert uploaded.status_code == 201, uploaded.text
        body = uploaded.json()
        assert set(body) == {"jobId", "message", "uploadUrl"}
        assert body["uploadUrl"] == f"s3://{aws.names.jobs_input_bucket}/uploads/{body['jobId']}/{name}_data.parquet"
        job = client.get(f"/job-status/{body['jobId']}").json()
        assert (job["status"], job["fileName"]) == ("PENDING", f"{name}_data.parquet")
        assert client.get(f"/download/{body['jobId']}").status_code == 409  # not completed yet
        assert client.get(f"/jobs/{body['jobId']}/preview").status_code == 409
        triggered = client.post("/trigger-job", json={"jobId": body["jobId"]})
        assert triggered.status_code == 202, triggered.text
        assert triggered.json()["jobId"] == body["jobId"] and triggered.json()["runId"]
        job_ids[name] = body["jobId"]

    for name, source in samples.items():
        job = wait_for_status(client, job_ids[name])
        assert job["status"] == "COMPLETED", job
        assert job["outputS3Key"] == f"output/{job_ids[name]}/{name}_data.ndjson" and job["processingTime"] > 0
        link = client.get(f"/download/{job_ids[name]}").json()
        assert link["fileName"] == f"{name}_data.ndjson" and link["expiresIn"] == aws.jobs.presigned_url_seconds
        downloaded = httpx.get(link["downloadUrl"])
        assert downloaded.status_code == 200
        assert read_ndjson(downloaded.content) == expected_records(source)
        preview = client.get(f"/jobs/{job_ids[name]}/preview").json()
        assert preview["columns"] == source.column_names
        assert preview["records"] == expected_records(source)[:10]
        assert len(client.get(f"/jobs/{job_ids[name]}/preview", params={"limit": 3}).json()["records"]) == 3
        again = client.post("/trigger-job", json={"jobId": job_ids[name]})
        assert again.status_code == 409 and "COMPLETED" in again.json()["detail"]

    listed = client.get("/jobs", params={"status": "COMPLETED"}).json()
    assert sorted(j["jobId"] for j in listed["jobs"]) == sorted(job_ids.values()) and listed["nextToken"] is None
    assert client.get("/jobs", params={"status": "PENDING"}).json()["jobs"] == []
    first = client.get("/jobs", params={"limit": 1}).json()
    second = client.get("/jobs", params={"limit": 1, "nextToken": first["nextToken"]}).json()
    assert {first["jobs"][0]["jobId"], second["jobs"][0]["jobId"]} == set(job_ids.values())


def test_errors_are_json_with_status_codes(client):
    for path in ("/job-status/nope", "/download/nope", "/jobs/nope/preview"):
        response = client.get(path)
        assert response.status_code == 404 and response.json() == {"detail": "job nope not found"}, path
    assert client.post("/trigger-job", json={"jobId": "nope"}).status_code == 404
    for bad_body in ({}, {"jobId": 5}, {"jobId": ""}, []):
        response = client.post("/trigger-job", json=bad_body)
        assert response.status_code == 422 and isinstance(response.json()["detail"], list), bad_body
    assert client.post("/trigger-job", content=b"not json", headers={"Content-Type": "application/json"}).status_code == 422
    assert client.post("/upload", data={"other": "x"}).status_code == 422  # no file part
    for params in ({"status": "DONE"}, {"limit": 0}, {"limit": 101}):
        assert client.get("/jobs", params=params).status_code == 422, params
    assert client.get("/jobs", params={"nextToken": "garbage!"}).status_code == 400

    not_parquet = _upload(client, "data.parquet", b"id,name\n1,a\n" * 10)
    assert not_parquet.status_code == 400 and "PAR1" in not_parquet.json()["detail"]
    assert _upload(client, "tiny.parquet", b"PAR1").status_code == 400
    too_large = _upload(client, "big.parquet", b"PAR1" + b"\0" * MAX_UPLOAD_BYTES + b"PAR1")
    assert too_large.status_code == 413 and "too large" in too_large.json()["detail"]
    assert client.get("/jobs").json()["jobs"] == []  # no job for refused uploads


def test_racing_triggers_launch_one_run(client, api_url):
    job_id = _upload(client, "race.parquet", parquet_bytes(flat_table(40))).json()["jobId"]
    barrier = threading.Barrier(4)

    def trigger(_: int) -> httpx.Response:
        with httpx.Client(base_url=api_url, timeout=60) as own:
            barrier.wait()
            return own.post("/trigger-job", json={"jobId": job_id})

    with ThreadPoolExecutor(4) as pool:
        responses = list(pool.map(trigger, range(4)))
    assert sorted(r.status_code for r in responses) == [202, 409, 409, 409], [r.text for r in responses]
    [launched] = [r.json() for r in responses if r.status_code == 202]
    for refused in (r for r in responses if r.status_code == 409):
        assert "has not started it yet" in refused.json()["detail"] or "RUNNING" in refused.json()["detail"], refused.text
    job = wait_for_status(client, job_id)
    assert job["status"] == "COMPLETED", job
    refused = client.post("/trigger-job", json={"jobId": job_id})
    assert refused.status_code == 409 and "COMPLETED" in refused.json()["detail"]
    assert launched["runId"]


def test_corrupt_parquet_fails_with_a_clear_message_and_can_be_retried(client):
    good = parquet_bytes(flat_table(50))
    corrupt = good[:4] + bytes(len(good) - 8) + good[-4:]  # right magic bytes, garbage between
    job_id = _upload(client, "corrupt.parquet", corrupt).json()["jobId"]
    assert client.post("/trigger-job", json={"jobId": job_id}).status_code == 202
    job = wait_for_status(client, job_id)
    assert job["status"] == "FAILED" and "Parquet" in job["errorMessage"], job
    assert client.get(f"/download/{job_id}").status_code == 409
    assert client.post("/trigger-job", json={"jobId": job_id}).status_code == 202  # FAILED may run again
    assert wait_for_status(client, job_id)["status"] == "FAILED"
    assert [j["jobId"] for j in client.get("/jobs", params={"status": "FAILED"}).json()["jobs"]] == [job_id]


def test_presigned_upload_and_the_cli(client, api_url, tmp_path, aws):
    presigned = client.post("/uploads/presign", json={"fileName": "big one.parquet"}).json()
    assert client.post("/trigger-job", json={"jobId": presigned["jobId"]}).status_code == 409  # nothing uploaded yet
    assert httpx.post(presigned["uploadUrl"], data=presigned["fields"],
                      files={"file": ("big one.parquet", b"definitely not parquet")}).status_code == 204
    refused = client.post("/trigger-job", json={"jobId": presigned["jobId"]})
    assert refused.status_code == 400
    assert client.get(f"/job-status/{presigned['jobId']}").json()["status"] == "FAILED"
    # the file fixed under the same key: the trigger checks and pins that version, and the run converts it
    assert httpx.post(presigned["uploadUrl"], data=presigned["fields"],
                      files={"file": ("big one.parquet", parquet_bytes(flat_table(5)))}).status_code == 204
    assert client.post("/trigger-job", json={"jobId": presigned["jobId"]}).status_code == 202
    s3 = make_client("s3", region=aws.region, endpoint_url=aws.endpoint_url)
    key = client.get(f"/job-status/{presigned['jobId']}").json()["inputS3Key"]
    current = s3.head_object(Bucket=aws.names.jobs_input_bucket, Key=key)["VersionId"]
    assert platform_resources(aws)["jobs_table"].get_job(presigned["jobId"])["inputVersionId"] == current
    assert wait_for_status(client, presigned["jobId"], ("COMPLETED",))["status"] == "COMPLETED"  # it was FAILED before

    source = flat_table(80)
    path = tmp_path / "from cli.parquet"
    path.write_bytes(parquet_bytes(source))
    env = cli_env(tmp_path / "state", ETL_API_URL=api_url)

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(VENV_BIN / "etl-platform"), "jobs", *args], env=env, cwd=PROJECT_ROOT,
                              capture_output=True, text=True, timeout=120)

    uploaded = cli("upload", str(path), "--trigger")
    assert uploaded.returncode == 0, uploaded.stderr
    job_id = __import__("json").loads(uploaded.stdout)["jobId"]
    assert wait_for_status(client, job_id)["status"] == "COMPLETED"
    status = cli("status", job_id)
    assert '"COMPLETED"' in status.stdout and "from_cli.parquet" in status.stdout
    listed = cli("list", "--status", "COMPLETED")
    assert listed.returncode == 0 and job_id in listed.stdout and presigned["jobId"] in listed.stdout
    assert cli("download", job_id, "-o", str(tmp_path / "out.ndjson")).returncode == 0
    assert read_ndjson((tmp_path / "out.ndjson").read_bytes()) == expected_records(source)

    not_parquet = tmp_path / "notes.parquet"
    not_parquet.write_text("hello")
    refused = cli("upload", str(not_parquet))
    assert refused.returncode == 1 and "not a Parquet file" in refused.stderr
    missing = cli("status", "nope")
    assert missing.returncode == 1 and "404" in missing.stderr
