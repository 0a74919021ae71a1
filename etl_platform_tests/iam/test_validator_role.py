"""The validator Lambda's work under NdjsonValidatorRole, the role the template gives it.

On the IAM-enforced emulator a session of the role plays both parts AWS would: the event
source mapping (it receives, deletes and reads the queue's attributes with the function's
role) and the handler (`dependencies_for`, what the Lambda builds from its environment,
here from settings signing as the role). Every outcome that needs a permission is
exercised: a file tracked, one quarantined (copy, record, delete of the version; in
`landing/ndjson/` and outside it, as every created object's event reaches it), a
re-upload replacing a pending file (its old version deleted), and an event for an object
deleted since (a 404 needs s3:ListBucket, else S3 answers 403). A permission the template
lacks fails the handler's message, so `batchItemFailures` must be empty.
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from etl_platform.aws import client_for
from etl_platform.core.sqs_batches import deletable_message_ids, lambda_sqs_event
from etl_platform.lambdas.ndjson_validator import dependencies_for, make_handler
from etl_platform.local.iam_session import as_role

pytestmark = pytest.mark.e2e

DAY = "2026-08-01"


def _body(rows: int) -> bytes:
    return "".join(json.dumps({"id": i, "pad": "x" * 40}) + "\n" for i in range(rows)).encode()


def _drain(validator, queue_url: str, handler) -> tuple[list[dict], list[dict]]:
    """What the event source mapping does, signed as the function's role: receive batches of
    10, invoke, delete what the response allows. (results, batchItemFailures)."""
    sqs = client_for(validator, "sqs")
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    results, failures = [], []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                          MessageSystemAttributeNames=["All"]).get("Messages", []):
        event = lambda_sqs_event([{"message_id": m["MessageId"], "receipt_handle": m["ReceiptHandle"], "body": m["Body"],
                                   "attributes": m.get("Attributes", {})} for m in messages],
                                 queue_arn=arn, region=validator.region)
        response = handler(event, None)
        results += response["results"]
        failures += response["failures"]
        handles = {m["MessageId"]: m["ReceiptHandle"] for m in messages}
        done = deletable_message_ids(list(handles), response)
        if done:
            sqs.delete_message_batch(QueueUrl=queue_url, Entries=[{"Id": str(i), "ReceiptHandle": handles[d]}
                                                                   for i, d in enumerate(done)])
    return results, failures


def test_the_validator_runs_under_its_role(admin):
    settings = admin.with_overrides(ingestion=admin.ingestion.__class__(**{**admin.ingestion.__dict__,
                                                                            "file_min_bytes": 200}))
    names = settings.names
    s3 = client_for(settings, "s3")  # the producer: the admin
    queue_url = client_for(settings, "sqs").get_queue_url(QueueName=names.file_events_queue)["QueueUrl"]
    prefix = f"landing/ndjson/{DAY}/"
    s3.put_object(Bucket=names.ndjson_input_bucket, Key=prefix + "good.ndjson", Body=_body(20))
    s3.put_object(Bucket=names.ndjson_input_bucket, Key=prefix + "tiny.ndjson", Body=b'{"a": 1}\n')
    s3.put_object(Bucket=names.ndjson_input_bucket, Key=prefix + "gone.ndjson", Body=_body(20))
    s3.delete_object(Bucket=names.ndjson_input_bucket, Key=prefix + "gone.ndjson")
    # keys outside landing/ndjson/ reach the validator too, and are quarantined under their key
    s3.put_object(Bucket=names.ndjson_input_bucket, Key="stray.json", Body=_body(20))
    s3.put_object(Bucket=names.ndjson_input_bucket, Key="landing/other/elsewhere.ndjson", Body=_body(20))

    validator = as_role(settings, "NdjsonValidatorRole", "ndjson-validator")
    handler = make_handler(lambda: dependencies_for(validator))
    results, failures = _drain(validator, queue_url, handler)
    assert failures == []
    outcomes = {r["key"].rsplit("/", 1)[-1]: r["outcome"] for r in results}
    assert outcomes == {"good.ndjson": "tracked", "tiny.ndjson": "quarantined", "gone.ndjson": "skipped",
                        "stray.json": "quarantined", "elsewhere.ndjson": "quarantined"}, results
    for key in ("stray.json", "landing/other/elsewhere.ndjson"):
        s3.head_object(Bucket=names.quarantine_bucket, Key=key)

    # new content under the pending key: the record is replaced and the old version deleted
    s3.put_object(Bucket=names.ndjson_input_bucket, Key=prefix + "good.ndjson", Body=_body(30))
    results, failures = _drain(validator, queue_url, handler)
    assert failures == [] and [r["outcome"] for r in results] == ["replaced"], results
    versions = s3.list_object_versions(Bucket=names.ndjson_input_bucket, Prefix=prefix + "good.ndjson")["Versions"]
    assert len(versions) == 1

    # and nothing beyond: the role cannot touch what the validator never needs
    role_s3 = client_for(validator, "s3")
    with pytest.raises(ClientError, match="AccessDenied"):
        role_s3.put_object(Bucket=names.parquet_output_bucket, Key="output/merged-parquet-x/y.parquet", Body=b"x")
    with pytest.raises(ClientError, match="AccessDenied"):
        client_for(validator, "dynamodb").update_item(
            TableName=names.tracking_table, Key={"date_prefix": {"S": DAY}, "file_key": {"S": "good.ndjson"}},
            UpdateExpression="SET #s = :s", ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": {"S": "completed#0"}})
    with pytest.raises(ClientError, match="AccessDenied"):
        client_for(validator, "sqs").send_message(QueueUrl=queue_url, MessageBody="{}")
