"""The `etl_platform` code location: pipelines and the resources they run with."""

from dagster import Definitions

from etl_platform.config import Settings
from etl_platform.console_log import LOGGERS
from etl_platform.pipelines.csv_profile import csv_profile_definitions
from etl_platform.pipelines.ndjson_to_parquet import ndjson_to_parquet_definitions
from etl_platform.pipelines.ndjson_to_parquet.health import health_definitions
from etl_platform.pipelines.parquet_to_json import parquet_to_json_definitions
from etl_platform.resources import platform_resources

settings = Settings.from_env()

defs = Definitions.merge(
    csv_profile_definitions(settings),
    ndjson_to_parquet_definitions(settings),
    health_definitions(settings),
    parquet_to_json_definitions(settings),
    Definitions(resources=platform_resources(settings), loggers=LOGGERS),
)
