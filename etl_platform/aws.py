"""The one place boto3 clients are built.

Against an emulator (an `endpoint_url` is set) clients use path-style S3 addressing and
fixed dummy credentials, so no real AWS credential can ever be sent to a local endpoint;
against AWS they use the default credential chain. Explicit credentials
(`Settings.credentials`) replace both: the IAM-enforced emulator only answers keys it
issued, so the platform then signs as the template role it was handed. S3 always signs with SigV4, which
presigned URLs need. Retries use botocore's "standard" mode.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config

from etl_platform.config import Settings

EMULATOR_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}

_cache: dict[tuple, Any] = {}
_lock = threading.Lock()


def make_client(
    service: str,
    *,
    region: str,
    endpoint_url: str | None = None,
    max_attempts: int = 5,
    credentials: dict[str, str] | None = None,
) -> Any:
    """A boto3 client for `service`; cached per argument set (clients are thread-safe)."""
    creds = credentials if credentials is not None else (EMULATOR_CREDENTIALS if endpoint_url else {})
    key = (service, region, endpoint_url, max_attempts, tuple(sorted(creds.items())))
    with _lock:
        client = _cache.get(key)
        if client is None:
            config = Config(
                region_name=region,
                retries={"mode": "standard", "max_attempts": max_attempts},
                signature_version="s3v4" if service == "s3" else None,
                s3={"addressing_style": "path"} if endpoint_url else None,
            )
            # A session per client: boto3's default session is not thread-safe to create from.
            client = boto3.session.Session().client(
                service, endpoint_url=endpoint_url, config=config, **creds
            )
            _cache[key] = client
        return client


def client_for(settings: Settings, service: str) -> Any:
    """A client for `service` in the environment `settings` describe."""
    return make_client(
        service,
        region=settings.region,
        endpoint_url=settings.endpoint_url,
        max_attempts=settings.aws_max_attempts,
        credentials=settings.credentials.client_kwargs() if settings.credentials else None,
    )
