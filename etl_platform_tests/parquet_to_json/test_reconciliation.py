"""Pipeline A's reconciliation: a dropped file the drop sensor missed, or whose job's run was
lost, gets its run through the drop sensor's own path, once; a job a run holds is left alone."""

import time

from dagster import AssetCheckSeverity, DagsterInstance
from dagster._core.test_utils import create_run_for_test

from etl_platform.core.parquet_jobs import job_id_for_object
from etl_platform.core.timestamps import iso_utc
from etl_platform.pipelines.parquet_to_json import JOB_NAME, parquet_to_json_definitions
from etl_platform.pipelines.parquet_to_json.partitions import JOB_TAG, run_day
from etl_platform.pipelines.reconciliation import RUN_KEY_TAG
from etl_platform.resources.jobs_table import KEY, LAUNCH_CLAIM, LAUNCH_CLAIM_SECONDS
from etl_platform_tests.helpers import execute_landing_reconciled, reconcile, reconciling, run_as_daemon, tick_sensor
from etl_platform_tests.parquet_to_json.conftest import flat_table, parquet_bytes


def _reconcile(defs, instance):
    return reconcile(defs, instance, "parquet_drop_reconciliation", ("s3", "jobs_table"), "parquet_uploads")


def test_drops_without_a_run_are_started_once(aws):
    defs = reconciling(aws, parquet_to_json_definitions)
    s3, bucket = defs.resources["s3"].get_client(), aws.names.jobs_input_bucket
    jobs_table = defs.resources["jobs_table"]
    instance = DagsterInstance.ephemeral()
    job = defs.resolve_job_def(JOB_NAME)

    def execute(request):
        return run_as_daemon(job, instance, request)

    for name in ("done", "lost", "queued"):
        s3.put_object(Bucket=bucket, Key=f"incoming/{name}.parquet", Body=parquet_bytes(flat_table(5)))
    requests = {r.tags["s3_key"]: r for r in tick_sensor(defs, instance, "parquet_drop_sensor", ("s3", "jobs_table")).run_requests}
    assert execute(requests["incoming/done.parquet"])
    # lost.parquet's run was never launched and its launch claim has expired; queued.parquet's run waits
    expired = iso_utc(time.time() - LAUNCH_CLAIM_SECONDS - 60, digits=3)
    for name in ("lost", "queued"):
        jobs_table.update({KEY: requests[f"incoming/{name}.parquet"].tags[JOB_TAG]}, {LAUNCH_CLAIM: expired})
    create_run_for_test(instance, job_name=JOB_NAME, tags={RUN_KEY_TAG: requests["incoming/queued.parquet"].run_key})
    s3.put_object(Bucket=bucket, Key="incoming/missed.parquet", Body=parquet_bytes(flat_table(7)))  # never seen

    recovered = ["incoming/lost.parquet", "incoming/missed.parquet"]
    by_hand = execute_landing_reconciled(defs, instance, "parquet_uploads")  # every job without a run now
    assert (by_hand.passed, sorted(by_hand.metadata["untracked_keys"].value)) == (
        False, recovered + ["incoming/queued.parquet"])
    result, metadata, check = _reconcile(defs, instance)
    assert sorted(r.tags["s3_key"] for r in result.run_requests) == recovered
    assert (metadata["listed"], metadata["recovered"], metadata["in_flight"]) == (4, 2, 1)
    assert (check.passed, check.severity) == (False, AssetCheckSeverity.WARN)
    for request in result.run_requests:  # the drop sensor's own job id, run key and partition
        etag = s3.head_object(Bucket=bucket, Key=request.tags["s3_key"])["ETag"].strip('"')
        assert request.run_key == f"{request.tags['s3_key']}@{etag}"
        assert request.partition_key == run_day()
        assert request.tags[JOB_TAG] == job_id_for_object(bucket, request.tags["s3_key"], etag)
        assert jobs_table.get_job(request.tags[JOB_TAG])["status"] == "PENDING"
    assert _reconcile(defs, instance)[0].run_requests == []  # its launch claim holds until the runs start
    assert all(execute(r) for r in result.run_requests)
    assert {jobs_table.get_job(r.tags[JOB_TAG])["status"] for r in result.run_requests} == {"COMPLETED"}

    result, metadata, check = _reconcile(defs, instance)
    assert (result.run_requests, metadata["recovered"], metadata["in_flight"], check.passed) == ([], 0, 1, True)
