"""The S3 event parser reads AWS's documented events and moto's, field by field.

Fixtures are copied from AWS's documentation (see etl_platform_tests/fixtures/s3_events/).
"""

from datetime import datetime, timezone

import pytest

from etl_platform.core.s3_events import MalformedEvent, S3ObjectEvent, parse_s3_event
from etl_platform_tests.fixtures import aws_key_encoding, aws_put_event, s3_event

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def test_the_documented_put_event():
    [event] = parse_s3_event(s3_event("aws_s3_object_created_put"))
    assert event == S3ObjectEvent(
        bucket="amzn-s3-demo-bucket", key="HappyFace.jpg", size=1024, etag="d41d8cd98f00b204e9800998ecf8427e",
        event_name="ObjectCreated:Put", event_time="1970-01-01T00:00:00.000Z", sequencer="0055AED6DCD90281E5",
        version_id="096fKKXTRTtl3on89fVO.nfljtsv6qko",
    )
    assert event.occurred_at == EPOCH


def test_the_lambda_console_sample_decodes_a_percent_encoded_slash():
    [event] = parse_s3_event(s3_event("aws_lambda_s3_put_sample"))
    assert (event.bucket, event.key, event.sequencer, event.version_id) == (
        "example-bucket", "test/key", "0A1B2C3D4E5F678901", "")
    assert event.occurred_at == EPOCH


def test_the_documented_test_event_carries_no_object():
    assert parse_s3_event(s3_event("aws_s3_test_event")) == []


def test_moto_events_decode_to_the_same_key():
    [event] = parse_s3_event(s3_event("moto_s3_object_created_put"))
    assert event.key == "landing/ndjson/2026-12-02/sales Q1 é+1.ndjson"
    assert (event.sequencer, event.version_id, event.etag, event.size) == ("", "", "a01637863c1f9585c3e38cde6ce20940", 9)
    assert event.occurred_at == datetime(2026, 12, 2, 9, 33, 11, 943000, tzinfo=timezone.utc)


@pytest.mark.parametrize("key, encoded", [
    ("landing/ndjson/2026-12-02/red flower.ndjson", "landing/ndjson/2026-12-02/red+flower.ndjson"),
    ("landing/ndjson/2026-12-02/café é.ndjson", "landing/ndjson/2026-12-02/caf%C3%A9+%C3%A9.ndjson"),
    ("landing/ndjson/2026-12-02/a+b=c&d.ndjson", "landing/ndjson/2026-12-02/a%2Bb%3Dc%26d.ndjson"),
    ("landing/ndjson/2026-12-02/100%.ndjson", "landing/ndjson/2026-12-02/100%25.ndjson"),
])
def test_aws_encoded_keys_decode_exactly(key, encoded):
    assert aws_key_encoding(key) == encoded
    event = aws_put_event(bucket="b", key=key, size=7, etag='"e1"', version_id="v1",
                          event_time="2026-12-02T10:15:30.123Z")
    [parsed] = parse_s3_event(event)
    assert (parsed.key, parsed.etag, parsed.version_id, parsed.sequencer) == (key, "e1", "v1", "0055AED6DCD90281E5")
    assert parsed.occurred_at == datetime(2026, 12, 2, 10, 15, 30, 123000, tzinfo=timezone.utc)
    assert parsed.occurred_at.date().isoformat() == parsed.event_time[:10]   # what the validator's date fallback reads


def test_an_unversioned_bucket_sends_no_version_and_a_null_one_reads_as_none():
    [unversioned] = parse_s3_event(aws_put_event(bucket="b", key="k", size=1, etag="e", version_id=None))
    assert unversioned.version_id == ""
    event = aws_put_event(bucket="b", key="k", size=1, etag="e", version_id="v")
    event["Records"][0]["s3"]["object"]["versionId"] = None
    assert parse_s3_event(event)[0].version_id == ""


def test_time_that_cannot_be_read_is_none_not_an_error():
    event = aws_put_event(bucket="b", key="k", size=1, etag="e", version_id=None, event_time="not a time")
    assert parse_s3_event(event)[0].occurred_at is None
    del event["Records"][0]["s3"]["object"]["key"]
    with pytest.raises(MalformedEvent):
        parse_s3_event(event)
