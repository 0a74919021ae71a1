"""A malformed job record or a bad page token never takes a listing down: over real HTTP
against `etl-platform api` and the emulator, with items written into the jobs table by hand
(as an operator's console edit or an older version would leave them)."""

import base64
import json
import subprocess

import httpx
import pytest

from etl_platform.aws import make_client
from etl_platform.resources.dynamodb import serialize_item

from etl_platform_tests.helpers import PROJECT_ROOT, VENV_BIN, cli_env

pytestmark = pytest.mark.e2e


@pytest.fixture
def client(api_url, aws):
    with httpx.Client(base_url=api_url, timeout=60) as http:
        yield http


@pytest.fixture
def dynamodb(aws):
    return make_client("dynamodb", region=aws.region, endpoint_url=aws.endpoint_url)


def _put(dynamodb, aws, item: dict) -> None:
    dynamodb.put_item(TableName=aws.names.jobs_table, Item=serialize_item(item))


def _sound(job_id: str, created: str, status: str = "PENDING") -> dict:
    return {"jobId": job_id, "fileName": f"{job_id}.parquet", "status": status, "createdAt": created,
            "updatedAt": created, "inputS3Key": f"uploads/{job_id}/{job_id}.parquet"}


def _token(payload) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


def _all_pages(client, **params) -> list[str]:
    ids, token = [], None
    while True:
        page = client.get("/jobs", params={**params, **({"nextToken": token} if token else {})})
        assert page.status_code == 200, page.text
        ids += [j["jobId"] for j in page.json()["jobs"]]
        token = page.json()["nextToken"]
        if not token:
            return ids


def test_bad_page_tokens_answer_400_with_a_reason(client, dynamodb, aws):
    for n in range(4):
        _put(dynamodb, aws, _sound(f"job-{n}", f"2024-01-0{n + 1}T00:00:00.000Z"))
    scan_token = client.get("/jobs", params={"limit": 1}).json()["nextToken"]
    status_token = client.get("/jobs", params={"limit": 1, "status": "PENDING"}).json()["nextToken"]
    assert scan_token and status_token

    refused = {
        "not base64": "garbage!",
        "truncated": scan_token[:-5],
        "not JSON": base64.urlsafe_b64encode(b"not json").decode(),
        "a JSON list": _token([1]),
        "a bare DynamoDB key": _token({"jobId": {"S": "job-1"}}),
        "a number key": _token({"status": None, "key": {"jobId": {"N": "1"}}}),
        "an extra attribute": _token({"status": None, "key": {"jobId": {"S": "job-1"}, "x": {"S": "y"}}}),
        "another index's key": _token({"status": None, "key": json.loads(base64.urlsafe_b64decode(status_token))["key"]}),
        "an oversized key": _token({"status": None, "key": {"jobId": {"S": "j" * 5000}}}),
    }
    for what, token in refused.items():
        response = client.get("/jobs", params={"nextToken": token})
        assert response.status_code == 400, (what, response.text)
        assert response.json()["detail"].startswith("nextToken is not valid ("), (what, response.text)

    # a token only continues the listing it came from, and says which that was
    crossed = client.get("/jobs", params={"nextToken": status_token})
    assert crossed.status_code == 400 and "status=PENDING, not with no status filter" in crossed.json()["detail"]
    crossed = client.get("/jobs", params={"nextToken": scan_token, "status": "PENDING"})
    assert crossed.status_code == 400 and "no status filter, not with status=PENDING" in crossed.json()["detail"]
    crossed = client.get("/jobs", params={"nextToken": status_token, "status": "FAILED"})
    assert crossed.status_code == 400 and "not with status=FAILED" in crossed.json()["detail"]


def test_a_token_whose_job_was_deleted_continues_from_where_it_was(client, dynamodb, aws):
    for n in range(4):
        _put(dynamodb, aws, _sound(f"job-{n}", f"2024-01-0{n + 1}T00:00:00.000Z"))
    for params in ({}, {"status": "PENDING"}):
        first = client.get("/jobs", params={**params, "limit": 2}).json()
        # the job the token ends at (a page is sorted for showing; the token follows table order)
        ends_at = json.loads(base64.urlsafe_b64decode(first["nextToken"]))["key"]["jobId"]["S"]
        assert ends_at in {j["jobId"] for j in first["jobs"]}
        deleted = client.get(f"/job-status/{ends_at}").json()
        dynamodb.delete_item(TableName=aws.names.jobs_table, Key=serialize_item({"jobId": ends_at}))
        rest = client.get("/jobs", params={**params, "limit": 100, "nextToken": first["nextToken"]})
        assert rest.status_code == 200, rest.text
        seen = {j["jobId"] for j in first["jobs"]}
        remaining = {j["jobId"] for j in rest.json()["jobs"]}
        assert len(remaining) == 2 and not remaining & seen  # moved on from the deleted job, not back to the start
        assert remaining == set(_all_pages(client, **params)) - seen
        _put(dynamodb, aws, _sound(ends_at, deleted["createdAt"]))  # back, for the second listing


