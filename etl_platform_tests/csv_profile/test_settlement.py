"""A profile run that ends without recording its outcome (cancelled between the summary and
the item: Dagster's interruption is a BaseException) is settled by the run-failure sensor."""

from datetime import datetime, timedelta, timezone

from dagster import DagsterEventType, DagsterInstance, Definitions, build_run_status_sensor_context
from dagster._core.errors import DagsterExecutionInterruptedError

from etl_platform.pipelines.csv_profile import csv_profile_definitions
from etl_platform.pipelines.csv_profile.service import settle_unfinished_run
from etl_platform.resources import platform_resources
from etl_platform.resources.file_metadata import FileMetadataTable
from etl_platform_tests.csv_profile.conftest import CLEAN, MISSING_AND_INVALID


class InterruptedBeforeTheItem(FileMetadataTable):
    def record_profile(self, item):
        raise DagsterExecutionInterruptedError("cancelled after the summary was written")


def _run(defs, instance, file_name):
    instance.add_dynamic_partitions("csv_files", [file_name])
    return defs.resolve_job_def("csv_profile_job").execute_in_process(instance=instance, partition_key=file_name,
                                                                      raise_on_error=False)


def test_an_interrupted_profile_is_recorded_as_error_by_the_sensor(aws):
    real = platform_resources(aws)
    table, s3, bucket = real["file_metadata_table"], real["s3"].get_client(), aws.names.csv_data_bucket
    good = Definitions.merge(csv_profile_definitions(aws), Definitions(resources=real))
    cut = Definitions.merge(csv_profile_definitions(aws), Definitions(resources={
        **real, "file_metadata_table": InterruptedBeforeTheItem(**table.__dict__)}))
    instance = DagsterInstance.ephemeral()
    s3.put_object(Bucket=bucket, Key="uploads/people.csv", Body=CLEAN)
    assert _run(good, instance, "people.csv").success
    assert table.latest_profile("people.csv")["row_count"] == 4

    s3.put_object(Bucket=bucket, Key="uploads/people.csv", Body=MISSING_AND_INVALID)
    result = _run(cut, instance, "people.csv")
    assert not result.success
    assert table.latest_profile("people.csv")["row_count"] == 4  # the old upload's profile, beside a new summary
    assert s3.list_objects_v2(Bucket=bucket, Prefix="processed/people_summary.json")["KeyCount"] == 1

    failure = next(e for e in instance.all_logs(result.run_id) if e.dagster_event_type == DagsterEventType.RUN_FAILURE)
    sensor = good.resolve_sensor_def("csv_profile_failed_runs")
    instance.delete_dynamic_partition("csv_files", "people.csv")  # pruned meanwhile: the re-run adds it back
    requests = []
    for _ in range(2):  # a tick that died after its write is evaluated again: it still asks for the re-run
        with build_run_status_sensor_context(sensor_name=sensor.name, dagster_event=failure.dagster_event,
                                             dagster_instance=instance, dagster_run=result.dagster_run,
                                             resources={"s3": real["s3"], "file_metadata_table": table}) as context:
            out = sensor(context.for_run_failure())
            requests += out if isinstance(out, list) else [out] if out else []
    assert [r.run_key for r in requests] == [f"rerun-of-{result.run_id}"] * 2  # one key: Dagster runs it once
    assert instance.has_dynamic_partition("csv_files", "people.csv")
    item = table.latest_profile("people.csv")
    assert (item["status"], item["row_count"]) == ("error", 0) and result.run_id in item["error_message"]
    assert s3.list_objects_v2(Bucket=bucket, Prefix="processed/people_summary.json")["KeyCount"] == 0

    # A run settled late never overwrites a profile recorded after it started.
    assert _run(good, instance, "people.csv").success
    assert not settle_unfinished_run(s3, table, bucket=bucket, key="uploads/people.csv", upload_prefix="uploads/",
                                     processed_prefix="processed/", message="late",
                                     run_started=datetime.now(timezone.utc) - timedelta(hours=1))
    assert table.latest_profile("people.csv")["status"] == "success"


def test_a_run_that_recorded_its_own_error_keeps_its_reason_and_is_not_profiled_again(aws):
    """Bad input is recorded by the run itself, often within the second its run started,
    which the seed's whole-second timestamps cannot tell from a run that recorded nothing."""
    real = platform_resources(aws)
    table, s3, bucket = real["file_metadata_table"], real["s3"].get_client(), aws.names.csv_data_bucket
    defs = Definitions.merge(csv_profile_definitions(aws), Definitions(resources=real))
    sensor = defs.resolve_sensor_def("csv_profile_failed_runs")
    instance = DagsterInstance.ephemeral()
    for name in ("empty.csv", "also_empty.csv"):
        s3.put_object(Bucket=bucket, Key=f"uploads/{name}", Body=b"")
        result = _run(defs, instance, name)
        assert not result.success and table.latest_profile(name)["error_message"] == "file is empty"
        failure = next(e for e in instance.all_logs(result.run_id) if e.dagster_event_type == DagsterEventType.RUN_FAILURE)
        with build_run_status_sensor_context(sensor_name=sensor.name, dagster_event=failure.dagster_event,
                                             dagster_instance=instance, dagster_run=result.dagster_run,
                                             resources={"s3": real["s3"], "file_metadata_table": table}) as context:
            assert sensor(context.for_run_failure()) is None  # no re-run of a file that cannot be profiled
        assert table.latest_profile(name)["error_message"] == "file is empty"
