"""Each Glue script, end to end, under the credentials of the role the template gives it.

The IAM-enforced emulator refuses whatever the role's policy does not allow, so a
permission missing from infra/template.yaml fails here (moto's normal mode checks none).
"""

from __future__ import annotations

import io
import json
import os
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from botocore.exceptions import ClientError

from etl_platform.aws import client_for
from etl_platform.core.ingestion import manifests
from etl_platform.local.iam_session import as_role
from etl_platform_tests.iam.glue_scripts import run_glue_script

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from glue_jobs import ndjson_to_parquet as ndjson_job  # noqa: E402
from glue_jobs import parquet_to_json as parquet_job  # noqa: E402

pytestmark = pytest.mark.e2e


def _parquet(rows: int) -> bytes:
    table = pa.table({"id": list(range(rows)), "name": [f"n{i}" for i in range(rows)]})
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def test_parquet_to_json_runs_under_its_role(admin):
    names = admin.names
    key = "uploads/job-1/data.parquet"
    version = client_for(admin, "s3").put_object(Bucket=names.jobs_input_bucket, Key=key, Body=_parquet(500))["VersionId"]
    run = run_glue_script(
        as_role(admin, "DagsterRuntimeRole"), as_role(admin, "ParquetToJsonGlueRole", "glue-parquet-to-json"),
        "parquet_to_json.py",
        {"input_path": f"s3://{names.jobs_input_bucket}/{key}", "input_version": version,  # as the asset passes it
         "output_path": f"s3://{names.jobs_output_bucket}/output/job-1/data.ndjson"},
    )
    assert run.returncode == 0, run.output
    [outcome] = run.messages  # arrived through the Pipes bucket, written by the Glue role
    assert outcome["status"] == "SUCCEEDED" and outcome["rows"] == 500, outcome
    body = client_for(admin, "s3").get_object(Bucket=names.jobs_output_bucket, Key="output/job-1/data.ndjson")["Body"].read()
    assert len(body.splitlines()) == 500


def test_parquet_to_json_aborts_a_failed_output_under_its_role(admin):
    """A conversion failing mid-way aborts its multipart upload: no orphaned parts."""
    bucket = admin.names.jobs_output_bucket
    glue_s3 = client_for(as_role(admin, "ParquetToJsonGlueRole"), "s3")
    with pytest.raises(RuntimeError, match="mid-way"):
        with parquet_job.S3MultipartSink(glue_s3, bucket, "output/job-2/data.ndjson", part_size=parquet_job.MIN_PART_SIZE) as sink:
            sink.write(b"x" * parquet_job.MIN_PART_SIZE)  # the first part goes up
            sink._parts[-1].result()
            raise RuntimeError("conversion failed mid-way")
    assert client_for(admin, "s3").list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_parquet_to_json_role_reads_no_other_bucket(admin):
    """The guard itself: the role is refused what its policy does not name."""
    names = admin.names
    client_for(admin, "s3").put_object(Bucket=names.csv_data_bucket, Key="uploads/a.csv", Body=b"a\n1\n")
    glue = client_for(as_role(admin, "ParquetToJsonGlueRole"), "s3")
    with pytest.raises(ClientError) as refused:
        glue.get_object(Bucket=names.csv_data_bucket, Key="uploads/a.csv")
    assert refused.value.response["Error"]["Code"] == "AccessDenied"


def _land(admin, date: str, files: dict[str, list[str]]) -> dict:
    """Landed NDJSON files and the manifest that claims them, as pipeline B writes them."""
    names, s3 = admin.names, client_for(admin, "s3")
    entries = []
    for name, lines in files.items():
        key = f"landing/ndjson/{date}/{name}"
        put = s3.put_object(Bucket=names.ndjson_input_bucket, Key=key, Body=("\n".join(lines) + "\n").encode())
        entries.append({"s3_uri": f"s3://{names.ndjson_input_bucket}/{key}", "file_key": key, "size": 0,
                        "etag": put["ETag"].strip('"'), "version_id": put["VersionId"]})
    manifest_id = f"batch-0001-{date.replace('-', '')}-000000"
    document = {"manifest_id": manifest_id, "date_prefix": date, "files": entries}
    s3.put_object(Bucket=names.manifest_bucket, Key=manifests.manifest_key(manifest_id), Body=json.dumps(document).encode())
    return document


def test_ndjson_to_parquet_spark_job_runs_under_its_role(admin):
    """Spark really runs (local mode); it stages parts on local disk (no S3 connector here)."""
    names = admin.names
    document = _land(admin, "2026-05-01", {
        "a.ndjson": [json.dumps({"id": i, "v": f"a{i}"}) for i in range(20)] + ["{not json"],
        "b.ndjson": [json.dumps({"id": 100 + i, "w": i}) for i in range(10)],
    })
    manifest_id = document["manifest_id"]
    run = run_glue_script(
        as_role(admin, "DagsterRuntimeRole"), as_role(admin, "NdjsonGlueRole", "glue-ndjson-to-parquet"),
        "ndjson_to_parquet.py",
        {"manifest_path": f"s3://{names.manifest_bucket}/{manifests.manifest_key(manifest_id)}",
         "output_bucket": names.parquet_output_bucket, "stage_locally": "true", "spark_master": "local[2]"},
    )
    assert run.returncode == 0, run.output[-4000:]
    [stats] = run.messages
    assert (stats["rows_in"], stats["rows_out"], stats["rejected"]) == (31, 30, 1), stats
    listing = client_for(admin, "s3").list_objects_v2(Bucket=names.parquet_output_bucket)["Contents"]
    keys = {o["Key"] for o in listing}
    assert manifests.rejects_key(manifest_id) in keys
    assert any(k.startswith(manifests.output_prefix(manifest_id)) for k in keys)


def test_ndjson_publish_from_s3_staging_runs_under_its_role(admin):
    """On AWS Spark writes its parts under tmp/ of the output bucket; publish_parts lists them,
    reads its footer (row count, ranged GETs), copies it to its final name and deletes tmp/. The role
    writes the parts itself here, as Spark's writer would."""
    names = admin.names
    manifest_id = "batch-0001-20260501-000000"
    glue_s3 = client_for(as_role(admin, "NdjsonGlueRole"), "s3")
    tmp = f"tmp/{manifest_id}/"
    for part, rows in enumerate((3, 4)):
        glue_s3.put_object(Bucket=names.parquet_output_bucket, Key=f"{tmp}part-{part:05d}.snappy.parquet", Body=_parquet(rows))
    glue_s3.put_object(Bucket=names.parquet_output_bucket, Key=f"{tmp}_SUCCESS", Body=b"")

    rows, written = ndjson_job.publish_parts(glue_s3, f"s3://{names.parquet_output_bucket}/{tmp}",
                                             names.parquet_output_bucket, manifests.output_prefix(manifest_id),
                                             manifest_id, stage_locally=False)
    assert rows == 7 and len(written) == 2
    keys = {o["Key"] for o in client_for(admin, "s3").list_objects_v2(Bucket=names.parquet_output_bucket)["Contents"]}
    assert keys == set(written)  # tmp/ is gone
