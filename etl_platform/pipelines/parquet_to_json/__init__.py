"""Pipeline A: Parquet -> JSON conversion jobs (seeds 000, 001)."""

from dagster import Definitions, define_asset_job

from etl_platform.config import Settings
from etl_platform.console_log import CONSOLE_RUN_CONFIG
from etl_platform.pipelines.parquet_to_json.assets import build_parquet_to_json_assets
from etl_platform.pipelines.parquet_to_json.reaper import build_reaper
from etl_platform.pipelines.parquet_to_json.reconciliation import build_parquet_reconciliation
from etl_platform.pipelines.parquet_to_json.sensors import build_parquet_drop_sensor
from etl_platform.pipelines.parquet_to_json.settlement import build_settlement_sensors

JOB_NAME = "parquet_to_json_job"


def parquet_to_json_definitions(settings: Settings) -> Definitions:
    parquet_uploads, parquet_to_json = build_parquet_to_json_assets(settings)
    job = define_asset_job(JOB_NAME, selection=[parquet_to_json], config=CONSOLE_RUN_CONFIG)
    reconciliation, reconciled = build_parquet_reconciliation(settings, job)
    return Definitions(assets=[parquet_uploads, parquet_to_json], jobs=[job], asset_checks=[reconciled],
                       sensors=[build_parquet_drop_sensor(settings, job), *build_settlement_sensors(job), reconciliation,
                                build_reaper(settings, job)])
