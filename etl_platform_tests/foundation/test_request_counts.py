"""The emulator counts requests per service and operation, and DynamoDB items as AWS bills
them (local/request_counts.py): what the cost tests and the load benchmark read."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from etl_platform.aws import client_for
from etl_platform.local import emulator
from etl_platform.local.request_counts import BY_TARGET, dynamodb_totals, s3_operation

DAY = "2026-09-01"


def _item(key: str, status: str) -> dict:
    return {"date_prefix": {"S": DAY}, "file_key": {"S": key}, "status": {"S": status}}


def test_dynamodb_items_are_counted_as_aws_bills_them(aws):
    ddb, table = client_for(aws, "dynamodb"), aws.names.tracking_table
    for start in (0, 25):
        ddb.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": _item(f"f-{n:02d}", "pending#1" if n % 5 else "done")}}
                                                  for n in range(start, start + 25)]})
    emulator.request_counts(aws.endpoint_url, reset=True)

    # a filter drops 40 of the 50 items it read: all 50 are billed
    found = ddb.query(TableName=table, KeyConditionExpression="date_prefix = :d", FilterExpression="#s = :s",
                      ExpressionAttributeNames={"#s": "status"},
                      ExpressionAttributeValues={":d": {"S": DAY}, ":s": {"S": "done"}}, ConsistentRead=True)
    assert found["Count"] == 10
    ddb.get_item(TableName=table, Key={"date_prefix": {"S": DAY}, "file_key": {"S": "f-01"}})
    ddb.batch_get_item(RequestItems={table: {"Keys": [{"date_prefix": {"S": DAY}, "file_key": {"S": f"f-{n:02d}"}}
                                                      for n in range(7)]}})
    ddb.put_item(TableName=table, Item=_item("new", "pending#2"))
    with pytest.raises(ClientError):  # a failed condition still consumes a write
        ddb.update_item(TableName=table, Key={"date_prefix": {"S": DAY}, "file_key": {"S": "new"}},
                        UpdateExpression="SET #s = :c", ConditionExpression="#s = :p",
                        ExpressionAttributeNames={"#s": "status"},
                        ExpressionAttributeValues={":c": {"S": "manifested#2"}, ":p": {"S": "pending#9"}})
    ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": table, "Item": _item("t-1", "pending#0")}},
        {"Delete": {"TableName": table, "Key": {"date_prefix": {"S": DAY}, "file_key": {"S": "f-00"}}}},
        {"ConditionCheck": {"TableName": table, "Key": {"date_prefix": {"S": DAY}, "file_key": {"S": "f-01"}},
                            "ConditionExpression": "attribute_exists(file_key)"}},
    ])

    counts = emulator.request_counts(aws.endpoint_url)["dynamodb"]
    assert counts["Query"] == {"requests": 1, "errors": 0, "items_read": 50, "items_written": 0}
    assert counts["GetItem"]["items_read"] == 1 and counts["BatchGetItem"]["items_read"] == 7
    assert counts["PutItem"]["items_written"] == 1
    assert counts["UpdateItem"] == {"requests": 1, "errors": 1, "items_read": 0, "items_written": 1}
    assert counts["TransactWriteItems"]["items_written"] == 3
    assert dynamodb_totals({"dynamodb": counts}) == {"requests": 6, "items_read": 58, "items_written": 5}
    targets = emulator.request_counts(aws.endpoint_url)[BY_TARGET]  # where the reads went
    assert {name: entry["items_read"] for name, entry in targets.items()} == {
        f"Query {table}": 50, f"GetItem {table}": 1, f"BatchGetItem {table}": 7}


def test_s3_and_sqs_requests_are_named_by_operation_and_reset_zeroes_them(aws):
    s3, sqs = client_for(aws, "s3"), client_for(aws, "sqs")
    bucket = aws.names.ndjson_input_bucket
    emulator.request_counts(aws.endpoint_url, reset=True)
    s3.put_object(Bucket=bucket, Key="a/one.txt", Body=b"1")
    s3.head_object(Bucket=bucket, Key="a/one.txt")
    s3.get_object(Bucket=bucket, Key="a/one.txt")["Body"].read()
    s3.copy_object(Bucket=bucket, Key="a/two.txt", CopySource={"Bucket": bucket, "Key": "a/one.txt"})
    s3.put_object_tagging(Bucket=bucket, Key="a/two.txt", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
    s3.list_objects_v2(Bucket=bucket, Prefix="a/")
    s3.delete_object(Bucket=bucket, Key="a/one.txt")
    s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a/two.txt"}]})
    url = sqs.get_queue_url(QueueName=aws.names.file_events_queue)["QueueUrl"]
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)

    counts = emulator.request_counts(aws.endpoint_url, reset=True)
    assert {op: c["requests"] for op, c in counts["s3"].items()} == {
        "CopyObject": 1, "DeleteObject": 1, "DeleteObjects": 1, "GetObject": 1, "HeadObject": 1,
        "ListObjectsV2": 1, "PutObject": 1, "PutObjectTagging": 1}
    assert {op: c["requests"] for op, c in counts["sqs"].items()} == {"GetQueueUrl": 1, "ReceiveMessage": 1}
    assert emulator.request_counts(aws.endpoint_url) == {}  # the reset zeroed them


@pytest.mark.parametrize("method, path, query, copy, expected", [
    ("GET", "/b", "list-type=2&prefix=x", False, "ListObjectsV2"),
    ("GET", "/b", "versions&prefix=x", False, "ListObjectVersions"),
    ("PUT", "/b/k", "partNumber=1&uploadId=u", False, "UploadPart"),
    ("PUT", "/b/k", "partNumber=1&uploadId=u", True, "UploadPartCopy"),
    ("POST", "/b/k", "uploads", False, "CreateMultipartUpload"),
    ("POST", "/b/k", "uploadId=u", False, "CompleteMultipartUpload"),
    ("GET", "/b/k", "versionId=v", False, "GetObject"),
    ("PUT", "/b", "notification", False, "PutBucketNotificationConfiguration"),
    ("GET", "/", "", False, "ListBuckets"),
])
def test_s3_operations_from_the_rest_route(method, path, query, copy, expected):
    assert s3_operation(method, path, query, copy) == expected