MALFORMED = {
    # what was written by hand -> what GET /job-status shows of it and its flags
    "no-name": ({"jobId": "no-name", "status": "PENDING", "createdAt": "2024-02-03T00:00:00.000Z",
                 "updatedAt": "2024-02-03T00:00:00.000Z", "inputS3Key": "uploads/no-name/x.parquet"},
                ["fileName missing"]),
    "no-dates": ({"jobId": "no-dates", "fileName": "d.parquet", "status": "FAILED", "inputS3Key": "uploads/d"},
                 ["createdAt missing", "updatedAt missing"]),
    "bare": ({"jobId": "bare"}, ["fileName missing", "status missing", "createdAt missing", "updatedAt missing",
                                 "inputS3Key missing"]),
    "odd-types": ({"jobId": "odd-types", "fileName": 42, "status": "DONE", "createdAt": 1706745600,
                   "updatedAt": "2024-02-01", "inputS3Key": "uploads/o", "processingTime": "slow"},
                  ["fileName is not a string: 42", "createdAt is not a string: 1706745600",
                   "status 'DONE' is not one of PENDING, RUNNING, COMPLETED, FAILED",
                   "processingTime is not a number: 'slow'"]),
    "no-output": ({**_sound("no-output", "2024-02-02T00:00:00.000Z", "COMPLETED"), "processingTime": 1.5},
                  ["outputS3Key missing on a COMPLETED job"]),
}


def test_malformed_items_are_listed_with_what_they_have_and_flagged(client, dynamodb, aws, api_url, tmp_path):
    job_schema = client.get("/openapi.json").json()["components"]["schemas"]["Job"]
    assert job_schema["properties"]["malformed"]["type"] == "array"  # documented for API clients
    assert set(job_schema["required"]) == {"jobId", "fileName", "status", "createdAt", "updatedAt", "inputS3Key"}
    _put(dynamodb, aws, _sound("sound", "2024-02-04T00:00:00.000Z"))
    for item, _ in MALFORMED.values():
        _put(dynamodb, aws, item)

    listed = client.get("/jobs")
    assert listed.status_code == 200, listed.text
    jobs = {j["jobId"]: j for j in listed.json()["jobs"]}
    assert set(jobs) == {"sound", *MALFORMED}
    assert jobs["sound"]["malformed"] == [] and jobs["sound"]["fileName"] == "sound.parquet"
    for job_id, (item, flags) in MALFORMED.items():
        assert jobs[job_id]["malformed"] == flags, job_id
        status = client.get(f"/job-status/{job_id}")
        assert status.status_code == 200 and status.json() == jobs[job_id], status.text
    assert jobs["no-name"]["status"] == "PENDING" and jobs["no-name"]["fileName"] is None
    assert (jobs["odd-types"]["fileName"], jobs["odd-types"]["status"], jobs["odd-types"]["inputS3Key"]) == \
        (None, None, "uploads/o")
    # newest first, records without a date last
    order = [j["jobId"] for j in listed.json()["jobs"]]
    assert order[:3] == ["sound", "no-name", "no-output"] and set(order[3:]) == {"no-dates", "bare", "odd-types"}

    pending = client.get("/jobs", params={"status": "PENDING"})
    assert pending.status_code == 200 and [j["jobId"] for j in pending.json()["jobs"]] == ["sound", "no-name"]
    assert pending.json()["jobs"][1]["malformed"] == ["fileName missing"]

    # acting on one refuses clearly instead of failing
    for path in ("/download/no-output", "/jobs/no-output/preview", "/download/bare"):
        refused = client.get(path)
        assert refused.status_code == 409 and "malformed record" in refused.json()["detail"], (path, refused.text)
    for job_id in ("bare", "odd-types"):
        refused = client.post("/trigger-job", json={"jobId": job_id})
        assert refused.status_code == 409 and "cannot be triggered" in refused.json()["detail"], refused.text

    env = cli_env(tmp_path / "state", ETL_API_URL=api_url)

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(VENV_BIN / "etl-platform"), "jobs", *args], env=env, cwd=PROJECT_ROOT,
                              capture_output=True, text=True, timeout=120)

    listing = cli("list")
    assert listing.returncode == 0, listing.stderr
    lines = {line.split()[0]: line for line in listing.stdout.splitlines()}
    assert set(lines) == {"sound", *MALFORMED}
    assert "MALFORMED" not in lines["sound"] and lines["sound"].endswith("sound.parquet")
    assert lines["bare"] == "bare  ?          ?  ?  MALFORMED: " + "; ".join(MALFORMED["bare"][1])
    assert lines["no-name"].split()[1:4] == ["PENDING", "2024-02-03T00:00:00.000Z", "?"]
    assert "MALFORMED: fileName missing" in lines["no-name"]
    status = cli("status", "odd-types")
    assert status.returncode == 0 and json.loads(status.stdout)["malformed"] == MALFORMED["odd-types"][1]
