"""Pipeline A on the emulator: jobs table transitions; drop -> sensor -> run -> JSON + job item."""

import time

from dagster import AssetKey, DagsterInstance, Definitions

from etl_platform.core.parquet_jobs import job_id_for_object
from etl_platform.pipelines.parquet_to_json import JOB_NAME, parquet_to_json_definitions
from etl_platform.pipelines.parquet_to_json.partitions import JOB_TAG, run_day
from etl_platform.resources import platform_resources
from etl_platform.resources.jobs_table import LAUNCH_CLAIM_SECONDS
from etl_platform_tests.helpers import tick_sensor
from etl_platform_tests.parquet_to_json.conftest import expected_records, parquet_bytes, read_ndjson


def _definitions(settings):
    return Definitions.merge(parquet_to_json_definitions(settings), Definitions(resources=platform_resources(settings)))


def _tick(defs, instance, cursor=None):
    return tick_sensor(defs, instance, "parquet_drop_sensor", ("s3", "jobs_table"), cursor)


def test_jobs_table_transitions(aws):
    table = platform_resources(aws)["jobs_table"]
    assert table.create_job("j1", file_name="a.parquet", input_key="uploads/j1/a.parquet")
    assert not table.create_job("j1", file_name="b.parquet", input_key="x")  # never overwritten
    assert table.mark_completed("j1", processing_time=1.0, output_key="o") is None  # PENDING -/-> COMPLETED
    assert table.mark_running("j1")["status"] == "RUNNING"
    assert table.mark_running("j1") is None  # a second run cannot start it
    failed = table.mark_failed("j1", "boom")
    assert (failed["status"], failed["errorMessage"]) == ("FAILED", "boom")
    assert table.mark_running("j1")["errorMessage"] is None  # FAILED -> RUNNING: a re-run
    done = table.mark_completed("j1", processing_time=1.23456, output_key="output/j1/a.ndjson")
    assert (done["status"], done["processingTime"], done["outputS3Key"]) == ("COMPLETED", 1.235, "output/j1/a.ndjson")
    assert table.mark_running("j1") is None and table.mark_failed("j1", "late") is None  # COMPLETED is final
    assert table.mark_running("missing") is None
    assert table.get_job("j1")["fileName"] == "a.parquet" and table.get_job("missing") is None


def test_one_launch_claim_per_job_transition(aws):
    table = platform_resources(aws)["jobs_table"]
    table.create_job("j2", file_name="a.parquet", input_key="uploads/j2/a.parquet")
    lost = table.claim_launch("j2", now=time.time() - LAUNCH_CLAIM_SECONDS - 1)  # its run never started the job
    assert lost["status"] == "PENDING"
    table.record_launch("j2", "run-0")
    first = table.claim_launch("j2")  # an expired claim blocks nothing
    assert first["launchRequestedAt"] > lost["launchRequestedAt"] and "launchRunId" not in first
    assert table.claim_launch("j2") is None  # a second trigger launches nothing
    table.record_launch("j2", "run-1")
    assert table.get_job("j2")["launchRunId"] == "run-1"

    table.mark_running("j2")
    assert table.claim_launch("j2") is None  # RUNNING
    table.mark_failed("j2", "boom")
    retry = table.claim_launch("j2")  # failed since its last launch: may run again
    assert retry["status"] == "FAILED"
    table.release_launch("j2", retry["launchRequestedAt"])  # Dagster refused that launch
    assert "launchRequestedAt" not in table.get_job("j2")
    assert table.claim_launch("j2") is not None
    assert table.claim_launch("missing") is None


