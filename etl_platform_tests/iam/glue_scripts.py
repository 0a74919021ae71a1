"""Run a glue_jobs/ script as AWS Glue would, against the IAM-enforced emulator.

The script runs in a subprocess signed as a session of its Glue role (AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN); the orchestrator side runs in a Dagster asset
signed as the runtime role and exchanges context and messages with the script through the
Pipes bucket, with the CLI bootstrap arguments PipesGlueClient passes as job arguments.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field

from dagster import DagsterInstance, asset, materialize, open_pipes_session
from dagster_aws.pipes import PipesS3ContextInjector, PipesS3MessageReader

from etl_platform.aws import client_for
from etl_platform.config import PROJECT_ROOT, Settings


@dataclass
class ScriptRun:
    returncode: int = -1
    output: str = ""
    messages: list = field(default_factory=list)


def glue_env(role: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ETL_", "DAGSTER_PIPES"))}
    env.update(role.credentials.environ())
    env.update(
        AWS_ENDPOINT_URL=role.endpoint_url, AWS_DEFAULT_REGION=role.region, PYTHONPATH=str(PROJECT_ROOT),
        PYSPARK_PYTHON=sys.executable, SPARK_LOCAL_IP="127.0.0.1",
    )
    return env


def run_glue_script(orchestrator: Settings, role: Settings, script: str, arguments: dict[str, str]) -> ScriptRun:
    """Run `glue_jobs/<script>` under `role`, with Pipes through S3 as `orchestrator`."""
    s3 = client_for(orchestrator, "s3")
    bucket = orchestrator.names.pipes_bucket
    run = ScriptRun()

    @asset(name="glue_script")
    def glue_script(context):  # unannotated: this module postpones annotations
        injector = PipesS3ContextInjector(client=s3, bucket=bucket)
        reader = PipesS3MessageReader(client=s3, bucket=bucket, interval=0.2)
        with open_pipes_session(context, context_injector=injector, message_reader=reader) as session:
            command = [sys.executable, str(PROJECT_ROOT / "glue_jobs" / script)]
            for key, value in {**{f"--{k}": v for k, v in arguments.items()}, **session.get_bootstrap_cli_arguments()}.items():
                command += [key, value]
            done = subprocess.run(command, env=glue_env(role), cwd=PROJECT_ROOT, capture_output=True, text=True,
                                  timeout=600)
            run.returncode, run.output = done.returncode, done.stdout + done.stderr
        run.messages = list(session.get_custom_messages())
        yield from session.get_results()

    materialize([glue_script], instance=DagsterInstance.ephemeral(), raise_on_error=False)
    return run
