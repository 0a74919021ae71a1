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


def test_the_project_instance_monitors_runs(tmp_path):
    """The daemon's run monitoring is on in the instance `make up` creates, so runs that never
    start or never end are failed and their settlement sensors act."""
    from dagster import DagsterInstance

    from etl_platform.config import Settings
    from etl_platform.local.devstack import prepare_dagster_home

    home = prepare_dagster_home(Settings(state_dir=tmp_path))
    with DagsterInstance.from_config(str(home)) as instance:
        assert instance.run_monitoring_enabled
        assert instance.run_monitoring_start_timeout_seconds == 300
        assert instance.run_monitoring_max_runtime_seconds == 10800
