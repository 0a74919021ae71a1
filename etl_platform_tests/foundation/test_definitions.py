"""The code location loads, and the Dagster CLI validates it."""

import subprocess

from dagster import Definitions

from etl_platform.resources.connection import AwsConnection, PlatformS3Resource
from etl_platform_tests.helpers import PROJECT_ROOT, VENV_BIN, cli_env


def test_definitions_load_with_every_resource():
    from etl_platform.definitions import defs

    assert isinstance(defs, Definitions)
    resources = defs.resources
    assert isinstance(resources["s3"], PlatformS3Resource)
    assert isinstance(resources["aws"], AwsConnection)
    for key in ("jobs_table", "tracking_table", "metrics_table", "file_metadata_table", "file_events_queue", "alerts"):
        assert key in resources
    defs.get_repository_def()  # resolves every definition


def test_dagster_validates_the_workspace(tmp_path):
    env = cli_env(tmp_path, DAGSTER_HOME=str(tmp_path))
    result = subprocess.run(
        [str(VENV_BIN / "dagster"), "definitions", "validate", "-w", str(PROJECT_ROOT / "workspace.yaml")],
        env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All code locations passed validation" in result.stdout + result.stderr
