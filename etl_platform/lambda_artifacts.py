"""Build and ship the validator Lambda's package (infra/template.yaml, NdjsonValidatorFunction).

The package is a zip of this checkout's `etl_platform` sources and the distributions its
handler imports beyond the standard library (`HANDLER_DISTRIBUTIONS`, pinned to the
versions installed here, the ones the tests ran with), installed by pip for the function's
platform: CPython `RUNTIME_PYTHON` on manylinux x86_64, wheels only. About 170 MB unpacked,
under Lambda's 250 MB; the handler imports no pyarrow (etl_platform/lambdas/).

Its key names the SHA-256 of its content (`lambda/ndjson-validator-<hash>.zip`): the stack
takes it as the `ValidatorCodeKey` parameter, so CloudFormation updates the function
exactly when the code changed, and re-deploying unchanged code uploads nothing.
Why by hand: neither CloudFormation (a local path needs `aws cloudformation package`, which
does not install dependencies) nor SAM is a dependency of this project; this is one pip
call and one zip.
"""

from __future__ import annotations

import hashlib
import io
import logging
import subprocess
import sys
import tempfile
import zipfile
from importlib.metadata import version
from pathlib import Path
from typing import Callable

from botocore.exceptions import ClientError

from etl_platform.aws import client_for
from etl_platform.config import Settings

log = logging.getLogger(__name__)

RUNTIME_PYTHON = "3.11"  # the template's Runtime: python3.11
PLATFORM = "manylinux2014_x86_64"  # the template's Architectures: [x86_64]
HANDLER_DISTRIBUTIONS = ("dagster", "dagster-aws", "boto3")  # boto3 pinned: not the runtime's older one
KEY_PREFIX = "lambda/ndjson-validator-"


def requirements() -> list[str]:
    return [f"{name}=={version(name)}" for name in HANDLER_DISTRIBUTIONS]


def pip_install(requirements: list[str], target: Path) -> None:
    """Install `requirements` into `target` for the function's platform, not this machine's."""
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-compile", "--target", str(target),
                    "--platform", PLATFORM, "--implementation", "cp", "--python-version", RUNTIME_PYTHON,
                    "--only-binary=:all:", *requirements], check=True)


def build_validator_package(project_root: Path, target: Path,
                            install: Callable[[list[str], Path], None] = pip_install) -> bytes:
    """Lay the package out in `target` (importable as the function's /var/task) and zip it.
    Entries are sorted and dated 1980-01-01, so the same sources give the same bytes."""
    target.mkdir(parents=True, exist_ok=True)
    install(requirements(), target)
    for path in sorted((project_root / "etl_platform").rglob("*.py")):
        destination = target / path.relative_to(project_root)
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(path.read_bytes())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in target.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            entry = zipfile.ZipInfo(path.relative_to(target).as_posix(), date_time=(1980, 1, 1, 0, 0, 0))
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, path.read_bytes(), zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def package_key(package: bytes) -> str:
    return f"{KEY_PREFIX}{hashlib.sha256(package).hexdigest()[:32]}.zip"


def upload_validator_package(settings: Settings, package: bytes | None = None) -> str:
    """Build (unless given) and upload the package to the NDJSON scripts bucket; its key."""
    if package is None:
        with tempfile.TemporaryDirectory(prefix="ndjson-validator-") as build:
            package = build_validator_package(settings.project_root, Path(build))
    key, bucket = package_key(package), settings.names.ndjson_scripts_bucket
    s3 = client_for(settings, "s3")
    try:
        s3.head_object(Bucket=bucket, Key=key)
        log.info("validator package s3://%s/%s is there already", bucket, key)
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("404", "NoSuchKey", "NotFound"):
            raise
        s3.upload_fileobj(io.BytesIO(package), bucket, key)  # the transfer manager: multipart for ~60 MB
        log.info("uploaded the validator package to s3://%s/%s (%d bytes)", bucket, key, len(package))
    return key
