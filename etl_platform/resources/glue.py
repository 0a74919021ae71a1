"""Run a Glue job from an asset: on AWS through dagster-aws's PipesGlueClient, locally by
running the same script from glue_jobs/ in a subprocess under Dagster Pipes.

Moto accepts StartJobRun but runs nothing, so the local runner executes the script itself,
with the emulator's endpoint in AWS_ENDPOINT_URL (boto3 honours it) and the project on
PYTHONPATH (on Glue, etl_platform.core comes from --extra-py-files). Starting a run is
retried on ConcurrentRunsExceededException with exponential backoff (seed 003's policy).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

from botocore.exceptions import ClientError
from dagster import ConfigurableResource, PipesClientCompletedInvocation, PipesSubprocessClient
from dagster_aws.pipes import PipesGlueClient, PipesS3ContextInjector, PipesS3MessageReader
from pydantic import Field

from etl_platform.config import Settings
from etl_platform.resources.connection import AwsConnection


class GlueJobRunner(ConfigurableResource):
    connection: AwsConnection
    local: bool = Field(description="Run glue_jobs/ scripts in a subprocess instead of on AWS Glue")
    glue_jobs_dir: str = Field(description="Folder of the Glue scripts (local runs)")
    pipes_bucket: str = Field(description="Bucket for Pipes context and messages on AWS")
    start_retries: int = 3
    start_retry_delay_seconds: float = 60.0
    start_retry_backoff: float = 2.0

    @classmethod
    def from_settings(cls, settings: Settings, connection: AwsConnection) -> "GlueJobRunner":
        ingestion = settings.ingestion
        return cls(
            connection=connection,
            local=settings.is_local,
            glue_jobs_dir=str(settings.glue_jobs_dir),
            pipes_bucket=settings.names.pipes_bucket,
            start_retries=ingestion.glue_start_retries,
            start_retry_delay_seconds=ingestion.glue_start_retry_delay_seconds,
            start_retry_backoff=ingestion.glue_start_retry_backoff,
        )

    def run(self, context: Any, *, job_name: str, script: str, arguments: dict[str, str],
            local_arguments: dict[str, str] | None = None) -> PipesClientCompletedInvocation:
        """Run `script` (a file name in glue_jobs/) as Glue job `job_name` with `--key value`
        arguments; `local_arguments` are added only when the script runs locally."""
        if self.local:
            return self._run_local(context, script, {**arguments, **(local_arguments or {})})
        client = PipesGlueClient(
            client=self.connection.client("glue"),
            context_injector=PipesS3ContextInjector(client=self.connection.client("s3"), bucket=self.pipes_bucket),
            message_reader=PipesS3MessageReader(client=self.connection.client("s3"), bucket=self.pipes_bucket),
        )
        params = {"JobName": job_name, "Arguments": {f"--{k}": v for k, v in arguments.items()}}
        return self.with_start_retries(
            lambda: client.run(context=context, start_job_run_params=params), log=context.log.warning
        )

    def with_start_retries(self, start: Callable[[], Any], log: Callable[[str], None] = print) -> Any:
        delay = self.start_retry_delay_seconds
        for attempt in range(self.start_retries + 1):
            try:
                return start()
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConcurrentRunsExceededException" or attempt == self.start_retries:
                    raise
                log(f"Glue: concurrent runs exceeded; retry {attempt + 1}/{self.start_retries} in {delay:.1f} s")
                time.sleep(delay)
                delay *= self.start_retry_backoff
        raise AssertionError("unreachable")

    def _run_local(self, context: Any, script: str, arguments: dict[str, str]):
        path = Path(self.glue_jobs_dir) / script
        command = [sys.executable, str(path)]
        for key, value in arguments.items():
            command += [f"--{key}", value]
        project_root = str(Path(self.glue_jobs_dir).resolve().parent)
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [project_root, os.environ.get("PYTHONPATH")])),
            "AWS_DEFAULT_REGION": self.connection.region_name,
            "PYSPARK_PYTHON": sys.executable,  # Spark's Python workers: this venv, with etl_platform.core
            "SPARK_LOCAL_IP": "127.0.0.1",
        }
        if self.connection.endpoint_url:
            env["AWS_ENDPOINT_URL"] = self.connection.endpoint_url
            env.pop("AWS_SESSION_TOKEN", None)
            env.update(self.connection.subprocess_credentials())
        context.log.info("local Glue runner: %s", " ".join(command))
        return PipesSubprocessClient().run(context=context, command=command, env=env, cwd=project_root)
