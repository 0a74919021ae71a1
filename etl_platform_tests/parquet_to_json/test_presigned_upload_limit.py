"""Presigned uploads enforce ETL_MAX_UPLOAD_BYTES: S3 itself refuses a larger file.

`POST /uploads/presign` hands out a POST policy with `content-length-range` up to the
limit (the fixture's API runs with ETL_MAX_UPLOAD_BYTES=300000). Posting straight to S3,
past every check of our client, a file one byte over is refused by the (embedded) S3 and
nothing is stored; a file under it goes upload -> trigger -> COMPLETED. The CLI refuses
an oversized file before sending it.
"""

import io
import json
import subprocess

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl_platform_tests.helpers import PROJECT_ROOT, VENV_BIN, cli_env
from etl_platform_tests.parquet_to_json.conftest import (
    MAX_UPLOAD_BYTES, expected_records, flat_table, parquet_bytes, wait_for_status,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def client(api_url, aws):
    with httpx.Client(base_url=api_url, timeout=60) as http:
        yield http


def _post_to_s3(presigned: dict, name: str, body: bytes) -> httpx.Response:
    return httpx.post(presigned["uploadUrl"], data=presigned["fields"], files={"file": (name, body)}, timeout=60)


def _big_parquet(min_bytes: int) -> bytes:
    values = np.random.default_rng(0).integers(0, 2**62, size=min_bytes // 8 + 1000)
    sink = io.BytesIO()
    pq.write_table(pa.table({"v": values}), sink, compression="none")
    body = sink.getvalue()
    assert len(body) > min_bytes
    return body


def test_s3_refuses_a_presigned_upload_over_the_limit(client, aws):
    presigned = client.post("/uploads/presign", json={"fileName": "too big.parquet"}).json()
    assert presigned["maxBytes"] == MAX_UPLOAD_BYTES
    refused = _post_to_s3(presigned, "too big.parquet", _big_parquet(MAX_UPLOAD_BYTES)[: MAX_UPLOAD_BYTES + 1])
    assert refused.status_code == 400 and "<Code>EntityTooLarge</Code>" in refused.text
    assert f"<MaxSizeAllowed>{MAX_UPLOAD_BYTES}</MaxSizeAllowed>" in refused.text
    missing = client.post("/trigger-job", json={"jobId": presigned["jobId"]})
    assert missing.status_code == 409 and "no input file" in missing.json()["detail"]

    at_limit = parquet_bytes(flat_table(40))
    source = pq.read_table(io.BytesIO(at_limit))
    assert _post_to_s3(presigned, "too big.parquet", at_limit).status_code == 204   # the same policy, a file under it
    assert client.post("/trigger-job", json={"jobId": presigned["jobId"]}).status_code == 202
    assert wait_for_status(client, presigned["jobId"])["status"] == "COMPLETED"
    preview = client.get(f"/jobs/{presigned['jobId']}/preview", params={"limit": 100}).json()
    assert preview["records"] == expected_records(source)


def test_a_declared_size_over_the_limit_is_refused_before_a_job_exists(client):
    before = {j["jobId"] for j in client.get("/jobs", params={"limit": 100}).json()["jobs"]}
    refused = client.post("/uploads/presign", json={"fileName": "x.parquet", "fileSize": MAX_UPLOAD_BYTES + 1})
    assert refused.status_code == 413 and str(MAX_UPLOAD_BYTES) in refused.json()["detail"]
    assert {j["jobId"] for j in client.get("/jobs", params={"limit": 100}).json()["jobs"]} == before


def test_the_cli_refuses_an_oversized_file(api_url, tmp_path, client):
    path = tmp_path / "huge.parquet"
    path.write_bytes(_big_parquet(MAX_UPLOAD_BYTES))
    result = subprocess.run([str(VENV_BIN / "etl-platform"), "jobs", "upload", str(path)],
                            env=cli_env(tmp_path / "state", ETL_API_URL=api_url), cwd=PROJECT_ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "413" in result.stderr and "too large" in result.stderr
    assert not [j for j in client.get("/jobs", params={"limit": 100}).json()["jobs"] if j["fileName"] == "huge.parquet"]
    assert json.loads(client.get("/openapi.json").text)["components"]["schemas"]["PresignResponse"]["required"] == [
        "jobId", "message", "uploadUrl", "fields", "maxBytes", "expiresIn"]
