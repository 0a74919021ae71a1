"""Where the platform's AWS calls go: one endpoint setting shared by every resource."""

from __future__ import annotations

from typing import Any

from dagster import ConfigurableResource
from dagster_aws.s3 import S3Resource
from pydantic import Field

from etl_platform.aws import EMULATOR_CREDENTIALS, make_client
from etl_platform.config import AwsCredentials, Settings


def _credential_fields(settings: Settings) -> dict[str, str | None]:
    creds = settings.credentials
    if creds is None:
        return {}
    return {"aws_access_key_id": creds.access_key_id, "aws_secret_access_key": creds.secret_access_key,
            "aws_session_token": creds.session_token}


def _credentials(key_id: str | None, secret: str | None, token: str | None) -> dict[str, str] | None:
    if not key_id:
        return None
    return AwsCredentials(key_id, secret or "", token).client_kwargs()


class AwsConnection(ConfigurableResource):
    """Region, account and (for an emulator) endpoint; hands out clients from the one factory."""

    region_name: str = Field(description="AWS region")
    account_id: str = Field(description="AWS account id (ARNs and bucket names carry it)")
    endpoint_url: str | None = Field(default=None, description="Emulator endpoint; unset for real AWS")
    max_attempts: int = Field(default=5, description="botocore standard-mode retry attempts")
    # Explicit identity (Settings.credentials); unset: dummy keys (emulator) or the default chain.
    aws_access_key_id: str | None = Field(default=None, description="Access key id (explicit identity)")
    aws_secret_access_key: str | None = Field(default=None, description="Secret access key (explicit identity)")
    aws_session_token: str | None = Field(default=None, description="Session token of assumed-role keys")

    @classmethod
    def from_settings(cls, settings: Settings) -> "AwsConnection":
        return cls(
            region_name=settings.region,
            account_id=settings.account_id,
            endpoint_url=settings.endpoint_url,
            max_attempts=settings.aws_max_attempts,
            **_credential_fields(settings),
        )

    def client(self, service: str) -> Any:
        return make_client(
            service, region=self.region_name, endpoint_url=self.endpoint_url, max_attempts=self.max_attempts,
            credentials=_credentials(self.aws_access_key_id, self.aws_secret_access_key, self.aws_session_token),
        )

    def subprocess_credentials(self) -> dict[str, str]:
        """Environment variables giving a subprocess (a local Glue run) this connection's
        identity against an emulator: the explicit keys, else the emulator's dummy ones."""
        if self.aws_access_key_id:
            return AwsCredentials(self.aws_access_key_id, self.aws_secret_access_key or "", self.aws_session_token).environ()
        return {"AWS_ACCESS_KEY_ID": EMULATOR_CREDENTIALS["aws_access_key_id"],
                "AWS_SECRET_ACCESS_KEY": EMULATOR_CREDENTIALS["aws_secret_access_key"]}

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region_name}:{self.account_id}:{resource}"


class PlatformS3Resource(S3Resource):
    """dagster-aws's S3Resource, with its client built by the platform's factory so that
    emulators get path-style addressing and presigned URLs are SigV4."""

    def get_client(self) -> Any:
        return make_client(
            "s3", region=self.region_name or "us-east-1", endpoint_url=self.endpoint_url, max_attempts=self.max_attempts,
            credentials=_credentials(self.aws_access_key_id, self.aws_secret_access_key, self.aws_session_token),
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> "PlatformS3Resource":
        return cls(region_name=settings.region, endpoint_url=settings.endpoint_url, max_attempts=settings.aws_max_attempts,
                   **_credential_fields(settings))
