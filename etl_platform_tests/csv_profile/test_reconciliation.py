"""Pipeline C's reconciliation: uploads the upload sensor missed are profiled through its own
run key and partition, once; an upload a run holds already is left to that run."""

import time

from dagster import AssetCheckSeverity, DagsterInstance
from dagster._core.test_utils import create_run_for_test

from etl_platform.pipelines.csv_profile import csv_profile_definitions
from etl_platform.pipelines.reconciliation import RUN_KEY_TAG
from etl_platform_tests.helpers import execute_landing_reconciled, reconcile, reconciling, run_as_daemon, tick_sensor


def _execute(defs, instance, requests):
    job = defs.resolve_job_def("csv_profile_job")
    return {r.partition_key: run_as_daemon(job, instance, r) for r in requests}


def _reconcile(defs, instance):
    return reconcile(defs, instance, "csv_upload_reconciliation", ("s3", "file_metadata_table"), "csv_uploads")


def test_uploads_the_sensor_missed_are_profiled_once(aws):
    defs = reconciling(aws, csv_profile_definitions)
    s3, bucket = defs.resources["s3"].get_client(), aws.names.csv_data_bucket
    instance = DagsterInstance.ephemeral()
    for name in ("a.csv", "b.csv", "queued.csv"):
        s3.put_object(Bucket=bucket, Key=f"uploads/{name}", Body=f"name,n\n{name},1\n".encode())
    tick = tick_sensor(defs, instance, "csv_upload_sensor", ("s3",))
    requests = {r.partition_key: r for r in tick.run_requests}
    assert _execute(defs, instance, [requests["a.csv"]]) == {"a.csv": True}
    # b.csv's run request was lost; queued.csv's run waits in the queue
    create_run_for_test(instance, job_name="csv_profile_job", tags={RUN_KEY_TAG: requests["queued.csv"].run_key})
    s3.put_object(Bucket=bucket, Key="uploads/c.csv", Body=b"name,n\nc,1\n")  # never seen by the sensor
    first = s3.head_object(Bucket=bucket, Key="uploads/a.csv")["LastModified"].timestamp()
    while time.time() < first + 1:  # items keep whole seconds: a re-upload within the same second is not told apart
        time.sleep(0.1)
    s3.put_object(Bucket=bucket, Key="uploads/a.csv", Body=b"name,n\nagain,1\nand,2\n")  # a re-upload, never seen

    recovered = ["uploads/a.csv", "uploads/b.csv", "uploads/c.csv"]
    by_hand = execute_landing_reconciled(defs, instance, "csv_uploads")  # what lacks a profile now, queued or not
    assert (by_hand.passed, sorted(by_hand.metadata["untracked_keys"].value)) == (False, recovered + ["uploads/queued.csv"])
    result, metadata, check = _reconcile(defs, instance)
    assert sorted(r.tags["s3_key"] for r in result.run_requests) == recovered
    assert (metadata["listed"], metadata["recovered"], metadata["in_flight"]) == (4, 3, 1)
    assert (check.passed, check.severity, sorted(check.metadata["recovered_keys"].value)) == (
        False, AssetCheckSeverity.WARN, recovered)
    for request in result.run_requests:  # the upload sensor's own run key and partition
        etag = s3.head_object(Bucket=bucket, Key=request.tags["s3_key"])["ETag"].strip('"')
        assert (request.run_key, request.partition_key) == (f"{request.tags['s3_key']}@{etag}", request.tags["s3_key"][8:])
    assert result.dynamic_partitions_requests[0].partition_keys == ["a.csv", "b.csv", "c.csv"]
    assert _execute(defs, instance, result.run_requests) == {"a.csv": True, "b.csv": True, "c.csv": True}
    metadata_table = defs.resources["file_metadata_table"]
    assert metadata_table.latest_profile("a.csv")["row_count"] == 2  # the re-upload
    assert metadata_table.latest_profile("c.csv")["status"] == "success"

    result, metadata, check = _reconcile(defs, instance)  # nothing twice; the queued run keeps its file
    assert (result.run_requests, metadata["recovered"], metadata["in_flight"], check.passed) == ([], 0, 1, True)
