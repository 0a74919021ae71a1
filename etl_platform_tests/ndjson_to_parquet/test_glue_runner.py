"""The Glue runner: start retries on ConcurrentRunsExceededException, the AWS path
(dagster-aws PipesGlueClient with the S3 context injector and message reader) against the
emulator, and which Python a local run uses (the job's Glue runtime venv, when built)."""

import io
import json
import sys
import urllib.request
from dataclasses import replace

import pyarrow as pa
import pyarrow.parquet as pq

import pytest
from botocore.exceptions import ClientError
from dagster import AssetExecutionContext, DagsterInstance, MaterializeResult, asset, materialize

from etl_platform import glue_runtimes
from etl_platform.infra_template import ResolvedTemplate

from etl_platform.pipelines.ndjson_to_parquet.assets import ENGINE_TAG
from etl_platform.resources import glue as glue_module
from etl_platform.resources.glue import GlueJobRunner, built_runtime_pythons
from etl_platform.resources import platform_resources
from etl_platform_tests.ndjson_to_parquet.harness import Pipeline, local_runner_commands, records, scaled, manifest_id_of


@pytest.fixture
def sleeps(monkeypatch):
    calls = []
    monkeypatch.setattr(glue_module.time, "sleep", calls.append)
    return calls


def _runner(aws, mode="local"):
    settings = aws.with_overrides(mode=mode, ingestion=replace(aws.ingestion, glue_start_retry_delay_seconds=0.5))
    return GlueJobRunner.from_settings(settings, platform_resources(aws)["aws"])


def test_start_is_retried_with_exponential_backoff(aws, sleeps):
    outcomes = iter([ClientError({"Error": {"Code": "ConcurrentRunsExceededException"}}, "StartJobRun")] * 2 + ["jr_1"])

    def start():
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert _runner(aws).with_start_retries(start, log=lambda _: None) == "jr_1"
    assert sleeps == [0.5, 1.0]


def test_concurrent_runs_exceeded_on_the_emulator_gives_up_after_three_retries(aws, sleeps):
    # Keep job runs RUNNING until told otherwise, so the job's MaxConcurrentRuns (1 in dev) is reached.
    payload = json.dumps({"model_name": "glue::job_run", "transition": {"progression": "manual", "times": 1000}}).encode()
    urllib.request.urlopen(urllib.request.Request(f"{aws.endpoint_url}/moto-api/state-manager/set-transition", data=payload, method="POST")).close()
    try:
        glue = platform_resources(aws)["aws"].client("glue")
        glue.start_job_run(JobName=aws.names.ndjson_glue_job)
        with pytest.raises(ClientError, match="ConcurrentRunsExceeded"):
            _runner(aws).with_start_retries(lambda: glue.start_job_run(JobName=aws.names.ndjson_glue_job), log=lambda _: None)
        assert sleeps == [0.5, 1.0, 2.0]  # 3 retries, backoff 2
    finally:
        urllib.request.urlopen(urllib.request.Request(f"{aws.endpoint_url}/moto-api/state-manager/unset-transition",
                                                      data=json.dumps({"model_name": "glue::job_run"}).encode(), method="POST")).close()


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
