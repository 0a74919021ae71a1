"""Pipeline C's per-file partitions are pruned after the retention (pipelines/csv_profile/pruning.py):
the count stays bounded while recent, failed-and-still-uploaded and running files keep theirs."""

from dataclasses import replace

from dagster import DagsterInstance, DagsterRunStatus, Definitions
from dagster._core.test_utils import create_run_for_test

from etl_platform.pipelines.csv_profile import csv_profile_definitions
from etl_platform.resources import platform_resources
from etl_platform_tests.helpers import tick_sensor

PRUNER = ("csv_partition_pruner", ("s3", "file_metadata_table"))


def _definitions(settings, retention_days):
    settings = settings.with_overrides(profiling=replace(settings.profiling, partition_retention_days=retention_days))
    return Definitions.merge(csv_profile_definitions(settings), Definitions(resources=platform_resources(settings)))


def test_pruning_removes_files_past_retention_and_keeps_failed_and_running_ones(aws):
    defs = _definitions(aws, retention_days=0)  # every upload is past the retention at once
    s3, bucket = defs.resources["s3"].get_client(), aws.names.csv_data_bucket
    s3.put_object(Bucket=bucket, Key="uploads/good.csv", Body=b"name,age\nAda,36\nAlan,41\n")
    s3.put_object(Bucket=bucket, Key="uploads/bad.csv", Body=b"")  # profiled as error
    s3.put_object(Bucket=bucket, Key="uploads/busy.csv", Body=b"a\n1\n")
    s3.put_object(Bucket=bucket, Key="uploads/gone.csv", Body=b"a\n1\n")
    instance = DagsterInstance.ephemeral()
    uploads = tick_sensor(defs, instance, "csv_upload_sensor", ("s3",))
    requests = {r.partition_key: r for r in uploads.run_requests}
    job = defs.resolve_job_def("csv_profile_job")
    for name in ("good.csv", "bad.csv", "gone.csv"):
        job.execute_in_process(instance=instance, partition_key=name, tags=requests[name].tags, raise_on_error=False)
    assert platform_resources(aws)["file_metadata_table"].latest_profile("bad.csv")["status"] == "error"
    create_run_for_test(instance, job_name=job.name, status=DagsterRunStatus.STARTED,
                        tags={"dagster/partition": "busy.csv"})  # its run is in flight
    s3.delete_object(Bucket=bucket, Key="uploads/gone.csv")
    assert sorted(instance.get_dynamic_partitions("csv_files")) == ["bad.csv", "busy.csv", "gone.csv", "good.csv"]

    tick_sensor(defs, instance, *PRUNER)
    assert sorted(instance.get_dynamic_partitions("csv_files")) == ["bad.csv", "busy.csv"]
    # a pruned file's history stays, and uploading it again adds its partition back
    assert instance.get_runs_count() == 4
    s3.put_object(Bucket=bucket, Key="uploads/good.csv", Body=b"name,age\nAda,37\n")
    [again] = tick_sensor(defs, instance, "csv_upload_sensor", ("s3",), uploads.cursor).run_requests
    assert again.partition_key == "good.csv" and "good.csv" in instance.get_dynamic_partitions("csv_files")


def test_files_within_the_retention_keep_their_partitions(aws):
    defs = _definitions(aws, retention_days=30)
    s3, bucket = defs.resources["s3"].get_client(), aws.names.csv_data_bucket
    s3.put_object(Bucket=bucket, Key="uploads/fresh.csv", Body=b"a\n1\n")
    instance = DagsterInstance.ephemeral()
    tick_sensor(defs, instance, "csv_upload_sensor", ("s3",))
    instance.add_dynamic_partitions("csv_files", ["deleted-long-ago.csv"])
    tick_sensor(defs, instance, *PRUNER)
    assert instance.get_dynamic_partitions("csv_files") == ["fresh.csv"]
