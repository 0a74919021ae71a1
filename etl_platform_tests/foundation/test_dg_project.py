"""The project is a `dg` project: `dg check defs` and `dg list defs` load this code location.

`[tool.dg]` in pyproject.toml names the root module and the definitions module. The check
is run as the command a developer types, from the project root; a definitions module that
cannot load (an invalid setting makes `Settings.from_env()` raise) must make it fail, so a
pass means dg really imported `etl_platform.definitions`.
"""

import json
import subprocess

import pytest

from etl_platform_tests.helpers import PROJECT_ROOT, VENV_BIN, cli_env

pytestmark = pytest.mark.e2e


def _dg(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess:
    home = tmp_path / "dagster"
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return subprocess.run([str(VENV_BIN / "dg"), *args], env=cli_env(tmp_path, DAGSTER_HOME=str(home), **env),
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)


def test_dg_check_defs_passes_and_lists_the_pipelines(tmp_path):
    checked = _dg(tmp_path, "check", "defs")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "All definitions loaded successfully" in checked.stdout + checked.stderr

    listed = _dg(tmp_path, "list", "defs", "--json")
    assert listed.returncode == 0, listed.stderr
    defs = json.loads(listed.stdout)
    assert {"csv_profile", "parquet_to_json", "ndjson_manifest", "merged_parquet"} <= {a["asset_key"] for a in defs["assets"]}
    assert {"csv_upload_sensor", "ndjson_file_events_sensor", "parquet_drop_sensor"} <= {s["name"] for s in defs["sensors"]}


def test_dg_check_defs_fails_when_the_definitions_do_not_load(tmp_path):
    broken = _dg(tmp_path, "check", "defs", ETL_ENV="nonexistent")
    assert broken.returncode != 0
    assert "ETL_ENV must be one of" in broken.stdout + broken.stderr
