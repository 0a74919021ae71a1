"""The Dagster pools carry the settings' limits per env: the instance `etl-platform dev`
prepares holds them, they equal each Glue job's MaxConcurrentRuns in the template (what AWS
enforces), the assets that start Glue jobs are in those pools, and `etl-platform concurrency`
applies them to another (deployed) instance."""

import subprocess

import pytest
from dagster import DagsterInstance

from etl_platform.concurrency import applied_pool_limits, glue_pool, pool_limits
from etl_platform.config import Settings
from etl_platform.infra_template import ResolvedTemplate
from etl_platform.local.devstack import prepare_dagster_home
from etl_platform.pipelines.ndjson_to_parquet.assets import build_ndjson_assets
from etl_platform.pipelines.parquet_to_json.assets import build_parquet_to_json_assets
from etl_platform_tests.helpers import PROJECT_ROOT, VENV_BIN, cli_env

EXPECTED = {  # seed 002: max concurrent Glue jobs 1 dev / 30 prod; pipeline A's job: 10
    "dev": {"glue-ndjson-parquet-batch-job-dev": 1, "glue-etl-parquet-to-json-processor": 10},
    "prod": {"glue-ndjson-parquet-batch-job-prod": 30, "glue-etl-parquet-to-json-processor": 10},
}


def _settings(env, tmp_path):
    return Settings.from_env({"ETL_ENV": env, "ETL_STATE_DIR": str(tmp_path / env)})


def _max_concurrent_runs(settings):
    template = ResolvedTemplate.from_file(settings.infra_template, env=settings.env, account_id=settings.account_id,
                                          region=settings.region)
    return {glue_pool(job.properties["Name"]): int(job.properties["ExecutionProperty"]["MaxConcurrentRuns"])
            for job in template.of_type("AWS::Glue::Job")}


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_prepared_instance_holds_the_settings_limits_which_are_the_templates(env, tmp_path):
    settings = _settings(env, tmp_path)
    assert pool_limits(settings) == EXPECTED[env] == _max_concurrent_runs(settings)
    home = prepare_dagster_home(settings)
    with DagsterInstance.from_config(str(home)) as instance:
        assert applied_pool_limits(instance) == EXPECTED[env]
        assert instance.get_concurrency_config().pool_config.pool_granularity.value == "run"


def test_the_assets_that_start_glue_jobs_are_in_their_jobs_pools(tmp_path):
    settings = _settings("prod", tmp_path)
    names = settings.names
    _, _, ingestion = build_ndjson_assets(settings)
    _, conversion = build_parquet_to_json_assets(settings)
    assert ingestion.op.pool == glue_pool(names.ndjson_glue_job)
    assert conversion.op.pool == glue_pool(names.parquet_to_json_glue_job)
    assert set(pool_limits(settings)) == {ingestion.op.pool, conversion.op.pool}


def test_a_changed_setting_is_applied_again_and_the_command_sets_a_deployed_instance(tmp_path):
    dev = _settings("dev", tmp_path)
    home = prepare_dagster_home(dev)
    # the operator's command against that instance, for prod: the limits become prod's
    env = cli_env(tmp_path / "cli", ETL_ENV="prod", DAGSTER_HOME=str(home))
    done = subprocess.run([str(VENV_BIN / "etl-platform"), "concurrency"], env=env, cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "glue-ndjson-parquet-batch-job-prod: 30 (was unlimited)" in done.stdout
    with DagsterInstance.from_config(str(home)) as instance:
        assert applied_pool_limits(instance) == {**EXPECTED["dev"], **EXPECTED["prod"]}
    shown = subprocess.run([str(VENV_BIN / "etl-platform"), "concurrency", "--show"], env=env, cwd=PROJECT_ROOT,
                           capture_output=True, text=True, timeout=120)
    assert "glue-ndjson-parquet-batch-job-prod: 30 (instance: 30)" in shown.stdout, shown.stderr


def test_an_instance_that_applies_pools_per_op_is_refused_with_what_to_add(tmp_path):
    home = tmp_path / "deployed"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = cli_env(tmp_path / "cli", DAGSTER_HOME=str(home))
    done = subprocess.run([str(VENV_BIN / "etl-platform"), "concurrency"], env=env, cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "granularity: run" in done.stderr, done.stdout + done.stderr
