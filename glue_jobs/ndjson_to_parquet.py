"""Glue 5.1 PySpark job (Spark 3.5, Python 3.11): the NDJSON files of one manifest -> Snappy
Parquet (pipeline B). Locally it runs on pyspark 4.x in the project venv or on a venv of its
Glue runtime (etl_platform/glue_runtimes.py), so it keeps to what both Spark versions offer.

Arguments (Glue style, `--name value`):
    --manifest_path  s3://<manifest bucket>/manifests/YYYY-MM-DD/<manifest id>.json
    --output_bucket  bucket of output/merged-parquet-YYYY-MM-DD/ and rejects/YYYY-MM-DD/
    --mode           string (default: every column as text, the seed's cast) | typed
    --stage_locally  true when Spark cannot reach S3 (the local runner against an
                     emulator): Parquet is written to local disk and uploaded with boto3
    --spark_master   only outside Glue, e.g. local[2]

Spark distributes the files over its executors; each executor parses its files with the
same pure functions as the single-node engine (etl_platform.core.ndjson_parquet, shipped
with --extra-py-files), so both engines give the same rows and values for a manifest.
Pass 1 collects each file's schema, line count and rejected lines; the driver unifies the
schemas; pass 2 converts the files to Arrow batches of the final schema (mapInArrow) and
Spark writes them. A file that fails in pass 1 (an S3 read error, content the parser
refuses) is left out of pass 2 and reported in `failed_files` (file key -> why) of the
Pipes report; the others convert, and the job fails only when none does. Parts are renamed to `<manifest id>-part-NNNNN.snappy.parquet`, so a
retry overwrites; stale parts of an earlier attempt are deleted. Input files are read
with boto3 inside the executors (no Hadoop S3 connector needed).
"""

import argparse
import io
import json
import math
import os
import shutil
import sys
import tempfile
import time

import boto3
import pyarrow as pa

from etl_platform.core.ingestion import manifests
from etl_platform.core.ingestion.outputs import settle_outputs
from etl_platform.core.ndjson_parquet import failure_reason, raise_if_all_failed
from etl_platform.core.ndjson_parquet import schema as sch
from etl_platform.core.ndjson_parquet.convert import PROVENANCE_COLUMNS, _columns, _combine, output_file_name, output_names
from etl_platform.core.ndjson_parquet.reader import ORIGINAL_ROW, Parser, parse_file
from etl_platform.core.ndjson_parquet.rejects import RejectWriter
from etl_platform.core.pipes_session import open_pipes
from etl_platform.core.s3_uri import split_s3_uri

PARQUET_BYTES_PER_INPUT_BYTE = 0.25  # NDJSON -> Snappy Parquet shrinks about 4x: ~128 MB parts


def parse_args(argv):
    names = ["manifest_path", "output_bucket"]
    try:
        from awsglue.utils import getResolvedOptions  # present on AWS Glue only

        options = getResolvedOptions(argv, names)
        for optional, default in (("mode", "string"), ("stage_locally", "false")):
            options[optional] = getResolvedOptions(argv, [optional])[optional] if f"--{optional}" in argv else default
        options["spark_master"] = None
        return options
    except ImportError:
        parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        parser.add_argument("--manifest_path", required=True)
        parser.add_argument("--output_bucket", required=True)
        parser.add_argument("--mode", default="string", choices=["string", "typed"])
        parser.add_argument("--stage_locally", default="false")
        parser.add_argument("--spark_master")
        return vars(parser.parse_known_args(argv[1:])[0])  # ignores the Pipes bootstrap arguments


def read_source(uri, etag=None, version_id=None):
    """The file's bytes: exactly the claimed version (or, without one, the claimed ETag)."""
    if not uri.startswith("s3://"):  # a local path (benchmarks, tests)
        with open(uri, "rb") as handle:
            return handle.read()
    bucket, key = split_s3_uri(uri)
    claimed = manifests.claimed_content({"etag": etag, "version_id": version_id})
    return boto3.client("s3").get_object(Bucket=bucket, Key=key, **claimed)["Body"].read()


def parse_source(uri, mode, etag=None, version_id=None):
    """One file through the single-node engine's parser: (table or None, rows_in, rejects)."""
    data = read_source(uri, etag, version_id)
    parsed = parse_file(data, Parser(), mode)
    return _combine(parsed.tables, mode), parsed.rows_in, parsed.rejects, len(data)


