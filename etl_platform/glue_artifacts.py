"""Ship what the Glue jobs run: their scripts and the pure `etl_platform.core` package.

Each Glue job in the template names its script (`Command.ScriptLocation`) and a zip of
`etl_platform.core` (`--extra-py-files`); both are uploaded from this checkout, so the
scripts Glue runs are the files in `glue_jobs/`, unchanged. Used by the local stack on
start and by `etl-platform infra deploy`.
"""

from __future__ import annotations

import io
import logging
import zipfile
from pathlib import Path

from etl_platform.aws import client_for
from etl_platform.config import Settings
from etl_platform.core.s3_uri import split_s3_uri
from etl_platform.infra_template import ResolvedTemplate

log = logging.getLogger(__name__)

CORE_ZIP_NAME = "etl_platform_core.zip"


def build_core_zip(project_root: Path) -> bytes:
    """`etl_platform/__init__.py` and `etl_platform/core/**.py`: importable with no other dependency."""
    buffer = io.BytesIO()
    package = project_root / "etl_platform"
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(package / "__init__.py", "etl_platform/__init__.py")
        for path in sorted((package / "core").rglob("*.py")):
            archive.write(path, path.relative_to(project_root).as_posix())
    return buffer.getvalue()


def upload_glue_scripts(settings: Settings, template: ResolvedTemplate | None = None) -> list[str]:
    """Upload every Glue job's script (when it exists in glue_jobs/) and the core zip."""
    template = template or ResolvedTemplate.from_file(
        settings.infra_template, env=settings.env, account_id=settings.account_id, region=settings.region
    )
    s3 = client_for(settings, "s3")
    core_zip = build_core_zip(settings.project_root)
    uploaded = []
    for job in template.of_type("AWS::Glue::Job"):
        script = settings.glue_jobs_dir / Path(job.properties["Command"]["ScriptLocation"]).name
        if script.exists():
            bucket, key = split_s3_uri(job.properties["Command"]["ScriptLocation"])
            s3.put_object(Bucket=bucket, Key=key, Body=script.read_bytes())
            uploaded.append(f"s3://{bucket}/{key}")
        else:
            log.warning("Glue job %s: script %s is not in this checkout yet", job.name, script.name)
        extra = job.properties.get("DefaultArguments", {}).get("--extra-py-files")
        if extra:
            bucket, key = split_s3_uri(extra)
            s3.put_object(Bucket=bucket, Key=key, Body=core_zip)
            uploaded.append(extra)
    return uploaded
