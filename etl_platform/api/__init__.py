"""The REST service of pipeline A: `etl-platform api` serves `create_app(settings)`."""

from etl_platform.api.app import create_app

__all__ = ["create_app"]