def test_list_jobs_pages_with_and_without_status(aws):
    table = platform_resources(aws)["jobs_table"]
    for i in range(5):
        table.create_job(f"job{i}", file_name=f"{i}.parquet", input_key=f"uploads/job{i}/{i}.parquet")
    table.mark_running("job0")
    seen, token = [], None
    while True:
        page, token = table.list_jobs(limit=2, next_token=token)
        assert len(page) <= 2
        seen += [job["jobId"] for job in page]
        if token is None:
            break
    assert sorted(seen) == [f"job{i}" for i in range(5)]
    pending, token = table.list_jobs(status="PENDING", limit=10)
    assert token is None
    assert [j["jobId"] for j in pending] == ["job4", "job3", "job2", "job1"]  # newest first
    assert [j["jobId"] for j in table.list_jobs(status="RUNNING")[0]] == ["job0"]


def test_drop_sensor_runs_and_outputs(aws, samples):
    defs = _definitions(aws)
    s3 = defs.resources["s3"].get_client()
    table = defs.resources["jobs_table"]
    bucket, out_bucket = aws.names.jobs_input_bucket, aws.names.jobs_output_bucket
    for name, source in samples.items():
        s3.put_object(Bucket=bucket, Key=f"incoming/{name}.parquet", Body=parquet_bytes(source))
    s3.put_object(Bucket=bucket, Key="incoming/broken.parquet", Body=b"PAR1 but not really")
    s3.put_object(Bucket=bucket, Key="incoming/notes.txt", Body=b"not Parquet")  # a FAILED job, no run
    s3.put_object(Bucket=bucket, Key="incoming/", Body=b"")  # a folder marker: no job at all
    s3.put_object(Bucket=bucket, Key="uploads/some-job/api.parquet", Body=parquet_bytes(samples["flat"]))
    instance = DagsterInstance.ephemeral()

    tick = _tick(defs, instance)
    keys = sorted(r.tags["s3_key"] for r in tick.run_requests)
    assert keys == ["incoming/broken.parquet", "incoming/flat.parquet", "incoming/nested.parquet"]
    notes_etag = s3.head_object(Bucket=bucket, Key="incoming/notes.txt")["ETag"].strip('"')
    notes = table.get_job(job_id_for_object(bucket, "incoming/notes.txt", notes_etag))
    assert (notes["status"], notes["errorMessage"]) == (
        "FAILED", "not a .parquet file: incoming/ takes Parquet files only; drop it again as <name>.parquet")
    assert sorted(j["inputS3Key"] for j in table.list_jobs(limit=50)[0]) == sorted([*keys, "incoming/notes.txt"])
    for request in tick.run_requests:
        etag = s3.head_object(Bucket=bucket, Key=request.tags["s3_key"])["ETag"].strip('"')
        assert request.run_key == f"{request.tags['s3_key']}@{etag}"
        assert request.partition_key == run_day()  # the day, not the job: one partition a day
        assert request.tags[JOB_TAG] == job_id_for_object(bucket, request.tags["s3_key"], etag)
        pending = table.get_job(request.tags[JOB_TAG])
        assert pending["status"] == "PENDING" and pending["launchRequestedAt"]  # claimed for the sensor's run
    assert _tick(defs, instance, tick.cursor).run_requests == []  # nothing twice

    job = defs.resolve_job_def(JOB_NAME)
    runs = {r.tags["s3_key"]: (r.tags[JOB_TAG], job.execute_in_process(
        instance=instance, partition_key=r.partition_key, tags=r.tags, raise_on_error=False)) for r in tick.run_requests}

    for name, source in samples.items():
        job_id, result = runs[f"incoming/{name}.parquet"]
        assert result.success, name
        item = table.get_job(job_id)
        assert item["status"] == "COMPLETED" and item["outputS3Key"] == f"output/{job_id}/{name}.ndjson"
        assert item["processingTime"] > 0 and item.get("errorMessage") is None and "launchRequestedAt" not in item
        body = s3.get_object(Bucket=out_bucket, Key=item["outputS3Key"])["Body"].read()
        assert read_ndjson(body) == expected_records(source)
        metadata = result.asset_materializations_for_node("parquet_to_json")[0].metadata
        assert metadata["rows"].value == source.num_rows
        assert metadata["bytes_out"].value == len(body)
        assert [c.name for c in metadata["schema"].schema.columns] == source.column_names
        assert metadata["preview"].value.count("\n") == 11  # header, rule, 10 records
        assert metadata["output"].value == f"s3://{out_bucket}/{item['outputS3Key']}"

    # three jobs, one partition: the day their runs were requested
    assert instance.get_materialized_partitions(AssetKey("parquet_to_json")) == {run_day()}
    job_id, result = runs["incoming/broken.parquet"]
    assert not result.success
    item = table.get_job(job_id)
    assert item["status"] == "FAILED" and item["errorMessage"].startswith("input is not a Parquet file")
    assert len([e for e in result.all_events if e.event_type_value == "STEP_START"]) == 1  # bad input: no retry
    assert s3.list_objects_v2(Bucket=out_bucket, Prefix=f"output/{job_id}/")["KeyCount"] == 0

    # A completed job never runs again; a re-upload of the same name is a new version, a new job.
    flat_id, _ = runs["incoming/flat.parquet"]
    again = job.execute_in_process(instance=instance, partition_key=run_day(), tags={JOB_TAG: flat_id},
                                  raise_on_error=False)
    assert not again.success and table.get_job(flat_id)["status"] == "COMPLETED"
    s3.put_object(Bucket=bucket, Key="incoming/flat.parquet", Body=parquet_bytes(samples["flat"].slice(0, 3)))
    tick = _tick(defs, instance, tick.cursor)
    assert [r.tags["s3_key"] for r in tick.run_requests] == ["incoming/flat.parquet"]
    assert tick.run_requests[0].tags[JOB_TAG] != flat_id


