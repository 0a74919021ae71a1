"""The `etl_platform` code location: pipelines and the resources they run with."""

from dagster import Definitions

from etl_platform.config import Settings
from etl_platform.resources import platform_resources

settings = Settings.from_env()

defs = Definitions(resources=platform_resources(settings))
