"""A run that ends without settling its job (cancelled: Dagster's interruption is a
BaseException the asset does not catch) is settled by the run-failure sensor, outside it."""

from dagster import DagsterEventType, DagsterInstance, Definitions, build_run_status_sensor_context
from dagster._core.errors import DagsterExecutionInterruptedError

from etl_platform.pipelines.parquet_to_json import JOB_NAME, parquet_to_json_definitions
from etl_platform.pipelines.parquet_to_json.partitions import JOB_TAG, run_day
from etl_platform.resources import platform_resources
from etl_platform.resources.glue import GlueJobRunner
from etl_platform_tests.parquet_to_json.conftest import flat_table, parquet_bytes


class InterruptedGlue(GlueJobRunner):
    """The Glue run is interrupted as a cancel from the UI interrupts it."""

    def run(self, context, **kwargs):
        raise DagsterExecutionInterruptedError("cancelled while the Glue job ran")


def _definitions(settings, glue):
    resources = {**platform_resources(settings), "glue": glue}
    return Definitions.merge(parquet_to_json_definitions(settings), Definitions(resources=resources))


def test_an_interrupted_run_leaves_its_job_running_until_the_sensor_settles_it(aws):
    real = platform_resources(aws)
    defs = _definitions(aws, InterruptedGlue(**real["glue"].__dict__))
    table, s3 = real["jobs_table"], real["s3"].get_client()
    key = "uploads/cut/a.parquet"
    s3.put_object(Bucket=aws.names.jobs_input_bucket, Key=key, Body=parquet_bytes(flat_table(5)))
    table.create_job("cut", file_name="a.parquet", input_key=key)
    instance = DagsterInstance.ephemeral()

    result = defs.resolve_job_def(JOB_NAME).execute_in_process(instance=instance, partition_key=run_day(),
                                                              tags={JOB_TAG: "cut"}, raise_on_error=False)
    assert not result.success
    job = table.get_job("cut")
    assert (job["status"], job["runId"]) == ("RUNNING", result.run_id)  # the asset's handler never ran

    failure = next(e for e in instance.all_logs(result.run_id) if e.dagster_event_type == DagsterEventType.RUN_FAILURE)
    sensor = defs.resolve_sensor_def("parquet_to_json_failed_runs")
    with build_run_status_sensor_context(sensor_name=sensor.name, dagster_event=failure.dagster_event,
                                         dagster_instance=instance, dagster_run=result.dagster_run,
                                         resources={"jobs_table": table}) as context:
        sensor(context.for_run_failure())
    settled = table.get_job("cut")
    assert settled["status"] == "FAILED" and result.run_id in settled["errorMessage"]

    # Idempotent, and never against a run that holds the job since: a re-run takes it over.
    assert table.fail_run_of_job("cut", result.run_id, "again") is None
    assert table.mark_running("cut", "a-newer-run")["status"] == "RUNNING"
    assert table.fail_run_of_job("cut", result.run_id, "late") is None
    assert table.get_job("cut")["status"] == "RUNNING"
