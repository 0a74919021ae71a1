"""Pipeline C: CSV profiling on upload (seed 004)."""

from dagster import Definitions, define_asset_job

from etl_platform.config import Settings
from etl_platform.console_log import CONSOLE_RUN_CONFIG
from etl_platform.pipelines.csv_profile.assets import build_csv_profile_assets
from etl_platform.pipelines.csv_profile.pruning import build_partition_pruner
from etl_platform.pipelines.csv_profile.reaper import build_reaper
from etl_platform.pipelines.csv_profile.reconciliation import build_csv_reconciliation
from etl_platform.pipelines.csv_profile.sensors import build_csv_upload_sensor
from etl_platform.pipelines.csv_profile.settlement import build_settlement_sensors


def csv_profile_definitions(settings: Settings) -> Definitions:
    csv_uploads, csv_profile = build_csv_profile_assets(settings)
    job = define_asset_job("csv_profile_job", selection=[csv_profile], config=CONSOLE_RUN_CONFIG)
    reconciliation, reconciled = build_csv_reconciliation(settings, job)
    return Definitions(assets=[csv_uploads, csv_profile], jobs=[job], asset_checks=[reconciled],
                       sensors=[build_csv_upload_sensor(settings, job), *build_settlement_sensors(settings, job),
                                reconciliation, build_reaper(settings, job), build_partition_pruner(settings, job)])
