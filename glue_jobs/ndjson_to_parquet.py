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

Each executor parses its files with the same pure functions as the single-node engine
(etl_platform.core.ndjson_parquet, shipped with --extra-py-files), so both engines give the
same rows and values for a manifest. The work is spread so that it scales with the cluster:

1. Parse (job group `<manifest id>:parse`): the file list is cut into
   min(files, spark.sparkContext.defaultParallelism) contiguous slices, one task per core.
   Each task builds one S3 client and, per file, fetches it once (exactly the claimed
   version or ETag), parses it and keeps the result as one row: the file's table as Arrow
   IPC, its schema, line count, size, rejected lines, and why it failed ("" if it did not).
   These rows are persisted (MEMORY_AND_DISK), and only the small columns reach the driver,
   which unifies the schemas and writes the rejects. A file that raises (an S3 read error,
   content the parser refuses) is that file's failure: it is reported in `failed_files`
   (file key -> why) of the Pipes report, the others convert, and the job fails only when
   none does.
2. Convert (job group `<manifest id>:convert`): the persisted tables are conformed to the
   manifest schema in the same tasks (one per core: nothing is fetched or parsed again,
   one file per Arrow batch keeps a worker's memory at one file), then hash-partitioned by
   source file into `parts` partitions of about 128 MB of Parquet, which Spark writes.
   Why a shuffle and not one part per task: the seed's manifests are 200 files, ~700 MB,
   about 175 MB of Parquet, and a prod job has ~150 cores (20 G.2X workers); one part per task would leave
   ~150 parts of ~1 MB where the seed asks for ~128 MB files. The shuffle moves rows that
   are already converted, so the tasks before it (fetch, parse, render, conform: the heavy
   part) run on every core, and only Parquet encoding runs in `parts` tasks. By file, not
   round robin: a round-robin repartition sorts every row first to be deterministic on
   retry; a file's rows then stay together, in line order. Measured before and after with
   benchmarks/spark_scale_out.py (README).

Parts are renamed to `<manifest id>-part-NNNNN.snappy.parquet`, so a retry overwrites;
stale parts of an earlier attempt are deleted. Their rows are counted from their Parquet
footers (on S3 by ranged GETs, not by downloading each part). Input files are read with
boto3 inside the executors (no Hadoop S3 connector needed).
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
from etl_platform.core.ndjson_parquet import SOURCE_FILE_COLUMN, failure_reason, raise_if_all_failed
from etl_platform.core.ndjson_parquet import schema as sch
from etl_platform.core.ndjson_parquet.convert import PROVENANCE_COLUMNS, _columns, _combine, output_file_name, output_names
from etl_platform.core.ndjson_parquet.reader import ORIGINAL_ROW, Parser, parse_file
from etl_platform.core.ndjson_parquet.rejects import RejectWriter
from etl_platform.core.pipes_session import launched_by_dagster, open_pipes
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


def source_reader():
    """A reader of source files for one task: read(uri, etag, version_id) -> the file's bytes,
    exactly the claimed version (or, without one, the claimed ETag). It builds its S3 client
    on first use, so a task builds one for all its files (a client costs ~10-30 ms and its
    own connection pool)."""
    client = None

    def read(uri, etag=None, version_id=None):
        nonlocal client
        if not uri.startswith("s3://"):  # a local path (benchmarks, tests)
            with open(uri, "rb") as handle:
                return handle.read()
        if client is None:
            client = boto3.client("s3")
        bucket, key = split_s3_uri(uri)
        claimed = manifests.claimed_content({"etag": etag, "version_id": version_id})
        return client.get_object(Bucket=bucket, Key=key, **claimed)["Body"].read()

    return read


FILES = pa.schema([("index", pa.int32()), ("uri", pa.string()), ("etag", pa.string()), ("version_id", pa.string())])
REJECT = pa.struct([("line_number", pa.int64()), ("error", pa.string()), ("line", pa.binary())])
# One row per file of the parse stage; `arrow` (the file's table as an Arrow IPC stream) is
# the only large column and never reaches the driver.
PARSED = pa.schema([("index", pa.int32()), ("uri", pa.string()), ("arrow", pa.binary()), ("schema", pa.binary()),
                    ("rows_in", pa.int64()), ("bytes_in", pa.int64()), ("rejects", pa.list_(REJECT)),
                    ("failure", pa.string())])
ARROW_BATCH_ROWS = "spark.sql.execution.arrow.maxRecordsPerBatch"


def parsed_row(index, uri, arrow=None, schema=None, rows_in=0, bytes_in=0, rejects=(), failure=""):
    values = [index, uri, arrow, schema, rows_in, bytes_in,
              [{"line_number": n, "error": e, "line": raw} for n, e, raw in rejects], failure]
    return pa.RecordBatch.from_arrays([pa.array([v], f.type) for v, f in zip(values, PARSED)], schema=PARSED)


def parse_one(read, parser, index, uri, mode, etag=None, version_id=None):
    """One file, fetched and parsed once, as a PARSED row. A file that raises (an S3 read
    error, content the parser refuses) is reported, not raised, so one file cannot fail
    the Spark job."""
    try:
        data = read(uri, etag, version_id)
        parsed = parse_file(data, parser, mode)
        table = _combine(parsed.tables, mode)
    except Exception as exc:  # noqa: BLE001 - this file fails, the others convert
        return parsed_row(index, uri, failure=failure_reason(exc))
    arrow = schema = None
    if table is not None:
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        arrow = sink.getvalue().to_pybytes()
        schema = pa.schema([f for f in table.schema if f.name != ORIGINAL_ROW]).serialize().to_pybytes()
    return parsed_row(index, uri, arrow, schema, parsed.rows_in, len(data), parsed.rejects)


def parse_stage(mode):
    """Executor side of the parse stage: the task's files (FILES batches) -> PARSED rows."""
    def parse(batches):
        read, parser = source_reader(), Parser()  # one S3 client and one parser per task
        for batch in batches:
            for row in batch.to_pylist():
                yield parse_one(read, parser, row["index"], row["uri"], mode, row["etag"], row["version_id"])
    return parse


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


def convert_stage(final, order, arrow_schema, manifest_id):
    """Executor side of the convert stage: each parsed file's table as Arrow batches of the
    manifest schema, with its provenance columns."""
    def convert(batches):
        for batch in batches:
            for uri, blob in zip(batch.column("uri").to_pylist(), batch.column("arrow").to_pylist()):
                table = pa.ipc.open_stream(blob).read_all()
                n = table.num_rows
                columns = _columns(table, order, final)
                columns += [pa.repeat(pa.scalar(uri, sch.STRING), n), pa.repeat(pa.scalar(manifest_id, sch.STRING), n)]
                yield from pa.Table.from_arrays(columns, schema=arrow_schema).to_batches()
    return convert


def job_group(manifest_id, stage):
    """Spark job group of a stage (`parse`, `convert`): how the Spark UI and the status
    tracker tell the stages of a manifest apart."""
    return f"{manifest_id}:{stage}"


def output_partitions(bytes_in):
    return max(1, math.ceil(bytes_in * PARQUET_BYTES_PER_INPUT_BYTE / (128 * 1024 * 1024)))


def spark_convert(spark, uris, manifest_id, mode, target, rejects_path, log=print, etags=None, version_ids=None):
    """Convert `uris` (s3:// or local paths; with `version_ids` or `etags`, exactly that
    content of each) to Parquet under `target` and the rejects file (stages: module doc).
    Returns (rows_in, bytes_in, rejected, arrow schema, {uri: why} of the failed files)."""
    from pyspark import StorageLevel
    from pyspark.sql.pandas.types import from_arrow_schema

    sc = spark.sparkContext
    etags = etags or [None] * len(uris)
    version_ids = version_ids or [None] * len(uris)
    listing = [(i, uri, etag, version) for i, (uri, etag, version) in enumerate(zip(uris, etags, version_ids))]
    tasks = max(1, min(len(uris), sc.defaultParallelism))
    files = spark.createDataFrame(sc.parallelize(listing, tasks), from_arrow_schema(FILES))
    parsed = files.mapInArrow(parse_stage(mode), from_arrow_schema(PARSED)).persist(StorageLevel.MEMORY_AND_DISK)
    batch_rows = spark.conf.get(ARROW_BATCH_ROWS)
    spark.conf.set(ARROW_BATCH_ROWS, "1")  # one file per Arrow batch: a worker holds one file at a time
    try:
        sc.setJobGroup(job_group(manifest_id, "parse"), f"{manifest_id}: fetch and parse {len(uris)} files")
        summary = sorted(parsed.drop("arrow").collect(), key=lambda r: r["index"])
        failed = {r["uri"]: r["failure"] for r in summary if r["failure"]}
        final, order, arrow_schema = final_schema([r["schema"] for r in summary], mode)
        rows_in = sum(r["rows_in"] for r in summary)
        bytes_in = sum(r["bytes_in"] for r in summary)
        log(f"{manifest_id}: parsed {len(uris)} files in {tasks} tasks, {rows_in} lines, {len(arrow_schema)} columns")
        rejects = RejectWriter(rejects_path)
        for r in summary:
            for reject in r["rejects"]:
                rejects.write(r["uri"], reject["line_number"], reject["error"], bytes(reject["line"]))
        rejects.close()
        if len(arrow_schema) > len(PROVENANCE_COLUMNS) and rows_in > rejects.count:
            sc.setJobGroup(job_group(manifest_id, "convert"), f"{manifest_id}: conform and write Parquet")
            tables = parsed.where(parsed.arrow.isNotNull()).select("uri", "arrow")
            frame = (tables.mapInArrow(convert_stage(final, order, arrow_schema, manifest_id),
                                       from_arrow_schema(arrow_schema))
                     .repartition(output_partitions(bytes_in), SOURCE_FILE_COLUMN))
            frame.write.mode("overwrite").option("compression", "snappy").parquet(target)
    finally:
        for group_property in ("spark.jobGroup.id", "spark.job.description"):
            sc.setLocalProperty(group_property, None)
        spark.conf.set(ARROW_BATCH_ROWS, batch_rows)
        parsed.unpersist()
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


class RangedObject(io.RawIOBase):
    """A read-only, seekable view of one S3 object that fetches only the bytes read, by ranged
    GetObject: pyarrow reads a Parquet footer from any seekable file (the last 64 KiB, then
    more only for a larger footer), so a part's row count costs one small GET, not the part.
    By hand because boto3's streaming body cannot seek, and pyarrow's S3FileSystem is a second
    S3 client (the AWS SDK for C++) that reads neither boto3's configuration nor
    AWS_ENDPOINT_URL: this keeps one client, its endpoint, credentials and retries."""

    def __init__(self, s3, bucket, key, size):
        super().__init__()
        self.s3, self.bucket, self.key, self.size, self.position = s3, bucket, key, size, 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self.position

    def seek(self, offset, whence=io.SEEK_SET):
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def readinto(self, buffer):
        end = min(self.size, self.position + len(buffer))
        if end <= self.position:
            return 0
        data = self.s3.get_object(Bucket=self.bucket, Key=self.key,
                                  Range=f"bytes={self.position}-{end - 1}")["Body"].read()
        buffer[:len(data)] = data
        self.position += len(data)
        return len(data)


def publish_parts(s3, target, output_bucket, prefix, manifest_id, stage_locally):
    """Give Spark's part files their deterministic names in the output prefix; their rows
    are counted from their footers."""
    import pyarrow.parquet as pq

    written, rows = [], 0
    if stage_locally:
        names = sorted(n for n in os.listdir(target) if n.endswith(".parquet"))
        for part, name in enumerate(names):
            path = os.path.join(target, name)
            rows += pq.read_metadata(path).num_rows
            key = prefix + output_file_name(manifest_id, part)
            s3.upload_file(path, output_bucket, key)
            written.append(key)
        return rows, written
    bucket, tmp_prefix = split_s3_uri(target, require_key=False)
    listing = [o for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=tmp_prefix)
               for o in page.get("Contents", [])]
    parts = sorted((o for o in listing if o["Key"].endswith(".parquet")), key=lambda o: o["Key"])
    for part, obj in enumerate(parts):
        rows += pq.read_metadata(RangedObject(s3, bucket, obj["Key"], obj["Size"])).num_rows
        final_key = prefix + output_file_name(manifest_id, part)
        s3.copy_object(Bucket=output_bucket, Key=final_key, CopySource={"Bucket": bucket, "Key": obj["Key"]})
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
        if not launched_by_dagster(argv):  # under Pipes the stats are the run's metadata, not console output
            print(json.dumps({k: v for k, v in stats.items() if k != "schema"}))
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
