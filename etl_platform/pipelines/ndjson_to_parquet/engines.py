"""The two engines that turn a manifest's NDJSON files into Snappy Parquet.

`arrow`: the single-node engine of etl_platform.core.ndjson_parquet, in the run's process:
files are downloaded one by one to local disk, converted with bounded memory, and the
parts and rejects uploaded. A file that cannot be downloaded or converted is left out
with its reason (`failed_files`, file key -> why, in the stats both engines return) and
the others convert; the manifest fails only when none converts. `spark`: the Glue job glue_jobs/ndjson_to_parquet.py, on AWS
Glue or, locally, in a subprocess with Spark in local mode. Both write the same paths, so
a retry with either engine overwrites the other's output.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from typing import Any

from botocore.exceptions import ClientError

from etl_platform.core.ingestion.manifests import claimed_content, output_prefix, rejects_key
from etl_platform.core.ingestion.outputs import settle_outputs
from etl_platform.core.ndjson_parquet import SourceFile, convert_manifest, failure_reason, raise_if_all_failed
from etl_platform.core.s3_uri import split_s3_uri
from etl_platform.faults import fault_point

DOWNLOAD_CHUNK = 1024 * 1024


def choose_engine(setting: str, total_bytes: int, arrow_max_bytes: int, override: str | None = None) -> str:
    if override in ("arrow", "spark"):
        return override
    if setting == "spark" and total_bytes > arrow_max_bytes:
        return "spark"
    return "arrow"


def _download(s3: Any, entry: dict, local: str) -> None:
    bucket, key = split_s3_uri(entry["s3_uri"])
    try:  # GetObject, not download_file: only it takes IfMatch
        body = s3.get_object(Bucket=bucket, Key=key, **claimed_content(entry))["Body"]
        with open(local, "wb") as handle:
            shutil.copyfileobj(body, handle, DOWNLOAD_CHUNK)
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("412", "PreconditionFailed"):
            raise RuntimeError(f"{entry['s3_uri']} was overwritten after it was claimed (etag no longer "
                               f"{entry['etag']}); replaying the manifest leaves it out") from exc
        raise


def run_arrow(s3: Any, document: dict, *, output_bucket: str, mode: str, log: Any) -> dict:
    manifest = document["manifest_id"]
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"{manifest}-") as workdir:
        sources, failed = [], {}  # failed: file key -> why
        key_of = {entry["s3_uri"]: entry["file_key"] for entry in document["files"]}
        for index, entry in enumerate(document["files"]):
            local = os.path.join(workdir, "in", f"{index:05d}.ndjson")
            os.makedirs(os.path.dirname(local), exist_ok=True)
            try:
                _download(s3, entry, local)
            except Exception as exc:  # noqa: BLE001 - this file fails, the others convert
                failed[entry["file_key"]] = failure_reason(exc)
                log.warning(f"{manifest}: cannot read {entry['s3_uri']}: {failed[entry['file_key']]}")
                continue
            sources.append(SourceFile(path=local, source_uri=entry["s3_uri"]))
            fault_point("ndjson.convert")  # fault injection: the engine dies with some inputs read
        raise_if_all_failed(len(document["files"]), failed)
        log.info(f"{manifest}: downloaded {len(sources)} files; converting ({mode} mode)")
        out_dir = os.path.join(workdir, "out")
        os.makedirs(out_dir)
        rejects_local = os.path.join(workdir, "rejects.ndjson")
        result = convert_manifest(sources, manifest_id=manifest, output_dir=out_dir, rejects_path=rejects_local, mode=mode)
        failed.update((key_of[uri], why) for uri, why in result.failed.items())
        prefix = output_prefix(manifest)
        written = []
        for path in result.output_files:
            key = prefix + os.path.basename(path)
            s3.upload_file(path, output_bucket, key)
            written.append(key)
        settle_outputs(s3, output_bucket, manifest, written, rejects_local if result.rejected else None)
    duration = time.monotonic() - started
    return {
        "engine": "arrow",
        "files": len(document["files"]) - len(failed),
        "failed_files": failed,
        "bytes_in": result.bytes_in,
        "rows_in": result.rows_in,
        "rows_out": result.rows_out,
        "rejected": result.rejected,
        "output_paths": [f"s3://{output_bucket}/{k}" for k in written],
        "rejects_path": f"s3://{output_bucket}/{rejects_key(manifest)}" if result.rejected else None,
        "schema": result.schema,
        "duration_s": round(duration, 3),
    }
