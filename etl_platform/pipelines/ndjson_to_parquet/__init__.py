"""Pipeline B: NDJSON -> Parquet ingestion with exactly-once batching (seeds 002, 003)."""

from dagster import Definitions, define_asset_job

from etl_platform.config import Settings
from etl_platform.console_log import CONSOLE_RUN_CONFIG
from etl_platform.pipelines.ndjson_to_parquet.assets import build_ndjson_assets
from etl_platform.pipelines.ndjson_to_parquet.flush import build_flush_job
from etl_platform.pipelines.ndjson_to_parquet.reaper import build_recovery_sensors
from etl_platform.pipelines.ndjson_to_parquet.reconciliation import build_reconciliation
from etl_platform.pipelines.ndjson_to_parquet.sensors import build_file_events_sensor
from etl_platform.pipelines.ndjson_to_parquet.settlement import build_settlement_sensors
from etl_platform.pipelines.ndjson_to_parquet.validation import build_validation_job

JOB_NAME = "ndjson_to_parquet_job"


def ndjson_to_parquet_definitions(settings: Settings) -> Definitions:
    landing, ndjson_manifest, merged_parquet = build_ndjson_assets(settings)
    job = define_asset_job(JOB_NAME, selection=[ndjson_manifest, merged_parquet], config=CONSOLE_RUN_CONFIG,
                           description="Claim a manifest's files, convert them to Parquet, record the outcome")
    validation_job = build_validation_job(settings)
    sensors, checks, jobs, schedules = build_reconciliation(settings)
    return Definitions(assets=[landing, ndjson_manifest, merged_parquet], asset_checks=checks,
                       jobs=[job, validation_job, build_flush_job(settings), *jobs], schedules=schedules,
                       sensors=[build_file_events_sensor(settings, job, validation_job),
                                *build_settlement_sensors(settings, job),
                                *build_recovery_sensors(settings, job), *sensors])
