"""Pipeline B at 10 million files a day on AWS: requests, costs and the first limit, from the
per-file request counts `benchmarks/ingest_load.py` measured.

    .venv/bin/python benchmarks/ingest_load.py > load.json        # or any of its JSON outputs
    .venv/bin/python benchmarks/capacity_model.py load.json [--files-per-day 10000000] [--kb 110]

Prices are AWS's public list prices for us-east-1 (on-demand DynamoDB, S3 Standard, SQS
standard, Lambda x86, Glue), as of the date in PRICES_AS_OF; check them before quoting. What
the emulator counts is what the platform asks for; AWS bills DynamoDB by size too (a
strongly consistent read unit is 4 KB, a write unit 1 KB): tracking items are under 1 KB, so
an item read or written is one unit (a consistent read of a MANIFEST with its key list is
more: its size / 4 KB). The model counts the local validation runs' SQS polling as the
Lambda event source mapping's (AWS bills those receives and deletes too).
"""

from __future__ import annotations

import argparse
import json
import math
import sys

PRICES_AS_OF = "2026-12"
S3_WRITE_PER_1K = 0.005       # PUT, COPY, POST, LIST
S3_READ_PER_1K = 0.0004       # GET, HEAD and the rest (DELETE is free)
DYNAMODB_WRU_PER_M = 0.625    # on-demand write request units
DYNAMODB_RRU_PER_M = 0.125    # on-demand read request units (strongly consistent: 1 per 4 KB)
SQS_PER_M = 0.40
LAMBDA_REQUEST_PER_M = 0.20
LAMBDA_GB_SECOND = 0.0000166667
GLUE_DPU_HOUR = 0.44
S3_WRITE_OPERATIONS = {"PutObject", "CopyObject", "PostObject", "ListObjectsV2", "ListObjects", "PutObjectTagging",
                       "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload", "ListObjectVersions"}
S3_FREE_OPERATIONS = {"DeleteObject", "DeleteObjects", "AbortMultipartUpload"}
# AWS's limits the model checks (per second unless said)
DYNAMODB_PARTITION_WCU, DYNAMODB_PARTITION_RCU = 1000, 3000  # per partition key value's partition
S3_PREFIX_WRITES, S3_PREFIX_READS = 3500, 5500                # per prefix
PEAK_TO_AVERAGE = 3.0                                          # landings are bursty: size for 3x the mean


def model(measured: dict, files_per_day: int, file_kb: float, lambda_ms: float, glue_minutes: float,
          glue_dpus: float, arrow_max_mb: float, files_per_manifest: int) -> dict:
    per_file = measured["requests_per_file"]
    s3_ops = per_file.get("s3_by_operation", {})
    s3_writes = sum(v for k, v in s3_ops.items() if k in S3_WRITE_OPERATIONS)
    s3_reads = sum(v for k, v in s3_ops.items() if k not in S3_WRITE_OPERATIONS and k not in S3_FREE_OPERATIONS)
    reads, writes = per_file["dynamodb_items_read"], per_file["dynamodb_items_written"]
    sqs = per_file.get("sqs_requests", 0.0) + 1.0  # + S3's own SendMessage of the event (not an emulator request)
    day = files_per_day
    manifests = math.ceil(day / files_per_manifest)
    manifest_mb = files_per_manifest * file_kb / 1024
    glue_manifests = manifests if manifest_mb > arrow_max_mb else 0
    invocations = math.ceil(day / 10)  # batches of 10
    costs = {
        "s3": (s3_writes * day / 1000 * S3_WRITE_PER_1K) + (s3_reads * day / 1000 * S3_READ_PER_1K),
        "dynamodb": writes * day / 1e6 * DYNAMODB_WRU_PER_M + reads * day / 1e6 * DYNAMODB_RRU_PER_M,
        "sqs": sqs * day / 1e6 * SQS_PER_M,
        "lambda": invocations / 1e6 * LAMBDA_REQUEST_PER_M + invocations * lambda_ms / 1000 * 0.5 * LAMBDA_GB_SECOND,
        "glue": glue_manifests * glue_minutes / 60 * glue_dpus * GLUE_DPU_HOUR,
    }
    mean = day / 86400
    peak = mean * PEAK_TO_AVERAGE
    # tracking's partition key is the date: a day's writes all go to one key's partition
    # (DynamoDB splits a hot key's partition by sort key, but 1,000 WCU/s is the documented
    # limit of one partition): the writes to the base table per second at peak
    date_key_wcu = peak * writes
    limits = {
        "dynamodb_date_partition_wcu_at_peak": round(date_key_wcu),
        "dynamodb_partition_wcu_limit": DYNAMODB_PARTITION_WCU,
        "s3_landing_prefix_puts_at_peak": round(peak),
        "s3_prefix_put_limit": S3_PREFIX_WRITES,
        "manifest_runs_per_day": manifests,
        "manifest_runs_per_second": round(manifests / 86400, 2),
        "glue_jobs_per_day": glue_manifests,
        "glue_jobs_running_at_once": round(glue_manifests / 86400 * glue_minutes * 60, 1),
        "lambda_batches_running_at_once": round(invocations / 86400 * PEAK_TO_AVERAGE * lambda_ms / 1000, 1),
    }
    return {
        "files_per_day": day, "file_kb": file_kb, "mean_files_per_s": round(mean, 1), "peak_files_per_s": round(peak),
        "per_file": {"s3_writes": s3_writes, "s3_reads": s3_reads, "dynamodb_items_read": reads,
                     "dynamodb_items_written": writes, "sqs_requests": round(sqs, 2)},
        "per_day": {"s3_requests": round((s3_writes + s3_reads) * day), "dynamodb_items_read": round(reads * day),
                    "dynamodb_items_written": round(writes * day), "sqs_requests": round(sqs * day),
                    "lambda_invocations": invocations, "manifests": manifests, "glue_job_runs": glue_manifests},
        "usd_per_day": {k: round(v, 2) for k, v in costs.items()} | {"total": round(sum(costs.values()), 2)},
        "limits": limits,
        "prices_as_of": PRICES_AS_OF,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("measured", help="JSON printed by benchmarks/ingest_load.py (one scenario)")
    parser.add_argument("--files-per-day", type=int, default=10_000_000)
    parser.add_argument("--kb", type=float, help="file size (default: the measured scenario's)")
    parser.add_argument("--lambda-ms", type=float, default=1500, help="duration of one batch of 10 (512 MB function)")
    parser.add_argument("--glue-minutes", type=float, default=2.0, help="billed minutes of one Glue manifest job")
    parser.add_argument("--glue-dpus", type=float, default=40, help="DPUs of one job (prod: 20 G.2X = 40)")
    parser.add_argument("--arrow-max-mb", type=float, default=64, help="manifests up to this size convert without Glue")
    parser.add_argument("--files-per-manifest", type=int, default=200)
    args = parser.parse_args()
    text = open(args.measured).read()
    measured, _ = json.JSONDecoder().raw_decode(text[text.index("{"):])  # the first scenario ingest_load.py printed
    result = model(measured, args.files_per_day, args.kb or measured["file_kb"], args.lambda_ms, args.glue_minutes,
                   args.glue_dpus, args.arrow_max_mb, args.files_per_manifest)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
