"""The event source mapping's two rules, as the local validation run applies them."""

import hashlib

from etl_platform.core.sqs_batches import batch_item_failures, deletable_message_ids, lambda_sqs_event

ARN = "arn:aws:sqs:us-east-1:123456789012:ndjson-parquet-file-events-dev"
IDS = ["m1", "m2", "m3"]


def test_the_event_has_the_documented_record_shape():
    event = lambda_sqs_event([{"message_id": "m1", "receipt_handle": "h1", "body": '{"Records": []}',
                               "attributes": {"ApproximateReceiveCount": 2, "SentTimestamp": "1700000000000"}}],
                             queue_arn=ARN, region="us-east-1")
    [record] = event["Records"]
    assert record == {
        "messageId": "m1", "receiptHandle": "h1", "body": '{"Records": []}',
        "attributes": {"ApproximateReceiveCount": "2", "SentTimestamp": "1700000000000"},
        "messageAttributes": {}, "md5OfBody": hashlib.md5(b'{"Records": []}').hexdigest(),  # noqa: S324
        "eventSource": "aws:sqs", "eventSourceARN": ARN, "awsRegion": "us-east-1",
    }


def test_no_failures_deletes_the_whole_batch():
    assert deletable_message_ids(IDS, {"batchItemFailures": []}) == IDS
    assert deletable_message_ids(IDS, {}) == IDS
    assert deletable_message_ids(IDS, {"results": []}) == IDS


def test_named_failures_stay_and_the_others_are_deleted():
    assert deletable_message_ids(IDS, batch_item_failures(["m2"])) == ["m1", "m3"]
    assert deletable_message_ids(IDS, batch_item_failures(IDS)) == []


def test_a_function_error_or_a_bad_identifier_fails_the_whole_batch():
    assert deletable_message_ids(IDS, None) == []
    assert deletable_message_ids(IDS, {"batchItemFailures": [{"itemIdentifier": ""}]}) == []
    assert deletable_message_ids(IDS, {"batchItemFailures": [{"itemIdentifier": None}]}) == []
    assert deletable_message_ids(IDS, {"batchItemFailures": [{"itemIdentifier": "not-in-batch"}]}) == []
    assert deletable_message_ids(IDS, {"batchItemFailures": ["m1"]}) == []
