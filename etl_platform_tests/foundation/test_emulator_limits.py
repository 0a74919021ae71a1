"""The emulator's strict limits refuse what AWS refuses (etl_platform/local/limits.py).

Each case below is accepted by moto as it is; `aws_limits` switches the limits on.
"""

from __future__ import annotations

import functools
import io
import json

import boto3
import pytest
from botocore.exceptions import ClientError

from etl_platform.config import Settings
from etl_platform.core.csv_profile.profiler import profile_csv
from etl_platform.core.dynamodb_item_size import ITEM_LIMIT_BYTES, item_size, number_size
from etl_platform.local.provision import apply_notifications
from etl_platform.resources.dynamodb import serialize_item

TABLE, OTHER = "limits-probe", "limits-other"


def _client(settings: Settings, service: str):
    return boto3.client(service, endpoint_url=settings.endpoint_url, region_name=settings.region,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.fixture
def ddb(aws_limits: Settings):
    client = _client(aws_limits, "dynamodb")
    for name in (TABLE, OTHER):
        client.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    return client


def _code_and_message(error: pytest.ExceptionInfo) -> tuple[str, str]:
    return error.value.response["Error"]["Code"], error.value.response["Error"]["Message"]


def _sized(pk: str, total: int) -> dict:
    """An item of exactly `total` bytes by AWS's count: one string attribute fills it."""
    item = {"pk": {"S": pk}, "v": {"S": ""}}
    item["v"]["S"] = "x" * (total - item_size(item))
    assert item_size(item) == total
    return item


@functools.cache
def _wide_profile() -> dict:
    """Pipeline C's profile of a 5,000-column CSV, serialized as its metadata item holds it:
    about 421 KB by AWS's count, about 385 KB by moto's (which accepts it)."""
    header = ",".join(f"question_{i:04d}_answers" for i in range(5000))
    rows = [",".join(str((r * 7 + i) % 100) if i % 3 else f"v{r}" for i in range(5000)) for r in range(20)]
    profile = profile_csv(io.BytesIO("\n".join([header, *rows, ""]).encode()))
    return serialize_item({"status": "success", **profile})


def _profile(pk: str) -> dict:
    return {"pk": {"S": pk}, **_wide_profile()}


def test_item_size_is_counted_as_aws_counts_it():
    assert number_size("0.00120") == 2 and number_size("-12345") == 4
    assert item_size({"a": {"S": "é"}, "l": {"L": [{"BOOL": True}, {"NULL": True}]}, "b": {"B": b"\x00\x01"}}) == \
        (1 + 2) + (1 + 3 + 2 * (1 + 1)) + (1 + 2)
    assert item_size({"m": {"M": {"k": {"N": "10"}}}}) == 1 + 3 + 1 + 1 + 2


def test_an_item_over_400_kb_is_refused_and_one_at_the_limit_accepted(ddb):
    profile = _profile("profile")  # moto's own count accepts it
    assert ITEM_LIMIT_BYTES < item_size(profile) < 430_000
    with pytest.raises(ClientError) as error:
        ddb.put_item(TableName=TABLE, Item=profile)
    assert _code_and_message(error) == ("ValidationException", "Item size has exceeded the maximum allowed size")
    assert "Item" not in ddb.get_item(TableName=TABLE, Key={"pk": {"S": "profile"}}, ConsistentRead=True)

    with pytest.raises(ClientError) as error:
        ddb.put_item(TableName=TABLE, Item=_sized("over", ITEM_LIMIT_BYTES + 1))
    assert _code_and_message(error)[0] == "ValidationException"
    ddb.put_item(TableName=TABLE, Item=_sized("at-limit", ITEM_LIMIT_BYTES))  # moto alone refuses it (its count)


def test_an_update_growing_an_item_over_400_kb_is_refused_and_undone(ddb):
    ddb.put_item(TableName=TABLE, Item={"pk": {"S": "grow"}, "name": {"S": "wide.csv"}})
    before = ddb.get_item(TableName=TABLE, Key={"pk": {"S": "grow"}}, ConsistentRead=True)["Item"]
    profile = _wide_profile()
    names = {f"#a{i}": name for i, name in enumerate(profile)}
    with pytest.raises(ClientError) as error:
        ddb.update_item(TableName=TABLE, Key={"pk": {"S": "grow"}}, ExpressionAttributeNames=names,
                        UpdateExpression="SET " + ", ".join(f"#a{i} = :a{i}" for i in range(len(names))),
                        ExpressionAttributeValues={f":a{i}": value for i, value in enumerate(profile.values())})
    assert _code_and_message(error) == ("ValidationException", "Item size to update has exceeded the maximum allowed size")
    assert ddb.get_item(TableName=TABLE, Key={"pk": {"S": "grow"}}, ConsistentRead=True)["Item"] == before


def test_batches_and_transactions_with_an_item_over_400_kb_write_nothing(ddb):
    small = {"pk": {"S": "small"}}
    with pytest.raises(ClientError) as error:
        ddb.batch_write_item(RequestItems={TABLE: [{"PutRequest": {"Item": small}},
                                                   {"PutRequest": {"Item": _profile("p1")}}]})
    assert _code_and_message(error) == ("ValidationException", "Item size has exceeded the maximum allowed size")
    with pytest.raises(ClientError) as error:
        ddb.transact_write_items(TransactItems=[{"Put": {"TableName": TABLE, "Item": small}},
                                                {"Put": {"TableName": TABLE, "Item": _profile("p2")}}])
    assert _code_and_message(error)[0] == "ValidationException"
    assert ddb.scan(TableName=TABLE, ConsistentRead=True)["Items"] == []


def test_batch_write_item_takes_at_most_25_requests(ddb):
    def puts(n: int, prefix: str) -> list[dict]:
        return [{"PutRequest": {"Item": {"pk": {"S": f"{prefix}-{i}"}}}} for i in range(n)]

    ddb.batch_write_item(RequestItems={TABLE: puts(25, "ok")})
    with pytest.raises(ClientError) as error:
        ddb.batch_write_item(RequestItems={TABLE: puts(26, "one-table")})
    code, message = _code_and_message(error)
    assert code == "ValidationException" and "Member must have length less than or equal to 25" in message
    with pytest.raises(ClientError) as error:
        ddb.batch_write_item(RequestItems={TABLE: puts(13, "two-a"), OTHER: puts(13, "two-b")})
    assert _code_and_message(error) == ("ValidationException", "Too many items requested for the BatchWriteItem call")
    assert ddb.scan(TableName=TABLE, Select="COUNT", ConsistentRead=True)["Count"] == 25
    assert ddb.scan(TableName=OTHER, Select="COUNT", ConsistentRead=True)["Count"] == 0


def test_sqs_counts_utf8_bytes_and_message_attributes(aws_limits):
    sqs = _client(aws_limits, "sqs")
    url = sqs.create_queue(QueueName="limits-probe", Attributes={"MaximumMessageSize": "1024"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="é" * 512)  # 1,024 bytes: at the limit
    for body, attributes in (("é" * 513, {}),  # 513 characters, 1,026 bytes
                             ("a" * 1000, {"origin": {"DataType": "String", "StringValue": "x" * 20}})):
        with pytest.raises(ClientError) as error:
            sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=attributes)
        assert _code_and_message(error) == (
            "InvalidParameterValue", "One or more parameters are invalid. Reason: Message must be shorter than 1024 bytes.")
    with pytest.raises(ClientError):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "fits", "MessageBody": "ok"},
                                                      {"Id": "too-big", "MessageBody": "é" * 600}])
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "1"  # the batch sent nothing


