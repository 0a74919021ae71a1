"""`eval "$(etl-platform local env)"` is enough for the AWS CLI and the Dagster CLI, as the README says.

A shell evaluates the printed exports, lists buckets and tables with the AWS CLI (no
`--endpoint-url`: the emulator is on a random port), then runs the real `dagster asset materialize -m
etl_platform.definitions` on pipeline C's `csv_profile` for an uploaded CSV, against this
worker's emulator. The partition is added to the instance of the exported DAGSTER_HOME
(as the sensor does under `make up`), and the run must land in that instance: without
DAGSTER_HOME the CLI runs on a throwaway instance that knows no partition.
"""

import json
import os
import subprocess

import pytest
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from etl_platform_tests.helpers import PROJECT_ROOT, VENV_BIN, cli_env

pytestmark = pytest.mark.e2e

CSV = b"name,age\nAda,36\nGrace,45\n"
FILE_NAME = "local env sales.csv"   # a space: the partition key goes through the shell quoted

SCRIPT = f"""
set -euo pipefail
eval "$(etl-platform local env)"
aws s3 ls                  # as the README writes them: the endpoint comes from `local env`, not a fixed port
aws dynamodb list-tables
python -c 'from dagster import DagsterInstance; DagsterInstance.get().add_dynamic_partitions("csv_files", ["{FILE_NAME}"])'
dagster asset materialize -m etl_platform.definitions --select csv_profile --partition "{FILE_NAME}"
"""


def test_dagster_asset_materialize_after_local_env(aws, tmp_path):
    names = aws.names
    from etl_platform.aws import client_for

    s3 = client_for(aws, "s3")
    s3.put_object(Bucket=names.csv_data_bucket, Key=f"uploads/{FILE_NAME}", Body=CSV)

    state_dir = tmp_path / "state"   # a fresh project state folder: no DAGSTER_HOME exists yet
    env = cli_env(state_dir, ETL_ENDPOINT_URL=aws.endpoint_url, PATH=f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}")
    env.pop("DAGSTER_HOME", None)
    printed = subprocess.run([str(VENV_BIN / "etl-platform"), "local", "env"], env=env, cwd=PROJECT_ROOT,
                             capture_output=True, text=True, timeout=120)
    assert f"export DAGSTER_HOME={state_dir.resolve() / 'dagster'}" in printed.stdout.splitlines()

    result = subprocess.run(["bash", "-c", SCRIPT], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert names.csv_data_bucket in result.stdout and names.jobs_table in result.stdout  # this emulator's, on its port

    summary = json.loads(s3.get_object(Bucket=names.csv_data_bucket, Key="processed/local env sales_summary.json")["Body"].read())
    assert summary["row_count"] == 2
    with DagsterInstance.from_config(str(state_dir / "dagster")) as instance:
        runs = instance.get_runs(RunsFilter(tags={"dagster/partition": FILE_NAME}))
        assert [run.status for run in runs] == [DagsterRunStatus.SUCCESS]
