"""`etl-platform local up | down | status | reset`, run as a user runs them.

The real CLI in a subprocess, a private state dir and a free port; data goes in through
the real AWS CLI and boto3, and must all be back after a restart.
"""

import json
import subprocess
import time

import pytest

from etl_platform.aws import make_client
from etl_platform_tests.helpers import VENV_BIN, cli_env, free_port

pytestmark = pytest.mark.e2e


def _cli(env, *args, input=None):
    result = subprocess.run([str(VENV_BIN / "etl-platform"), *args], env=env, capture_output=True, text=True, timeout=180, input=input)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _aws_cli(endpoint, *args):
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1", "PATH": str(VENV_BIN)}
    result = subprocess.run([str(VENV_BIN / "aws"), "--endpoint-url", endpoint, *args], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def stack(tmp_path):
    env = cli_env(tmp_path / "state", ETL_LOCAL_PORT=str(free_port()), ETL_SNAPSHOT_INTERVAL_SECONDS="1")
    yield env
    subprocess.run([str(VENV_BIN / "etl-platform"), "local", "down"], env=env, capture_output=True, timeout=180)


def test_state_survives_a_restart(stack, tmp_path):
    out = _cli(stack, "local", "up")
    endpoint = out.split(" on ", 1)[1].split()[0]
    assert endpoint.startswith("http://127.0.0.1:")

    # The real AWS CLI sees the seeds' buckets and tables.
    buckets = _aws_cli(endpoint, "s3", "ls")
    assert "ndjson-parquet-input-dev-123456789012" in buckets and "etl-pipeline-output-dev-123456789012" in buckets
    tables = json.loads(_aws_cli(endpoint, "dynamodb", "list-tables"))["TableNames"]
    assert "ndjson-parquet-sqs-file-tracking-dev" in tables and "etl-pipeline-jobs" in tables

    s3, dynamodb, sqs = (make_client(s, region="us-east-1", endpoint_url=endpoint) for s in ("s3", "dynamodb", "sqs"))
    body = b"\x00binary\xffbody" * 100_000  # > 1 MiB: spills out of moto's key buffer
    s3.put_object(Bucket="ndjson-parquet-quarantine-dev-123456789012", Key="q/a b+c.ndjson", Body=body, Metadata={"reason": "too small"})
    item = {"date_prefix": {"S": "2026-02-01"}, "file_key": {"S": "data-001.ndjson"}, "status": {"S": "pending#3"},
            "size": {"N": "3500000"}, "raw": {"B": b"\x00\x01"}, "tags": {"SS": ["a", "b"]}}
    dynamodb.put_item(TableName="ndjson-parquet-sqs-file-tracking-dev", Item=item)
    queue = sqs.get_queue_url(QueueName="ndjson-parquet-dlq-dev")["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody='{"replay": "me"}',
                     MessageAttributes={"origin": {"DataType": "String", "StringValue": "test"}})
    # Two versions of a landing file, the first a multipart upload by the AWS CLI (> 8 MB):
    # tracking records version ids and ETags, so a restart must keep both.
    landing, key = "ndjson-parquet-input-dev-123456789012", "landing/ndjson/2026-02-01/big.ndjson"
    big = tmp_path / "big.ndjson"
    big.write_bytes(b'{"n": 1}\n' * 1_000_000)
    _aws_cli(endpoint, "s3", "cp", str(big), f"s3://{landing}/{key}")
    s3.put_object(Bucket=landing, Key=key, Body=b'{"n": 2}\n')
    versions_before = s3.list_object_versions(Bucket=landing, Prefix=key)["Versions"]
    assert [v["ETag"].endswith('-2"') for v in versions_before] == [False, True]  # newest first

    # Saved periodically while up, not only on down.
    summary = tmp_path / "state" / "snapshot" / "snapshot.json"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (summary.exists() and json.loads(summary.read_text())["items"] >= 1):
        time.sleep(0.5)
    assert json.loads(summary.read_text())["items"] >= 1

    assert "stopped" in _cli(stack, "local", "down")
    assert "not running" in _cli(stack, "local", "down")
    out = _cli(stack, "local", "up")
    endpoint = out.split(" on ", 1)[1].split()[0]
    s3, dynamodb, sqs = (make_client(s, region="us-east-1", endpoint_url=endpoint) for s in ("s3", "dynamodb", "sqs"))

    versions_after = s3.list_object_versions(Bucket=landing, Prefix=key)["Versions"]
    identity = [(v["VersionId"], v["ETag"], v["IsLatest"]) for v in versions_after]
    assert identity == [(v["VersionId"], v["ETag"], v["IsLatest"]) for v in versions_before]
    first = versions_before[1]
    assert s3.get_object(Bucket=landing, Key=key, VersionId=first["VersionId"])["Body"].read() == big.read_bytes()
    assert s3.get_object(Bucket=landing, Key=key, IfMatch=first["ETag"], VersionId=first["VersionId"])["ETag"] == first["ETag"]
    restored = s3.get_object(Bucket="ndjson-parquet-quarantine-dev-123456789012", Key="q/a b+c.ndjson")
    assert restored["Body"].read() == body and restored["Metadata"] == {"reason": "too small"}
    got = dynamodb.get_item(TableName="ndjson-parquet-sqs-file-tracking-dev",
                            Key={"date_prefix": {"S": "2026-02-01"}, "file_key": {"S": "data-001.ndjson"}})["Item"]
    assert got["raw"] == {"B": b"\x00\x01"} and got["size"] == {"N": "3500000"} and sorted(got["tags"]["SS"]) == ["a", "b"]
    queue = sqs.get_queue_url(QueueName="ndjson-parquet-dlq-dev")["QueueUrl"]
    messages = sqs.receive_message(QueueUrl=queue, MessageAttributeNames=["All"], WaitTimeSeconds=1)["Messages"]
    assert [(m["Body"], m["MessageAttributes"]["origin"]["StringValue"]) for m in messages] == [('{"replay": "me"}', "test")]

    status = json.loads(_cli(stack, "local", "status"))
    assert status["running"] and status["endpoint"] == endpoint and "ndjson-parquet-dlq-dev" in status["queues"]

    _cli(stack, "local", "reset", "--yes")
    assert s3.list_objects_v2(Bucket="ndjson-parquet-quarantine-dev-123456789012").get("KeyCount") == 0
    assert "ndjson-parquet-sqs-file-tracking-dev" in dynamodb.list_tables()["TableNames"]
    _cli(stack, "local", "down")
    _cli(stack, "local", "up")
    assert s3.list_objects_v2(Bucket="ndjson-parquet-quarantine-dev-123456789012").get("KeyCount") == 0


def test_up_reports_a_clear_error_when_the_port_is_taken(tmp_path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = cli_env(tmp_path / "state", ETL_LOCAL_PORT=str(port))
        result = subprocess.run([str(VENV_BIN / "etl-platform"), "local", "up"], env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode != 0  # checked before anything starts (local/ports.py): one line naming the variable
    assert result.stderr.strip().splitlines() == [
        f"Error: embedded AWS port 127.0.0.1:{port} is already in use: set ETL_LOCAL_PORT to a free "
        "port (nothing was started)"]