def test_s3_notifications_need_a_queue_policy_that_lets_s3_send_for_the_bucket(aws_limits):
    s3, sqs = _client(aws_limits, "s3"), _client(aws_limits, "sqs")
    region, account = aws_limits.region, aws_limits.account_id
    url = sqs.create_queue(QueueName="limits-events")["QueueUrl"]
    queue_arn = f"arn:aws:sqs:{region}:{account}:limits-events"
    s3.create_bucket(Bucket="limits-landing")
    config = {"QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}]}

    def policy(source_bucket: str) -> str:
        return json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sqs:SendMessage",
            "Resource": queue_arn, "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{source_bucket}"},
                                                 "StringEquals": {"aws:SourceAccount": account}}}]})

    for queue_policy in (None, policy("some-other-bucket")):
        if queue_policy:
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": queue_policy})
        with pytest.raises(ClientError) as error:
            s3.put_bucket_notification_configuration(Bucket="limits-landing", NotificationConfiguration=config)
        assert _code_and_message(error) == ("InvalidArgument", "Unable to validate the following destination configurations")
    assert "QueueConfigurations" not in s3.get_bucket_notification_configuration(Bucket="limits-landing")

    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy("limits-landing")})
    s3.put_bucket_notification_configuration(Bucket="limits-landing", NotificationConfiguration=config)
    assert s3.get_bucket_notification_configuration(Bucket="limits-landing")["QueueConfigurations"]


def test_the_templates_notifications_pass_the_queue_policy_check(aws_limits):
    s3 = _client(aws_limits, "s3")
    bucket = aws_limits.names.ndjson_input_bucket
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={})
    apply_notifications(aws_limits)  # as provisioning does, now with AWS's check
    assert s3.get_bucket_notification_configuration(Bucket=bucket)["QueueConfigurations"]
