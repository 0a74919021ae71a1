"""`kill -9` of the embedded AWS loses nothing it acknowledged (journal.py).

The emulator runs as a real process; client threads write to S3 (puts, overwrites, copies,
a multipart upload, deletes of versions, delete markers: the landing bucket's event
notifications go to the file-events queue), DynamoDB (conditional puts and updates, some
rejected on purpose), SQS (sends, receives, deletes) and SNS (fanned out to a queue). In the
middle of that load the emulator is SIGKILLed, with no clean snapshot, then started again
on the same state: every acknowledged write must be there exactly as acknowledged (version
ids, ETags, items, the message set), and nothing acknowledged as deleted may come back.
Run once with the periodic snapshot out of the way (only the journal) and once with a
snapshot every 0.5 s (the journal rotating under the load).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote_plus

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from etl_platform.aws import make_client
from etl_platform_tests.helpers import PROJECT_ROOT, cli_env, free_port, wait_for_http

pytestmark = pytest.mark.e2e

LANDING = "ndjson-parquet-input-dev-123456789012"
TRACKING = "ndjson-parquet-sqs-file-tracking-dev"
DATE = "2026-03-01"
LOAD_SECONDS = 6.0


def start(state: Path, port: int, interval: float, **env: str) -> subprocess.Popen:
    (state / "emulator.json").unlink(missing_ok=True)
    state.mkdir(parents=True, exist_ok=True)
    log = open(state / "emulator.log", "ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "etl_platform.local.server", "--state-dir", str(state), "--port", str(port),
         "--snapshot-interval", str(interval)],
        # ETL_EMULATOR_JOURNAL=0 passes through: the tests must then fail
        env=cli_env(state, **{k: v for k, v in os.environ.items() if k.startswith("ETL_EMULATOR_JOURNAL")}, **env),
        cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    deadline = time.monotonic() + 180
    while not (state / "emulator.json").exists():
        assert process.poll() is None, (state / "emulator.log").read_text()[-3000:]
        assert time.monotonic() < deadline, "the emulator did not start"
        time.sleep(0.2)
    wait_for_http(f"http://127.0.0.1:{port}/moto-api/", timeout=30)
    return process


def clients(port: int):
    # one attempt: a request cut by the kill must not be retried against the restarted emulator
    return {s: make_client(s, region="us-east-1", endpoint_url=f"http://127.0.0.1:{port}", max_attempts=1)
            for s in ("s3", "dynamodb", "sqs", "sns")}


@dataclass
class Acknowledged:
    """What the emulator answered, and what was in flight when it died (either way)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    versions: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # key -> [(version id, etag|"marker")]
    events: set[tuple[str, str]] = field(default_factory=set)  # (key, etag) of landing puts
    items: dict[str, dict] = field(default_factory=dict)  # file_key -> item as acknowledged
    sent: set[str] = field(default_factory=set)  # message bodies
    deleted: set[str] = field(default_factory=set)
    received: set[str] = field(default_factory=set)
    alerts: set[str] = field(default_factory=set)
    uncertain: set[str] = field(default_factory=set)  # keys / bodies of requests cut by the kill
    errors: list[str] = field(default_factory=list)


