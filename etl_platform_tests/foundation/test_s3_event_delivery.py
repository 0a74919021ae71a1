"""Pipeline B's validator tracks the right file from AWS-shaped events and from moto's.

Through the real path: objects in the emulator, event bodies on the real file-events
queue, one tick of the real `ndjson_file_events_sensor`, records in the tracking table.
Keys hold a space, a non-ASCII character and a `+`, which the two producers encode
differently (AWS: `+` for a space, `/` kept; moto: `/` as `%2F`; both `%2B` for `+`).
"""

import json
from datetime import datetime, timezone

import pytest

from etl_platform.core.s3_events import parse_s3_event
from etl_platform_tests.fixtures import aws_put_event, s3_event
from etl_platform_tests.ndjson_to_parquet.harness import Pipeline, records, scaled

pytestmark = pytest.mark.e2e

DAY = "2026-12-02"
AWS_FILE = "aws sales é+1.ndjson"
MOTO_FILE = "moto sales ü+1.ndjson"


def _shape(value):
    """The nested key structure of an event, values left out."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(v) for v in value]
    return type(value).__name__


def _take_all(queue) -> list:
    taken = []
    while batch := queue.receive(max_messages=10, wait_seconds=1):
        taken += batch
        queue.delete([m.receipt_handle for m in batch])
    return taken


def test_aws_and_moto_events_track_the_right_files(aws):
    pipeline = Pipeline(scaled(aws))
    queue = pipeline.resources["file_events_queue"]
    bucket = aws.names.ndjson_input_bucket
    _take_all(queue)   # the test events S3 sends when notifications are configured

    aws_key = pipeline.land(DAY, AWS_FILE, records("aws", 5))
    # moto's own event for this object is replaced by the one AWS would have sent
    moto_events = [e for m in _take_all(queue) for e in parse_s3_event(m.body)]
    assert [e.key for e in moto_events] == [aws_key]
    head = pipeline.s3.head_object(Bucket=bucket, Key=aws_key)
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    aws_event = aws_put_event(bucket=bucket, key=aws_key, size=head["ContentLength"], etag=head["ETag"].strip('"'),
                              version_id=head.get("VersionId"), event_time=now)
    assert "aws+sales+%C3%A9%2B1.ndjson" in aws_event["Records"][0]["s3"]["object"]["key"]
    queue.send(aws_event)

    moto_key = pipeline.land(DAY, MOTO_FILE, records("moto", 5))   # its own event stays on the queue

    tick = pipeline.tick()
    assert queue.approximate_depth() == {"visible": 0, "in_flight": 0}   # both messages handled and deleted
    assert tick.run_requests == []
    for name, key in ((AWS_FILE, aws_key), (MOTO_FILE, moto_key)):
        tracked = pipeline.tracking.file(DAY, name)
        assert tracked is not None, f"{name} not tracked"
        etag = pipeline.s3.head_object(Bucket=bucket, Key=key)["ETag"].strip('"')
        assert tracked["status"].startswith("pending#") and tracked["etag"] == etag
        assert tracked["file_path"] == f"s3://{bucket}/{key}"
    assert pipeline.tracking.files_in_state("quarantined", DAY) == []


def test_moto_still_sends_the_recorded_shape(aws):
    """The moto fixture is what the emulator sends: if a moto upgrade changes the shape
    (say it adds a sequencer), this fails and the fixture and parser notes need a look."""
    pipeline = Pipeline(scaled(aws))
    queue = pipeline.resources["file_events_queue"]
    _take_all(queue)
    key = pipeline.land("2026-12-02", "sales Q1 é+1.ndjson", [], body=b'{"a": 1}\n')
    [message] = [m for m in _take_all(queue) if "Records" in json.loads(m.body)]
    live, recorded = json.loads(message.body), s3_event("moto_s3_object_created_put")
    assert _shape(live) == _shape(recorded)
    assert live["Records"][0]["s3"]["object"]["key"] == recorded["Records"][0]["s3"]["object"]["key"]
    assert parse_s3_event(live)[0].key == key
