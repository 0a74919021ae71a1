"""A retry leaves exactly its own parts and rejects, whichever engine made the earlier try."""

from etl_platform.aws import client_for
from etl_platform.core.ingestion.manifests import output_prefix, rejects_key
from etl_platform.core.ingestion.outputs import settle_outputs
from etl_platform.core.ndjson_parquet.convert import output_file_name

MANIFEST = "batch-0001-20260601-101500"


def test_retry_removes_parts_and_rejects_it_did_not_write(aws, tmp_path):
    s3 = client_for(aws, "s3")
    bucket = aws.names.parquet_output_bucket
    parts = [output_prefix(MANIFEST) + output_file_name(MANIFEST, n) for n in range(3)]
    other = output_prefix(MANIFEST) + output_file_name("batch-0002-20260601-101500", 0)
    for key in [*parts, other, rejects_key(MANIFEST)]:
        s3.put_object(Bucket=bucket, Key=key, Body=b"earlier attempt")

    # the retry wrote one part and rejected nothing
    assert settle_outputs(s3, bucket, MANIFEST, parts[:1], None) == parts[1:]
    left = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert left == sorted([parts[0], other])  # another manifest's part is not touched

    # the next retry rejected lines: its rejects file is published
    rejects = tmp_path / "rejects.ndjson"
    rejects.write_bytes(b'{"source_file": "s3://b/k", "line": 3}\n')
    assert settle_outputs(s3, bucket, MANIFEST, parts[:1], str(rejects)) == []
    assert s3.get_object(Bucket=bucket, Key=rejects_key(MANIFEST))["Body"].read() == rejects.read_bytes()
