"""The Glue runner: a start the emulator's Glue refuses (ConcurrentRunsExceededException), the AWS path
(dagster-aws PipesGlueClient with the S3 context injector and message reader) against the
emulator, and which Python a local run uses (the job's Glue runtime venv, when built)."""

import contextlib
import io
import json
import sys
import urllib.request

import pyarrow as pa
import pyarrow.parquet as pq

import pytest
from dagster import AssetExecutionContext, DagsterInstance, MaterializeResult, asset, materialize

from etl_platform import glue_runtimes
from etl_platform.infra_template import ResolvedTemplate

from etl_platform.pipelines.ndjson_to_parquet.assets import ENGINE_TAG
from etl_platform.resources.glue import GlueJobRunner, built_runtime_pythons
from etl_platform.resources import platform_resources
from etl_platform_tests.ndjson_to_parquet.harness import Pipeline, local_runner_commands, records, scaled, manifest_id_of


def _runner(aws, mode="local"):
    return GlueJobRunner.from_settings(aws.with_overrides(mode=mode), platform_resources(aws)["aws"])


def _state_manager(aws, action: str, body: dict) -> None:
    request = urllib.request.Request(f"{aws.endpoint_url}/moto-api/state-manager/{action}",
                                     data=json.dumps(body).encode(), method="POST")
    urllib.request.urlopen(request).close()


@contextlib.contextmanager
def held_glue_run(aws, job_name: str):
    """A run of `job_name` the emulator's Glue keeps STARTING (moto's state manager), so the
    job's MaxConcurrentRuns (1 in dev) is reached; `release()` lets it end."""
    _state_manager(aws, "set-transition", {"model_name": "glue::job_run",
                                           "transition": {"progression": "manual", "times": 1000}})
    released = []

    def release():
        if not released:
            _state_manager(aws, "unset-transition", {"model_name": "glue::job_run"})
            released.append(True)

    try:
        platform_resources(aws)["aws"].client("glue").start_job_run(JobName=job_name)
        yield release
    finally:
        release()


def test_a_local_start_the_emulator_refuses_raises_and_runs_nothing(aws):
    """The local runner asks the emulator's Glue for the run first: the job's MaxConcurrentRuns
    refuses it as AWS would, and the script never runs."""
    job_name = aws.names.ndjson_glue_job  # MaxConcurrentRuns 1 in dev
    runner = _runner(aws)

    @asset
    def converted(context: AssetExecutionContext, glue: GlueJobRunner) -> MaterializeResult:
        glue.run(context, job_name=job_name, script="ndjson_to_parquet.py", arguments={"manifest_path": "s3://x/y.json"})
        return MaterializeResult()

    instance = DagsterInstance.ephemeral()
    with held_glue_run(aws, job_name):
        result = materialize([converted], resources={"glue": runner}, instance=instance, raise_on_error=False)
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "ConcurrentRunsExceededException" in str(failure.step_failure_data.error)
    assert local_runner_commands(instance, result.run_id) == []


def test_aws_path_starts_the_glue_job_through_pipes(aws):
    """moto runs nothing, so the job reports nothing: the run must fail clearly, and the Glue
    job run must carry our arguments and the Pipes bootstrap."""
    pipeline = Pipeline(scaled(aws, manifest_max_files=1), glue=_runner(aws, mode="aws"))
    pipeline.land("2026-07-01", "g.ndjson", records("g", 3))
    [request] = pipeline.tick().run_requests
    result = pipeline.run(manifest_id_of(request), tags={ENGINE_TAG: "spark"})
    assert not result.success
    assert "ended without reporting its result" in pipeline.tracking.manifest(manifest_id_of(request))["error"]
    runs = platform_resources(aws)["aws"].client("glue").get_job_runs(JobName=aws.names.ndjson_glue_job)["JobRuns"]
    arguments = runs[0]["Arguments"]
    assert arguments["--manifest_path"].endswith(f"/{manifest_id_of(request)}.json")
    assert "--dagster-pipes-context" in arguments and "--stage_locally" not in arguments


def test_from_settings_uses_a_runtime_only_once_built(aws, tmp_path):
    assert built_runtime_pythons(aws, tmp_path) == {name: "" for name in aws.names.glue_jobs()}
    template = ResolvedTemplate.from_file(aws.infra_template, env=aws.env, account_id=aws.account_id, region=aws.region)
    runtime = glue_runtimes.runtimes(template)[aws.names.ndjson_glue_job]
    python = glue_runtimes.venv_python(runtime, tmp_path)
    python.parent.mkdir(parents=True)
    assert built_runtime_pythons(aws, tmp_path)[aws.names.ndjson_glue_job] == ""  # half-built: not used
    (python.parent.parent / "glue-runtime.json").write_text("{}")
    assert built_runtime_pythons(aws, tmp_path)[aws.names.ndjson_glue_job] == str(python)


def test_a_job_whose_runtime_is_not_built_runs_on_this_venv_with_a_warning(aws):
    job_name = aws.names.parquet_to_json_glue_job
    runner = _runner(aws)
    runner = GlueJobRunner(**{**runner.__dict__, "runtime_pythons": {job_name: ""}})
    s3 = runner.connection.client("s3")
    sink = io.BytesIO()
    pq.write_table(pa.table({"n": [1, 2]}), sink)
    s3.put_object(Bucket=aws.names.jobs_input_bucket, Key="uploads/two.parquet", Body=sink.getvalue())
    outcomes = []

    @asset
    def converted(context: AssetExecutionContext, glue: GlueJobRunner) -> MaterializeResult:
        outcomes.extend(glue.run(context, job_name=job_name, script="parquet_to_json.py", arguments={
            "input_path": f"s3://{aws.names.jobs_input_bucket}/uploads/two.parquet",
            "output_path": f"s3://{aws.names.jobs_output_bucket}/output/two.ndjson"}).get_custom_messages())
        return MaterializeResult()

    instance = DagsterInstance.ephemeral()
    result = materialize([converted], resources={"glue": runner}, instance=instance)
    assert result.success and outcomes[-1]["rows"] == 2
    [command] = local_runner_commands(instance, result.run_id)
    assert command.startswith(sys.executable + " ")
    warnings = [e.user_message for e in instance.all_logs(result.run_id) if "runtime is not built" in e.user_message]
    assert warnings and "python -m etl_platform.glue_runtimes build" in warnings[0]