def test_a_job_converts_the_version_it_was_given(aws, samples):
    """The input bucket is versioned: a dropped file overwritten before its run converts as
    dropped; an API upload's job converts the version its trigger pinned, on every retry."""
    defs = _definitions(aws)
    s3 = defs.resources["s3"].get_client()
    table = defs.resources["jobs_table"]
    bucket, out_bucket = aws.names.jobs_input_bucket, aws.names.jobs_output_bucket
    s3.put_object(Bucket=bucket, Key="incoming/v.parquet", Body=parquet_bytes(samples["flat"]))
    instance = DagsterInstance.ephemeral()
    [request] = _tick(defs, instance).run_requests
    s3.put_object(Bucket=bucket, Key="incoming/v.parquet", Body=b"overwritten with something else")
    job = defs.resolve_job_def(JOB_NAME)
    assert job.execute_in_process(instance=instance, partition_key=request.partition_key, tags=request.tags).success
    item = table.get_job(request.tags[JOB_TAG])
    assert item["inputVersionId"] == s3.list_object_versions(Bucket=bucket, Prefix="incoming/v.parquet")["Versions"][-1]["VersionId"]
    body = s3.get_object(Bucket=out_bucket, Key=item["outputS3Key"])["Body"].read()
    assert read_ndjson(body) == expected_records(samples["flat"])

    key = "uploads/api-job/a.parquet"
    s3.put_object(Bucket=bucket, Key=key, Body=parquet_bytes(samples["nested"]))
    table.create_job("api-job", file_name="a.parquet", input_key=key)
    version = table.pin_input_version("api-job", s3.head_object(Bucket=bucket, Key=key)["VersionId"])  # as a trigger does
    assert table.pin_input_version("api-job", "another") == version  # pinned once
    s3.put_object(Bucket=bucket, Key=key, Body=parquet_bytes(samples["flat"]))
    assert job.execute_in_process(instance=instance, partition_key=run_day(), tags={JOB_TAG: "api-job"}).success
    body = s3.get_object(Bucket=out_bucket, Key=table.get_job("api-job")["outputS3Key"])["Body"].read()
    assert read_ndjson(body) == expected_records(samples["nested"])