def s3_load(c, ack: Acknowledged, worker: int, stop: threading.Event) -> None:
    s3 = c["s3"]
    n = 0
    while not stop.is_set():
        n += 1
        key = f"landing/ndjson/{DATE}/w{worker}-{n}.ndjson"
        ack.uncertain.add(key)
        if n == 1:  # a multipart upload: its ETag is md5-of-parts-2, not the MD5 of the bytes
            upload = s3.create_multipart_upload(Bucket=LANDING, Key=key)["UploadId"]
            parts = []
            for number, body in ((1, b"x" * (5 * 1024 * 1024)), (2, f'{{"w": {worker}}}\n'.encode())):
                etag = s3.upload_part(Bucket=LANDING, Key=key, UploadId=upload, PartNumber=number, Body=body)["ETag"]
                parts.append({"ETag": etag, "PartNumber": number})
            done = s3.complete_multipart_upload(Bucket=LANDING, Key=key, UploadId=upload,
                                                MultipartUpload={"Parts": parts})
            assert done["ETag"].endswith('-2"')
            first = (done["VersionId"], done["ETag"])
        else:
            put = s3.put_object(Bucket=LANDING, Key=key, Body=f'{{"w": {worker}, "n": {n}, "v": 1}}\n'.encode())
            first = (put["VersionId"], put["ETag"])
        with ack.lock:
            ack.versions[key] = [first]
            ack.events.add((key, first[1].strip('"')))
        put = s3.put_object(Bucket=LANDING, Key=key, Body=f'{{"w": {worker}, "n": {n}, "v": 2}}\n'.encode())
        with ack.lock:
            ack.versions[key].append((put["VersionId"], put["ETag"]))
            ack.events.add((key, put["ETag"].strip('"')))
        if n % 3 == 0:  # delete a version by its id
            s3.delete_object(Bucket=LANDING, Key=key, VersionId=first[0])
            with ack.lock:
                ack.versions[key].remove(first)
        if n % 4 == 0:  # delete: a delete marker
            marker = s3.delete_object(Bucket=LANDING, Key=key)
            assert marker["DeleteMarker"]
            with ack.lock:
                ack.versions[key].append((marker["VersionId"], "marker"))
        elif n % 5 == 0:  # copy of the current version to another key
            target = f"copies/w{worker}-{n}.ndjson"
            ack.uncertain.add(target)
            copied = s3.copy_object(Bucket=LANDING, Key=target, CopySource={"Bucket": LANDING, "Key": key})
            with ack.lock:
                ack.versions[target] = [(copied["VersionId"], copied["CopyObjectResult"]["ETag"])]
            ack.uncertain.discard(target)
        ack.uncertain.discard(key)


def dynamodb_load(c, ack: Acknowledged, worker: int, stop: threading.Event) -> None:
    dynamodb = c["dynamodb"]
    n = 0
    while not stop.is_set():
        n += 1
        file_key = f"w{worker}-{n}"
        ack.uncertain.add(file_key)
        key = {"date_prefix": {"S": DATE}, "file_key": {"S": file_key}}
        item = {**key, "status": {"S": f"pending#{DATE}"}, "size": {"N": str(n)}, "raw": {"B": bytes([worker, n % 256])}}
        dynamodb.put_item(TableName=TRACKING, Item=item, ConditionExpression="attribute_not_exists(file_key)")
        with ack.lock:
            ack.items[file_key] = dict(item)
        # a claim that succeeds, then one that must stay rejected, then a put that must too
        dynamodb.update_item(TableName=TRACKING, Key=key, UpdateExpression="SET #s = :claimed, claims = :one",
                             ConditionExpression="#s = :pending", ExpressionAttributeNames={"#s": "status"},
                             ExpressionAttributeValues={":claimed": {"S": f"claimed#{n}"}, ":one": {"N": "1"},
                                                        ":pending": {"S": f"pending#{DATE}"}})
        with ack.lock:
            ack.items[file_key].update(status={"S": f"claimed#{n}"}, claims={"N": "1"})
        for attempt in (
            lambda: dynamodb.update_item(TableName=TRACKING, Key=key, UpdateExpression="SET #s = :other",
                                         ConditionExpression="#s = :pending", ExpressionAttributeNames={"#s": "status"},
                                         ExpressionAttributeValues={":other": {"S": "stolen"},
                                                                    ":pending": {"S": f"pending#{DATE}"}}),
            lambda: dynamodb.put_item(TableName=TRACKING, Item={**key, "status": {"S": "overwritten"}},
                                      ConditionExpression="attribute_not_exists(file_key)"),
        ):
            with pytest.raises(ClientError) as rejected:
                attempt()
            assert rejected.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
        if n % 4 == 0:
            dynamodb.delete_item(TableName=TRACKING, Key=key)
            with ack.lock:
                ack.items[file_key] = None  # type: ignore[assignment]
        ack.uncertain.discard(file_key)