def schema_pass(rows, mode):
    """Executor side of pass 1: per file, its schema, counts and rejected lines, and the
    reason it failed ("" if it did not). A file that raises (an S3 read error, content the
    parser refuses) is reported, not raised, so one file cannot fail the Spark job."""
    for row in rows:
        try:
            table, rows_in, rejects, size = parse_source(row["uri"], mode, row["etag"], row["version_id"])
        except Exception as exc:  # noqa: BLE001 - this file fails, the others convert
            yield (row["index"], row["uri"], b"", 0, 0, [], failure_reason(exc))
            continue
        schema = b""
        if table is not None:
            fields = [f for f in table.schema if f.name != ORIGINAL_ROW]
            schema = pa.schema(fields).serialize().to_pybytes()
        yield (row["index"], row["uri"], schema, rows_in, size, [(n, e, raw) for n, e, raw in rejects], "")


def final_schema(schemas, mode):
    fields = {}
    for blob in schemas:
        if blob:
            sch.unify_fields(fields, pa.ipc.read_schema(pa.py_buffer(blob)))
    final = {n: (sch.STRING if mode == "string" else sch.finalize_type(t)) for n, t in fields.items()}
    out_names = output_names(final)
    order = sorted(final, key=lambda n: out_names[n])
    arrow_schema = pa.schema([pa.field(out_names[n], final[n]) for n in order]
                             + [pa.field(c, sch.STRING) for c in PROVENANCE_COLUMNS])
    return final, order, arrow_schema


def convert_pass(mode, final, order, arrow_schema, manifest_id):
    """Executor side of pass 2: each file's rows as Arrow batches of the manifest schema."""
    def convert(batches):
        for batch in batches:
            for uri, etag, version_id in zip(*(batch.column(c).to_pylist() for c in ("uri", "etag", "version_id"))):
                table, _, _, _ = parse_source(uri, mode, etag, version_id)
                if table is None:
                    continue
                n = table.num_rows
                columns = _columns(table, order, final)
                columns += [pa.repeat(pa.scalar(uri, sch.STRING), n), pa.repeat(pa.scalar(manifest_id, sch.STRING), n)]
                yield from pa.Table.from_arrays(columns, schema=arrow_schema).to_batches()
    return convert


def spark_convert(spark, uris, manifest_id, mode, target, rejects_path, log=print, etags=None, version_ids=None):
    """Convert `uris` (s3:// or local paths; with `version_ids` or `etags`, exactly that
    content of each) to Parquet under `target` and the rejects file.
    A file that failed in pass 1 is left out of pass 2 (a file that fails only when pass 2
    reads it again fails the job: the ledger check would not hold).
    Returns (rows_in, bytes_in, rejected, arrow schema, {uri: why} of the failed files)."""
    from pyspark.sql.pandas.types import from_arrow_schema

    etags = etags or [None] * len(uris)
    version_ids = version_ids or [None] * len(uris)
    files = spark.createDataFrame([(i, uri, etag, version) for i, (uri, etag, version)
                                   in enumerate(zip(uris, etags, version_ids))],
                                  "index INT, uri STRING, etag STRING, version_id STRING")
    files = files.repartition(max(1, min(len(uris), spark.sparkContext.defaultParallelism * 4)))
    pass1 = sorted(files.rdd.map(lambda r: r.asDict()).mapPartitions(lambda rows: schema_pass(rows, mode)).collect())
    failed = {p[1]: p[6] for p in pass1 if p[6]}
    if failed:
        files = files.where(~files.uri.isin(sorted(failed)))
    final, order, arrow_schema = final_schema([p[2] for p in pass1], mode)
    rows_in = sum(p[3] for p in pass1)
    bytes_in = sum(p[4] for p in pass1)
    log(f"{manifest_id}: pass 1 over {len(uris)} files, {rows_in} lines, {len(arrow_schema)} columns")
    rejects = RejectWriter(rejects_path)
    for _, uri, _, _, _, rejected, _ in pass1:
        for line_number, error, raw in rejected:
            rejects.write(uri, line_number, error, raw)
    rejects.close()
    if len(arrow_schema) > len(PROVENANCE_COLUMNS) and rows_in > rejects.count:
        parts = max(1, math.ceil(bytes_in * PARQUET_BYTES_PER_INPUT_BYTE / (128 * 1024 * 1024)))
        frame = files.mapInArrow(convert_pass(mode, final, order, arrow_schema, manifest_id),
                                 from_arrow_schema(arrow_schema)).coalesce(parts)
        frame.write.mode("overwrite").option("compression", "snappy").parquet(target)
    return rows_in, bytes_in, rejects.count, arrow_schema, failed


