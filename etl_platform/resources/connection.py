"""Where the platform's AWS calls go: one endpoint setting shared by every resource."""

from __future__ import annotations

from typing import Any

from dagster import ConfigurableResource
from dagster_aws.s3 import S3Resource
from pydantic import Field

from etl_platform.aws import make_client
from etl_platform.config import Settings


class AwsConnection(ConfigurableResource):
    """Region, account and (for an emulator) endpoint; hands out clients from the one factory."""

    region_name: str = Field(description="AWS region")
    account_id: str = Field(description="AWS account id (ARNs and bucket names carry it)")
    endpoint_url: str | None = Field(default=None, description="Emulator endpoint; unset for real AWS")
    max_attempts: int = Field(default=5, description="botocore standard-mode retry attempts")

    @classmethod
    def from_settings(cls, settings: Settings) -> "AwsConnection":
        return cls(
            region_name=settings.region,
            account_id=settings.account_id,
            endpoint_url=settings.endpoint_url,
            max_attempts=settings.aws_max_attempts,
        )

    def client(self, service: str) -> Any:
        return make_client(
            service, region=self.region_name, endpoint_url=self.endpoint_url, max_attempts=self.max_attempts
        )

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region_name}:{self.account_id}:{resource}"


class PlatformS3Resource(S3Resource):
    """dagster-aws's S3Resource, with its client built by the platform's factory so that
    emulators get path-style addressing and presigned URLs are SigV4."""

    def get_client(self) -> Any:
        return make_client(
            "s3", region=self.region_name or "us-east-1", endpoint_url=self.endpoint_url, max_attempts=self.max_attempts
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> "PlatformS3Resource":
        return cls(region_name=settings.region, endpoint_url=settings.endpoint_url, max_attempts=settings.aws_max_attempts)
