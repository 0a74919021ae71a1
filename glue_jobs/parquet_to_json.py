"""Glue 5.1 job (Python 3.11; it uses no Spark): one Parquet object in S3 -> one JSON document
in S3. Why not a Python-shell job (Python 3.9): README, "Glue runtimes".

Runs unchanged on AWS Glue (``etl_platform.core`` shipped with
``--extra-py-files``) and locally (boto3 honours ``AWS_ENDPOINT_URL``)::

    python glue_jobs/parquet_to_json.py --input_path s3://in/a.parquet \
        --output_path s3://out/a.json --output_format ndjson

Memory is bounded by one record batch plus a few multipart parts, never by
the file size: Parquet needs random access, so the input goes to local disk
first, then batches are streamed through the columnar encoder
(``etl_platform.core.arrow_json``, which documents the JSON type rules) and
the output leaves through an S3 multipart upload.

Under Dagster Pipes (the `parquet_to_json` asset) the outcome -- rows, bytes in and out,
columns, preview, or the reason the input was refused -- is reported as a custom message.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor

# Arrow's C++ default pool (mimalloc) keeps freed batch memory mapped: ~80 MB
# more peak RSS on a streaming job, for no measurable speed gain.  Only
# effective when this script is the entry point (before pyarrow loads).
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

try:
    from etl_platform.core.arrow_json import JsonChunkEncoder, encode_ndjson  # noqa: E402
except ImportError:  # run from a source checkout without the package installed
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from etl_platform.core.arrow_json import JsonChunkEncoder, encode_ndjson
from etl_platform.core.parquet_jobs import ENCRYPTED, ENCRYPTED_MAGIC, PARQUET_MAGIC  # noqa: E402
from etl_platform.core.pipes_session import launched_by_dagster, open_pipes  # noqa: E402
from etl_platform.core.s3_uri import split_s3_uri  # noqa: E402

DEFAULT_BATCH_ROWS = 32_768
READ_BUFFER_BYTES = 1 << 20
DEFAULT_WORKERS = min(2, os.cpu_count() or 1)
MIN_PART_SIZE = 8 * 1024 * 1024
DEFAULT_PART_SIZE = 16 * 1024 * 1024
PREVIEW_ROWS = 10
CONTENT_TYPES = {"ndjson": "application/x-ndjson", "json_array": "application/json"}


class ConversionError(Exception):
    """The input cannot be converted (not Parquet, or corrupt); retrying will not help."""


def _head(source, size: int = 4) -> bytes:
    """The first bytes of a path or seekable binary file, leaving its position as it was."""
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as handle:
            return handle.read(size)
    position = source.tell()
    source.seek(0)
    head = source.read(size)
    source.seek(position)
    return bytes(head)


def _open_parquet(source) -> pq.ParquetFile:
    # pyarrow reads only the footer: a file with a damaged start would convert, and an
    # encrypted one would be called "not Parquet"; both get their own reason here.
    head = _head(source)
    if head == ENCRYPTED_MAGIC:
        raise ConversionError(f"input is {ENCRYPTED}")
    if head != PARQUET_MAGIC:
        raise ConversionError("input is not a Parquet file: no PAR1 magic bytes at its start")
    try:
        # Buffered streaming reads instead of pre-buffering whole row groups:
        # a 1M-row row group would otherwise sit in memory compressed and decoded.
        return pq.ParquetFile(source, pre_buffer=False, buffer_size=READ_BUFFER_BYTES,
                              page_checksum_verification=True)
    except (pa.ArrowException, OSError, ValueError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ConversionError(f"input is not a Parquet file: {exc}") from exc


def _source_size(source) -> int:
    if isinstance(source, (str, os.PathLike)):
        return os.path.getsize(source)
    if isinstance(source, pa.NativeFile):
        return source.size()
    position = source.tell()
    size = source.seek(0, os.SEEK_END)
    source.seek(position)
    return size


def _batches(pf: pq.ParquetFile, batch_rows: int):
    """Record batches, with decode failures reported as ConversionError."""
    iterator = pf.iter_batches(batch_size=batch_rows, use_threads=True)
    while True:
        try:
            batch = next(iterator)
        except StopIteration:
            return
        except (pa.ArrowException, OSError) as exc:
            raise ConversionError(f"input is not a valid Parquet file (corrupt data): {exc}") from exc
        yield batch


def preview_records(batch: pa.RecordBatch, limit: int = PREVIEW_ROWS) -> list[dict]:
    """First rows as Python values, decoded from our own JSON so they follow its rules."""
    text = encode_ndjson(batch.slice(0, limit))
    return [json.loads(line) for line in text.splitlines()]


def preview_markdown(columns: list[str], records: list[dict], width: int = 40) -> str:
    def cell(value) -> str:
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        text = text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("\r", " ")
        return text if len(text) <= width else text[: width - 1] + "…"

    lines = ["| " + " | ".join(cell(c) for c in columns) + " |",
             "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r.get(c)) for c in columns) + " |" for r in records]
    return "\n".join(lines)


def use_system_allocator() -> None:
    """Make pyarrow-level allocations use malloc too (see ARROW_DEFAULT_MEMORY_POOL above)."""
    pa.set_memory_pool(pa.system_memory_pool())


def convert(parquet_source, sink, *, output_format: str = "ndjson",
            batch_rows: int = DEFAULT_BATCH_ROWS, workers: int = DEFAULT_WORKERS) -> dict:
    """Stream a Parquet file (path or seekable binary file) into ``sink.write``.

    Returns stats: rows, bytes_in, bytes_out, columns [{name, type}],
    preview (first 10 records) and preview_markdown.
    """
    started = time.perf_counter()
    encoder = JsonChunkEncoder(output_format)
    pf = _open_parquet(parquet_source)
    schema = pf.schema_arrow
    preview: list[dict] = []
    rows = bytes_out = 0

    def emit(chunk) -> None:
        nonlocal bytes_out
        if len(chunk):
            sink.write(chunk)
            bytes_out += len(chunk)

    emit(encoder.header())
    for batch, body in _encoded(encoder, _batches(pf, batch_rows), workers):
        if len(preview) < PREVIEW_ROWS and batch.num_rows:
            preview += preview_records(batch, PREVIEW_ROWS - len(preview))
        for chunk in encoder.frame(batch.num_rows, body):
            emit(chunk)
        rows += batch.num_rows
    emit(encoder.footer())
    return {
        "rows": rows,
        "bytes_in": _source_size(parquet_source),
        "bytes_out": bytes_out,
        "output_format": output_format,
        "columns": [{"name": f.name, "type": str(f.type)} for f in schema],
        "preview": preview,
        "preview_markdown": preview_markdown(schema.names, preview),
        "seconds": round(time.perf_counter() - started, 3),
    }


def _encoded(encoder: JsonChunkEncoder, batches, workers: int):
    """(batch, rows text) in input order, up to ``workers`` batches encoding at once.

    Arrow kernels release the GIL, so encoder threads use both cores while this
    thread decodes the next batch and writes; in-flight batches bound memory.
    """
    if workers <= 1:
        for batch in batches:
            yield batch, encoder.encode_rows(batch)
        return
    with ThreadPoolExecutor(workers, thread_name_prefix="json-encode") as pool:
        pending: collections.deque = collections.deque()
        for batch in batches:
            pending.append((batch, pool.submit(encoder.encode_rows, batch)))
            if len(pending) >= workers:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()


class S3MultipartSink:
    """File-like ``write`` target that uploads parts of >= ``part_size`` bytes.

    Small outputs go up with one ``put_object``; a failure inside the ``with``
    block aborts the multipart upload so no partial object or orphaned parts
    remain.  One part uploads in the background while the next one fills.
    """

    def __init__(self, s3_client, bucket: str, key: str, *,
                 part_size: int = DEFAULT_PART_SIZE, content_type: str = "application/json"):
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size must be >= {MIN_PART_SIZE} bytes")
        self.s3, self.bucket, self.key = s3_client, bucket, key
        self.part_size, self.content_type = part_size, content_type
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[Future] = []
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="s3-part")

    def write(self, data) -> int:
        self._buffer += data
        if len(self._buffer) >= self.part_size:
            self._flush_part()
        return len(data)

    def _flush_part(self) -> None:
        if self._upload_id is None:
            self._upload_id = self.s3.create_multipart_upload(
                Bucket=self.bucket, Key=self.key, ContentType=self.content_type)["UploadId"]
        if self._parts:
            self._parts[-1].result()  # at most one part in flight bounds memory
        body, self._buffer = bytes(self._buffer), bytearray()
        number = len(self._parts) + 1
        self._parts.append(self._pool.submit(self._upload_part, number, body))

    def _upload_part(self, number: int, body: bytes) -> dict:
        response = self.s3.upload_part(Bucket=self.bucket, Key=self.key, UploadId=self._upload_id,
                                       PartNumber=number, Body=body)
        return {"PartNumber": number, "ETag": response["ETag"]}

    def close(self) -> None:
        if self._upload_id is None:
            self.s3.put_object(Bucket=self.bucket, Key=self.key, Body=bytes(self._buffer),
                               ContentType=self.content_type)
        else:
            if self._buffer:
                self._flush_part()
            parts = [f.result() for f in self._parts]
            self.s3.complete_multipart_upload(Bucket=self.bucket, Key=self.key,
                                              UploadId=self._upload_id,
                                              MultipartUpload={"Parts": parts})
        self._buffer = bytearray()
        self._pool.shutdown()

    def abort(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._upload_id is not None:
            self.s3.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self._upload_id)
            self._upload_id = None

    def __enter__(self) -> "S3MultipartSink":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()
            return
        try:
            self.close()
        except BaseException:  # a failed last part or complete: leave no parts behind
            self.abort()
            raise


def run(s3_client, input_bucket: str, input_key: str, output_bucket: str, output_key: str,
        output_format: str = "ndjson", *, batch_rows: int = DEFAULT_BATCH_ROWS,
        part_size: int = DEFAULT_PART_SIZE, input_version: str = "") -> dict:
    """Download the Parquet object (exactly `input_version` when given) to local disk,
    convert, upload with multipart."""
    JsonChunkEncoder(output_format)  # validate before any transfer
    with tempfile.TemporaryDirectory(prefix="parquet-to-json-") as tmp_dir:
        local = os.path.join(tmp_dir, "input.parquet")
        try:
            s3_client.download_file(input_bucket, input_key, local,
                                    ExtraArgs={"VersionId": input_version} if input_version else None)
        except Exception as exc:  # botocore's ClientError, without importing botocore here
            if getattr(exc, "response", {}).get("Error", {}).get("Code") in ("404", "NoSuchKey", "NoSuchVersion"):
                raise ConversionError(f"input not found: s3://{input_bucket}/{input_key}") from exc
            raise
        with S3MultipartSink(s3_client, output_bucket, output_key, part_size=part_size,
                             content_type=CONTENT_TYPES[output_format]) as sink:
            stats = convert(local, sink, output_format=output_format, batch_rows=batch_rows)
    stats["input"] = f"s3://{input_bucket}/{input_key}"
    stats["output"] = f"s3://{output_bucket}/{output_key}"
    return stats


def parse_args(argv: list[str]) -> dict:
    try:
        from awsglue.utils import getResolvedOptions  # only present on AWS Glue
    except ImportError:
        parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        parser.add_argument("--input_path", required=True)
        parser.add_argument("--output_path", required=True)
        parser.add_argument("--output_format", default="ndjson", choices=JsonChunkEncoder.FORMATS)
        parser.add_argument("--input_version", default="", help="the S3 version of the input to convert")
        return vars(parser.parse_known_args(argv[1:])[0])
    names = ["input_path", "output_path"] + [n for n in ("output_format", "input_version") if f"--{n}" in argv]
    return {"output_format": "ndjson", "input_version": "", **getResolvedOptions(argv, names)}


def main(argv: list[str] | None = None) -> int:
    """Convert, then report the outcome: under Dagster Pipes as a custom message (the asset
    makes it the materialization's metadata; nothing goes to the console), run by hand as a
    JSON line on stdout. Bad input is an outcome, not a crash: under Pipes the script exits 0
    so the orchestrator reads the reason from the message (a failed Glue run only says
    "exit 2"); run by hand it exits 2."""
    import boto3

    argv = sys.argv if argv is None else argv
    use_system_allocator()
    args = parse_args(argv)
    in_bucket, in_key = split_s3_uri(args["input_path"])
    out_bucket, out_key = split_s3_uri(args["output_path"])
    s3 = boto3.client("s3")
    with open_pipes(lambda: s3, argv) as pipes:
        try:
            outcome = {"status": "SUCCEEDED", **run(s3, in_bucket, in_key, out_bucket, out_key,
                                                    args["output_format"], input_version=args["input_version"])}
        except ConversionError as exc:
            outcome = {"status": "FAILED", "error": "ConversionError", "message": str(exc)}
        pipes.report_custom_message(outcome)
    if launched_by_dagster(argv):
        return 0  # the outcome is the run's metadata: the run's console stays short
    outcome.pop("preview_markdown", None)
    print(json.dumps(outcome, ensure_ascii=False))
    return 0 if outcome["status"] == "SUCCEEDED" else 2


if __name__ == "__main__":
    sys.exit(main())