def run(spark, s3, manifest, output_bucket, mode, stage_locally, log):
    started = time.time()
    manifest_id = manifest["manifest_id"]
    uris = [f["s3_uri"] for f in manifest["files"]]
    rejects_key = manifests.rejects_key(manifest_id)
    prefix = manifests.output_prefix(manifest_id)
    workdir = tempfile.mkdtemp(prefix=f"{manifest_id}-")
    try:
        rejects_path = os.path.join(workdir, "rejects.ndjson")
        target = os.path.join(workdir, "parquet") if stage_locally else f"s3://{output_bucket}/tmp/{manifest_id}/"
        rows_in, bytes_in, rejected, arrow_schema, failed_uris = spark_convert(
            spark, uris, manifest_id, mode, target, rejects_path, log,
            etags=[f.get("etag") for f in manifest["files"]], version_ids=[f.get("version_id") for f in manifest["files"]])
        key_of = {f["s3_uri"]: f["file_key"] for f in manifest["files"]}
        failed = {key_of[uri]: why for uri, why in failed_uris.items()}
        for key, why in sorted(failed.items()):
            log(f"{manifest_id}: left out {key}: {why}")
        raise_if_all_failed(len(uris), failed)
        rows_out, written = 0, []
        if rows_in > rejected and len(arrow_schema) > len(PROVENANCE_COLUMNS):
            rows_out, written = publish_parts(s3, target, output_bucket, prefix, manifest_id, stage_locally)
        settle_outputs(s3, output_bucket, manifest_id, written, rejects_path if rejected else None)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if rows_in != rows_out + rejected:
        raise RuntimeError(f"ledger mismatch: rows_in={rows_in} rows_out={rows_out} rejected={rejected}")
    return {
        "engine": "spark", "files": len(uris) - len(failed), "failed_files": failed, "bytes_in": bytes_in, "rows_in": rows_in, "rows_out": rows_out,
        "rejected": rejected, "output_paths": [f"s3://{output_bucket}/{k}" for k in written],
        "rejects_path": f"s3://{output_bucket}/{rejects_key}" if rejected else None,
        "schema": [{"name": f.name, "type": str(f.type)} for f in arrow_schema],
        "duration_s": round(time.time() - started, 3),
    }


def publish_parts(s3, target, output_bucket, prefix, manifest_id, stage_locally):
    """Give Spark's part files their deterministic names in the output prefix."""
    import pyarrow.parquet as pq

    written, rows = [], 0
    if stage_locally:
        names = sorted(n for n in os.listdir(target) if n.endswith(".parquet"))
        for part, name in enumerate(names):
            path = os.path.join(target, name)
            rows += pq.ParquetFile(path).metadata.num_rows
            key = prefix + output_file_name(manifest_id, part)
            s3.upload_file(path, output_bucket, key)
            written.append(key)
        return rows, written
    bucket, tmp_prefix = split_s3_uri(target, require_key=False)
    listing = s3.list_objects_v2(Bucket=bucket, Prefix=tmp_prefix).get("Contents", [])
    names = sorted(o["Key"] for o in listing if o["Key"].endswith(".parquet"))
    for part, key in enumerate(names):
        rows += pq.ParquetFile(io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read())).metadata.num_rows
        final_key = prefix + output_file_name(manifest_id, part)
        s3.copy_object(Bucket=output_bucket, Key=final_key, CopySource={"Bucket": bucket, "Key": key})
        written.append(final_key)
    for obj in listing:
        s3.delete_object(Bucket=bucket, Key=obj["Key"])
    return rows, written


def build_spark(master=None):
    """On Glue the session comes configured; `master` (e.g. local[2]) is for runs outside Glue."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("ndjson-to-parquet").config("spark.sql.caseSensitive", "true")
    if master:
        builder = (builder.master(master).config("spark.ui.enabled", "false")
                   .config("spark.sql.shuffle.partitions", "4").config("spark.driver.host", "127.0.0.1")
                   .config("spark.driver.bindAddress", "127.0.0.1"))
    return builder.getOrCreate()


def main(argv=None):
    argv = sys.argv if argv is None else argv
    args = parse_args(argv)
    s3 = boto3.client("s3")
    spark = build_spark(args.get("spark_master"))
    with open_pipes(lambda: s3, argv) as pipes:
        bucket, key = split_s3_uri(args["manifest_path"])
        manifest = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        stats = run(spark, s3, manifest, args["output_bucket"], args["mode"],
                    str(args["stage_locally"]).lower() == "true", pipes.log.info)
        pipes.report_custom_message(stats)
        print(json.dumps({k: v for k, v in stats.items() if k != "schema"}))
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
