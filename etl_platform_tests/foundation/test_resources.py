"""The Dagster resources against the real emulator."""

import json
import urllib.request

from etl_platform.resources import platform_resources
from etl_platform.resources.dynamodb import BATCH_GET_LIMIT
from etl_platform.resources.sqs import SqsQueue


def test_dynamo_table_round_trips_python_values(aws):
    table = platform_resources(aws)["tracking_table"]
    item = {"date_prefix": "2026-02-01", "file_key": "a.ndjson", "status": "pending#3", "size": 3_500_000,
            "ratio": 0.1, "nested": {"rows": [1, 2.5, None], "ok": True}}
    assert table.put_if_absent(item, "file_key") is True
    assert table.put_if_absent({**item, "status": "manifested#3"}, "file_key") is False  # duplicate event: no change
    assert table.get({"date_prefix": "2026-02-01", "file_key": "a.ndjson"}) == item
    assert table.get({"date_prefix": "2026-02-01", "file_key": "missing"}) is None


def test_batch_get_splits_at_100_and_query_pages(aws):
    table = platform_resources(aws)["tracking_table"]
    items = [{"date_prefix": "2026-02-02", "file_key": f"f{i:03d}", "status": f"pending#{i % 10}"} for i in range(60)]
    for item in items:
        table.put(item)
    calls = []
    client = table.connection.client("dynamodb")
    def count(params, **_):
        calls.append(params["RequestItems"][table.table_name])

    # the client is the connection's, shared by later tests of this process: take the hook off after
    client.meta.events.register("before-parameter-build.dynamodb.BatchGetItem", count)
    try:
        keys = [{"date_prefix": "2026-02-02", "file_key": f"f{i:03d}"} for i in range(150)]  # 90 do not exist
        assert sorted(i["file_key"] for i in table.batch_get(keys)) == [i["file_key"] for i in items]
    finally:
        client.meta.events.unregister("before-parameter-build.dynamodb.BatchGetItem", count)
    assert [len(c["Keys"]) for c in calls] == [BATCH_GET_LIMIT, 50] and all(c["ConsistentRead"] for c in calls)
    found = list(table.query(key_condition="date_prefix = :d", values={":d": "2026-02-02"}, Limit=7))
    assert [i["file_key"] for i in found] == [f"f{i:03d}" for i in range(60)]
    shard = list(table.query(key_condition="#s = :s", names={"#s": "status"}, values={":s": "pending#3"}, index_name=aws.names.tracking_status_index))
    assert sorted(i["file_key"] for i in shard) == [f"f{i:03d}" for i in range(3, 60, 10)]
    assert len(list(table.query(key_condition="date_prefix = :d", values={":d": "2026-02-02"}, limit=12))) == 12


def test_queue_send_receive_delete(aws):
    # The dead-letter queue: the file-events queue holds the s3:TestEvent of provisioning.
    queue = SqsQueue(connection=platform_resources(aws)["aws"], queue_name=aws.names.file_events_dlq)
    sent = {queue.send({"n": n}) for n in range(15)}
    received = []
    while len(received) < 15:
        batch = queue.receive(max_messages=10)
        assert batch, "messages went missing"
        received += batch
    assert {m.message_id for m in received} == sent
    assert all(m.receive_count == 1 for m in received)
    assert queue.delete([m.receipt_handle for m in received]) == []
    assert queue.approximate_depth() == {"visible": 0, "in_flight": 0}


def test_alerts_reach_the_subscribed_queue(aws):
    resources = platform_resources(aws)
    resources["alerts"].publish_alert("manifest failed", {"manifest_id": "batch-0001-20260201-120000", "files": 3})
    inbox = SqsQueue(connection=resources["aws"], queue_name=aws.names.alerts_inbox_queue)
    messages = inbox.receive(wait_seconds=2)
    assert len(messages) == 1
    assert json.loads(messages[0].body) == {"subject": "manifest failed", "manifest_id": "batch-0001-20260201-120000", "files": 3}


def test_s3_resource_is_path_style_and_presigns(aws):
    s3 = platform_resources(aws)["s3"].get_client()
    s3.put_object(Bucket=aws.names.jobs_output_bucket, Key="out/job 1.json", Body=b'{"a": 1}\n')
    url = s3.generate_presigned_url("get_object", Params={"Bucket": aws.names.jobs_output_bucket, "Key": "out/job 1.json"}, ExpiresIn=60)
    assert url.startswith(f"{aws.endpoint_url}/{aws.names.jobs_output_bucket}/") and "X-Amz-Signature" in url
    with urllib.request.urlopen(url) as response:
        assert response.read() == b'{"a": 1}\n'
