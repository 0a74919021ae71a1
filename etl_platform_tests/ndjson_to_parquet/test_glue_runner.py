"""The Glue runner: start retries on ConcurrentRunsExceededException, and the AWS path
(dagster-aws PipesGlueClient with the S3 context injector and message reader) against the emulator."""

import json
import urllib.request
from dataclasses import replace

import pytest
from botocore.exceptions import ClientError

from etl_platform.pipelines.ndjson_to_parquet.assets import ENGINE_TAG
from etl_platform.resources import glue as glue_module
from etl_platform.resources.glue import GlueJobRunner
from etl_platform.resources import platform_resources
from etl_platform_tests.ndjson_to_parquet.harness import Pipeline, records, scaled


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
    result = pipeline.run(request.partition_key, tags={ENGINE_TAG: "spark"})
    assert not result.success
    assert "ended without reporting its result" in pipeline.tracking.manifest(request.partition_key)["error"]
    runs = platform_resources(aws)["aws"].client("glue").get_job_runs(JobName=aws.names.ndjson_glue_job)["JobRuns"]
    arguments = runs[0]["Arguments"]
    assert arguments["--manifest_path"].endswith(f"/{request.partition_key}.json")
    assert "--dagster-pipes-context" in arguments and "--stage_locally" not in arguments