def sqs_load(c, ack: Acknowledged, worker: int, stop: threading.Event) -> None:
    sqs, sns = c["sqs"], c["sns"]
    queue = sqs.get_queue_url(QueueName="ndjson-parquet-dlq-dev")["QueueUrl"]
    topic = next(t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(":ndjson-parquet-alerts-dev"))
    n = 0
    while not stop.is_set():
        n += 1
        bodies = [f"w{worker}-{n}-{i}" for i in range(3)]
        ack.uncertain.update(bodies)
        sqs.send_message(QueueUrl=queue, MessageBody=bodies[0])
        with ack.lock:
            ack.sent.add(bodies[0])
        sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies[1:])])
        with ack.lock:
            ack.sent.update(bodies[1:])
        ack.uncertain.difference_update(bodies)
        # receive some (not deleted: they must be back), delete some of them (gone for good)
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=4, VisibilityTimeout=600).get("Messages", [])
        with ack.lock:
            ack.received.update(m["Body"] for m in messages)
        doomed = messages[: len(messages) // 2]
        if doomed:
            ack.uncertain.update(m["Body"] for m in doomed)
            if len(doomed) == 1:
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=doomed[0]["ReceiptHandle"])
            else:
                result = sqs.delete_message_batch(
                    QueueUrl=queue, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(doomed)])
                assert not result.get("Failed")
            with ack.lock:
                ack.deleted.update(m["Body"] for m in doomed)
            ack.uncertain.difference_update(m["Body"] for m in doomed)
        alert = f"alert-w{worker}-{n}"
        ack.uncertain.add(alert)
        sns.publish(TopicArn=topic, Message=alert)
        with ack.lock:
            ack.alerts.add(alert)
        ack.uncertain.discard(alert)


def run_load(port: int, ack: Acknowledged, kill, workers: int = 2) -> None:
    stop = threading.Event()

    def guarded(load, worker):
        c = clients(port)
        try:
            load(c, ack, worker, stop)
        except (BotoCoreError, ClientError, OSError) as exc:
            if not stop.is_set():
                ack.errors.append(f"{load.__name__}/{worker}: {exc!r}")
        except AssertionError as exc:
            ack.errors.append(f"{load.__name__}/{worker}: {exc!r}")

    threads = [threading.Thread(target=guarded, args=(load, w), daemon=True)
               for load in (s3_load, dynamodb_load, sqs_load) for w in range(workers)]
    for thread in threads:
        thread.start()
    time.sleep(LOAD_SECONDS)
    stop.set()
    kill()  # while requests are in flight: the threads are still mid-loop
    for thread in threads:
        thread.join(timeout=60)


def drain(sqs, queue_name: str) -> list[dict]:
    queue = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    messages = []
    while True:
        batch = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=600).get("Messages", [])
        if not batch:
            return messages
        messages += batch


def check_everything_acknowledged_is_back(port: int, ack: Acknowledged) -> None:
    c = clients(port)
    s3, dynamodb, sqs = c["s3"], c["dynamodb"], c["sqs"]
    listed: dict[str, list[tuple[str, str]]] = {}
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=LANDING):
        entries = [(v, v["ETag"]) for v in page.get("Versions", [])] + [(m, "marker") for m in page.get("DeleteMarkers", [])]
        for raw, etag in entries:
            listed.setdefault(raw["Key"], []).append((raw["LastModified"], raw["IsLatest"], raw["VersionId"], etag))
    problems = []
    for key, versions in ack.versions.items():
        if key in ack.uncertain:
            continue
        have = {(v, e) for _, _, v, e in listed.get(key, [])}
        if have != set(versions):
            problems.append(f"{key}: acknowledged {versions}, found {sorted(have)}")
            ack.uncertain.add(key)  # reported; its bodies are not read below
        latest = [(v, e) for _, is_latest, v, e in listed.get(key, []) if is_latest]
        if versions and latest != [versions[-1]]:
            problems.append(f"{key}: latest should be {versions[-1]}, is {latest}")
    bodies_checked = 0
    for key, versions in ack.versions.items():  # bodies of the multipart uploads and a few others
        if key in ack.uncertain or not versions or versions[0][1] == "marker" or bodies_checked > 20:
            continue
        got = s3.get_object(Bucket=LANDING, Key=key, VersionId=versions[0][0])
        assert got["ETag"] == versions[0][1]
        assert len(got["Body"].read()) > 0
        bodies_checked += 1

    for file_key, item in ack.items.items():
        if file_key in ack.uncertain:
            continue
        got = dynamodb.get_item(TableName=TRACKING, Key={"date_prefix": {"S": DATE}, "file_key": {"S": file_key}},
                                ConsistentRead=True).get("Item")
        if got != item:
            problems.append(f"item {file_key}: acknowledged {item}, found {got}")

    in_queue = [m["Body"] for m in drain(sqs, "ndjson-parquet-dlq-dev")]
    if len(in_queue) != len(set(in_queue)):
        problems.append("a message came back twice")
    expected = ack.sent - ack.deleted
    missing = {b for b in expected - set(in_queue) if b not in ack.uncertain}
    resurrected = {b for b in (set(in_queue) & ack.deleted) if b not in ack.uncertain}
    if missing or resurrected:
        problems.append(f"queue: {len(missing)} acknowledged messages missing ({sorted(missing)[:5]}), "
                        f"{len(resurrected)} deleted ones back ({sorted(resurrected)[:5]})")
    assert ack.received - ack.deleted, "the load received no message it left undeleted"

    events = set()
    for message in drain(sqs, "ndjson-parquet-file-events-dev"):
        for record in json.loads(message["Body"]).get("Records", []):
            events.add((unquote_plus(record["s3"]["object"]["key"]), record["s3"]["object"]["eTag"].strip('"')))
    lost_events = {e for e in ack.events - events if e[0] not in ack.uncertain}
    if lost_events:
        problems.append(f"{len(lost_events)} S3 event notifications lost, e.g. {sorted(lost_events)[:3]}")
    alerts = {m["Body"] for m in drain(sqs, "ndjson-parquet-alerts-inbox-dev")}
    lost_alerts = ack.alerts - alerts
    if lost_alerts:
        problems.append(f"{len(lost_alerts)} SNS messages lost, e.g. {sorted(lost_alerts)[:3]}")
    assert not problems, "\n".join(problems[:30])


