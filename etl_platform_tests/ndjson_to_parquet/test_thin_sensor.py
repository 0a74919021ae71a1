"""The file-events sensor stays thin: validation happens in runs (locally) or the Lambda (AWS).

Requests are counted with botocore's own event system: a `before-call` handler registered
on the clients the sensor's resources use (the platform builds one cached client per
service and endpoint, etl_platform/aws.py), fired once per API call before it is sent
(retries are not calls of their own). Only the sensor's evaluation is counted, not the
landing of the files or the validation runs.
"""

from collections import Counter
from contextlib import contextmanager

from etl_platform.aws import client_for
from etl_platform.pipelines.ndjson_to_parquet.validation import LANDING_ASSET, VALIDATION_JOB
from etl_platform.resources import platform_resources
from etl_platform.resources.sqs import SqsQueue
from etl_platform_tests.ndjson_to_parquet.harness import Pipeline, records, scaled

DATE = "2026-07-01"
SERVICES = ("sqs", "s3", "dynamodb")


@contextmanager
def counted_requests(settings):
    """Within: every API call of the platform's sqs, s3 and dynamodb clients, by operation."""
    counts: Counter = Counter()

    def count(event_name, **_):
        counts[event_name.removeprefix("before-call.")] += 1

    clients = [client_for(settings, service) for service in SERVICES]
    for client in clients:
        client.meta.events.register("before-call", count)
    try:
        yield counts
    finally:
        for client in clients:
            client.meta.events.unregister("before-call", count)


def _land(pipeline, start, count):
    for i in range(start, start + count):
        pipeline.land(DATE, f"f-{i:04d}.ndjson", records(f"f{i}", 3))


def _waiting(pipeline, expected):
    """The queue holds `expected` visible messages (S3 events may reach it a moment late)."""
    queue = pipeline.resources["file_events_queue"]
    for _ in range(50):
        if queue.approximate_depth()["visible"] >= expected:
            return
        pipeline.s3.list_buckets()  # one round trip to the emulator, instead of a sleep
    raise AssertionError(f"fewer than {expected} events reached the queue: {queue.approximate_depth()}")


def test_a_tick_costs_the_same_requests_with_10_or_300_events_waiting(aws):
    pipeline = Pipeline(scaled(aws, manifest_max_files=1000))
    queue = pipeline.resources["file_events_queue"]
    while batch := queue.receive(max_messages=10):  # S3's test event of the setup
        queue.delete([m.receipt_handle for m in batch])
    _land(pipeline, 0, 10)
    _waiting(pipeline, 10)
    with counted_requests(aws) as ten:
        few = pipeline.evaluate_sensor()
    left = queue.approximate_depth()["visible"]  # 10, unless the tick consumed them
    _land(pipeline, 10, 300 - left)
    _waiting(pipeline, 300)
    with counted_requests(aws) as three_hundred:
        many = pipeline.evaluate_sensor()

    assert ten["dynamodb.GetItem"] >= 1, ten  # the hook sees the sensor's own clients (the breaker's read)
    assert ten == three_hundred, (ten, three_hundred)
    assert ten["sqs.GetQueueAttributes"] == 1, ten
    assert sum(ten.values()) <= 15 and not any(k.startswith("s3.") for k in ten), ten
    # each asked for one validation run, and validated nothing itself
    assert [r.job_name for r in few.run_requests] == [r.job_name for r in many.run_requests] == [VALIDATION_JOB]
    assert pipeline.tracking.files_in_state("pending", DATE) == []


def test_a_validation_run_validates_in_batches_and_shows_what_it_did(aws):
    pipeline = Pipeline(scaled(aws, manifest_max_files=1000))
    queue = pipeline.resources["file_events_queue"]
    _land(pipeline, 0, 23)
    pipeline.land(DATE, "tiny.ndjson", [], body=b'{"a": 1}\n')          # under file_min_bytes: quarantined
    queue.send("this is not an S3 event")                                 # left for the DLQ
    tick = pipeline.tick()

    [run] = tick.validations
    assert run.success and run.dagster_run.job_name == VALIDATION_JOB
    [observation] = [e.event_specific_data.asset_observation for e in run.get_asset_observation_events()]
    assert observation.asset_key.to_user_string() == LANDING_ASSET
    seen = {k: v.value for k, v in observation.metadata.items()}
    assert (seen["tracked"], seen["quarantined"], seen["malformed_messages"], seen["errors"]) == (23, 1, 1, 0), seen
    assert seen["batches"] >= 3 and seen["deleted"] == seen["messages"] - 1
    assert [q["key"] for q in seen["quarantined_files"]] == [f"landing/ndjson/{DATE}/tiny.ndjson"]
    logs = [e.user_message for e in pipeline.instance.all_logs(run.run_id)]
    assert any(m.startswith("quarantined landing/ndjson/") for m in logs)
    assert any("not an S3 event" in m for m in logs)
    # the malformed message is the only one left, hidden until its visibility timeout
    assert queue.approximate_depth() == {"visible": 0, "in_flight": 1}
    assert len(pipeline.tracking.files_in_state("pending", DATE)) == 23
    assert tick.run_requests == [] and "0 waiting, 1 being handled" in tick.skip_reason


def test_no_second_validation_run_while_one_is_in_flight_or_requested(aws):
    pipeline = Pipeline(scaled(aws))
    _land(pipeline, 0, 3)
    _waiting(pipeline, 3)
    [first] = pipeline.evaluate_sensor().run_requests
    [again] = pipeline.evaluate_sensor().run_requests   # not launched yet: the same key, the daemon drops it
    assert first.run_key == again.run_key == "validate-after-none"
    run = pipeline.validate()
    _land(pipeline, 3, 1)
    _waiting(pipeline, 1)
    [after] = pipeline.evaluate_sensor().run_requests
    assert after.run_key == f"validate-after-{run.run_id}"


def test_on_aws_the_sensor_leaves_validation_to_the_lambda_and_reports_the_queue(aws):
    pipeline = Pipeline(scaled(aws).with_overrides(mode="aws"))
    _land(pipeline, 0, 4)
    _waiting(pipeline, 4)
    result = pipeline.evaluate_sensor()
    depth = pipeline.resources["file_events_queue"].approximate_depth()   # + S3's test event of the setup
    assert not result.run_requests and depth["visible"] >= 4
    assert f"{depth['visible']} waiting, 0 being handled (by the validator Lambda)" in result.skip_reason.skip_message
    assert pipeline.tracking.files_in_state("pending", DATE) == []


def test_a_validation_run_that_cannot_read_the_queue_fails(aws):
    """A validator thread stopped by SQS itself (here: no such queue) fails the run, visibly,
    instead of ending it a success that validated nothing."""
    settings = scaled(aws)
    missing = SqsQueue(connection=platform_resources(settings)["aws"], queue_name="ndjson-parquet-no-such-queue")
    run = Pipeline(settings, file_events_queue=missing).validate()
    assert not run.success
    [failure] = run.get_step_failure_events()
    error = str(failure.event_specific_data.error)
    assert "NonExistentQueue" in error or "QueueDoesNotExist" in error, error
