"""Run a Glue job from an asset: on AWS through dagster-aws's PipesGlueClient, locally by
running the same script from glue_jobs/ in a subprocess under Dagster Pipes.

Moto accepts StartJobRun but runs nothing, so the local runner executes the script itself,
with the emulator's endpoint in AWS_ENDPOINT_URL (boto3 honours it). It first asks the
emulator's Glue for the run (StartJobRun with the job's arguments), so what AWS refuses is
refused locally too: a job not deployed, glue:StartJobRun denied (IAM mode), or the job's
MaxConcurrentRuns reached. moto ends a run as soon as it is read, so locally the last
happens only when a test holds a run RUNNING (moto's state manager).

Glue start throttling (seed 003: "Retry ConcurrentRuns x3, wait 60 s, backoff 2x"). A
refused StartJobRun raises out of the step as Dagster's `RetryRequested`
(`glue_start_retry`): Dagster re-executes the step in the same run (same run id) after
60, 120, 240 s (`glue_start_retries`, `glue_start_retry_delay_seconds`,
`glue_start_retry_backoff`); nothing sleeps inside a step, and the wait shows in the run as
STEP_UP_FOR_RETRY. Why not a `RetryPolicy` on the asset: Dagster applies an asset's policy
to every exception and to interrupts too ("respect retry policy when interrupts occur"), so
a cancelled run or a conversion error would be retried for up to 7 minutes, where the
platform settles those at once (failure recorded, run-failure sensor, reapers). The Glue
pool (etl_platform/concurrency.py) keeps Dagster itself from asking for more runs than the
job allows, so a refusal means something outside Dagster holds the job's runs.

Which Python runs the script locally (`runtime_pythons`):
- the job's Glue runtime venv (etl_platform/glue_runtimes.py: the job's Python version, its
  Glue release's pyspark and only the modules the job installs) when it is given or, from
  `from_settings`, when it has been built (`python -m etl_platform.glue_runtimes build`).
  etl_platform.core then comes from the same zip Glue gets through --extra-py-files, so a
  module missing from the zip or a library the job does not install fails here as on Glue;
- otherwise this process's Python with the project on PYTHONPATH, and a warning: `make up`
  never builds a runtime itself (about 25 s each), so its first start stays fast.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from dagster import ConfigurableResource, PipesClientCompletedInvocation, PipesSubprocessClient, RetryRequested
from dagster_aws.pipes import PipesGlueClient, PipesS3ContextInjector, PipesS3MessageReader
from pydantic import Field

from etl_platform.config import IngestionSettings, Settings
from etl_platform.glue_artifacts import CORE_ZIP_NAME, build_core_zip
from etl_platform.glue_runtimes import CACHE_ROOT, UnknownRuntime, built_python, runtimes
from etl_platform.infra_template import ResolvedTemplate
from etl_platform.resources.connection import AwsConnection
from etl_platform.resources.pipes_messages import CompleteLineMessageReader


class GlueJobRunner(ConfigurableResource):
    connection: AwsConnection  # the platform's identity: it starts the job runs
    script_connection: AwsConnection | None = Field(
        default=None, description="Local runs: the identity the script runs under, as Glue runs it under the job's "
                                  "role (None: `connection`)")
    local: bool = Field(description="Run glue_jobs/ scripts in a subprocess instead of on AWS Glue")
    glue_jobs_dir: str = Field(description="Folder of the Glue scripts (local runs)")
    pipes_bucket: str = Field(description="Bucket for Pipes context and messages on AWS")
    runtime_pythons: dict[str, str] = Field(
        default={}, description="Local runs: Glue job name -> interpreter of its runtime venv ('' if not built)")

    @classmethod
    def from_settings(cls, settings: Settings, connection: AwsConnection) -> "GlueJobRunner":
        return cls(
            connection=connection,
            local=settings.is_local,
            glue_jobs_dir=str(settings.glue_jobs_dir),
            pipes_bucket=settings.names.pipes_bucket,
            runtime_pythons=built_runtime_pythons(settings) if settings.is_local else {},
        )

    def run(self, context: Any, *, job_name: str, script: str, arguments: dict[str, str],
            local_arguments: dict[str, str] | None = None) -> PipesClientCompletedInvocation:
        """Run `script` (a file name in glue_jobs/) as Glue job `job_name` with `--key value`
        arguments; `local_arguments` are added only when the script runs locally. A start Glue
        refuses (ConcurrentRunsExceededException, ...) raises its ClientError out of the step."""
        if self.local:
            # the emulator's Glue decides whether this run may start, as AWS Glue would
            self.connection.client("glue").start_job_run(
                JobName=job_name, Arguments={f"--{k}": v for k, v in arguments.items()})
            return self._run_local(context, job_name, script, {**arguments, **(local_arguments or {})})
        client = PipesGlueClient(
            client=self.connection.client("glue"),
            context_injector=PipesS3ContextInjector(client=self.connection.client("s3"), bucket=self.pipes_bucket),
            message_reader=PipesS3MessageReader(client=self.connection.client("s3"), bucket=self.pipes_bucket),
        )
        params = {"JobName": job_name, "Arguments": {f"--{k}": v for k, v in arguments.items()}}
        return client.run(context=context, start_job_run_params=params)

    def _run_local(self, context: Any, job_name: str, script: str, arguments: dict[str, str]):
        path = Path(self.glue_jobs_dir) / script
        project_root = Path(self.glue_jobs_dir).resolve().parent
        python = self.runtime_pythons.get(job_name) or ""
        if not python and job_name in self.runtime_pythons:
            context.log.warning(
                "Glue job %s: its Glue runtime is not built, so the script runs on this venv's Python %s "
                "(build it: python -m etl_platform.glue_runtimes build)", job_name, sys.version.split()[0])
        identity = self.script_connection or self.connection
        command = [python or sys.executable, str(path)]
        for key, value in arguments.items():
            command += [f"--{key}", value]
        env = {
            **os.environ,
            "AWS_DEFAULT_REGION": identity.region_name,
            "PYSPARK_PYTHON": command[0],  # Spark's Python workers: the script's interpreter
            "SPARK_LOCAL_IP": "127.0.0.1",
        }
        if identity.endpoint_url:
            env["AWS_ENDPOINT_URL"] = identity.endpoint_url
            env.pop("AWS_SESSION_TOKEN", None)
            env.update(identity.subprocess_credentials())
        with tempfile.TemporaryDirectory(prefix="glue-local-") as scratch:
            if python:
                # As on Glue: etl_platform.core from the --extra-py-files zip, nothing else of the
                # project, and pyspark from the runtime venv (not a SPARK_HOME of this shell).
                core_zip = Path(scratch) / CORE_ZIP_NAME
                core_zip.write_bytes(build_core_zip(project_root))
                env["PYTHONPATH"] = str(core_zip)
                env.pop("SPARK_HOME", None)
            else:
                env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(project_root), os.environ.get("PYTHONPATH")]))
            context.log.info("local Glue runner: %s", " ".join(command))
            return PipesSubprocessClient(message_reader=CompleteLineMessageReader()).run(
                context=context, command=command, env=env, cwd=str(project_root))


def glue_start_retry(exc: BaseException, retry_number: int, ingestion: IngestionSettings) -> RetryRequested | None:
    """Dagster's request to run the step again if `exc` is Glue refusing to start a run because
    the job's MaxConcurrentRuns is reached and retries remain; None otherwise."""
    throttled = isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") == "ConcurrentRunsExceededException"
    if not throttled or retry_number >= ingestion.glue_start_retries:
        return None
    wait = ingestion.glue_start_retry_delay_seconds * ingestion.glue_start_retry_backoff ** retry_number
    return RetryRequested(max_retries=ingestion.glue_start_retries, seconds_to_wait=wait)


def built_runtime_pythons(settings: Settings, root: Path = CACHE_ROOT) -> dict[str, str]:
    """Job name -> interpreter of its Glue runtime venv if built, else ''; {} if the template
    names a runtime this platform does not know (the job then runs on this venv, as before)."""
    template = ResolvedTemplate.from_file(settings.infra_template, env=settings.env,
                                          account_id=settings.account_id, region=settings.region)
    try:
        declared = runtimes(template)
    except UnknownRuntime:
        return {}
    return {name: str(built_python(runtime, root) or "") for name, runtime in declared.items()}