@pytest.mark.parametrize("interval", [3600.0, 0.5], ids=["journal-only", "snapshots-under-load"])
def test_kill_9_loses_nothing_acknowledged(tmp_path, interval):
    state, port = tmp_path / "state", free_port()
    process = start(state, port, interval)
    ack = Acknowledged()
    try:
        run_load(port, ack, lambda: (process.send_signal(signal.SIGKILL), process.wait()))
        assert process.returncode == -signal.SIGKILL
        assert not ack.errors, ack.errors
        assert len(ack.versions) > 20 and len(ack.items) > 20 and len(ack.sent) > 20, (
            len(ack.versions), len(ack.items), len(ack.sent))
        process = start(state, port, interval)
        check_everything_acknowledged_is_back(port, ack)
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=120)


def test_files_landed_and_tracked_before_a_kill_9_are_still_there(tmp_path):
    """Pipeline B's ingestion (the validation run's event handling, run here without Dagster):
    sample files land, their S3 events are consumed and the files tracked; the emulator is
    SIGKILLed right after, before any snapshot; after the restart the landed versions, the
    tracking items and the consumed (deleted) events are exactly as they were."""
    import collections
    import logging

    from etl_platform.config import Settings
    from etl_platform.local.samples import SAMPLE_LANDING_DATE, drop_samples
    from etl_platform.pipelines.ndjson_to_parquet.validation import validate_queued_events, validator_for
    from etl_platform.resources import platform_resources

    state, port = tmp_path / "state", free_port()
    process = start(state, port, 3600)
    try:
        settings = Settings(state_dir=state, endpoint_url=f"http://127.0.0.1:{port}")
        resources = platform_resources(settings)
        tracking, queue = resources["tracking_table"], resources["file_events_queue"]
        s3 = resources["s3"].get_client()
        assert drop_samples(settings)
        handler = validator_for(settings, tracking, s3)
        arn = f"arn:aws:sqs:{settings.region}:{settings.account_id}:{queue.queue_name}"

        def validate():
            return validate_queued_events(queue, handler, settings, queue_arn=arn, log=logging.getLogger("test"))

        counts = collections.Counter()
        while (run := validate()).messages:
            counts.update(run.outcomes)
        assert counts["tracked"] == 200, counts

        def observed():
            dynamodb = make_client("dynamodb", region="us-east-1", endpoint_url=f"http://127.0.0.1:{port}")
            items = [i for page in dynamodb.get_paginator("scan").paginate(TableName=TRACKING, ConsistentRead=True)
                     for i in page["Items"] if i["date_prefix"]["S"] == SAMPLE_LANDING_DATE]
            versions = [(v["Key"], v["VersionId"], v["ETag"])
                        for page in s3.get_paginator("list_object_versions").paginate(Bucket=LANDING)
                        for v in page.get("Versions", [])]
            return sorted(items, key=lambda i: i["file_key"]["S"]), sorted(versions)

        before = observed()
        assert len(before[0]) == 200 and len(before[1]) == 200
        process.send_signal(signal.SIGKILL)
        process.wait()
        process = start(state, port, 3600)
        assert observed() == before
        # the consumed events stay consumed: nothing to ingest again
        again = validate()
        assert again.outcomes["tracked"] == 0, again
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=120)
