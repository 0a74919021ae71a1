"""DynamoDB reads and writes per file stay flat as a date grows (issue 11, "Reads
proportional to the work"), counted by the emulator (local/request_counts.py).

A date holds N tracked files, as a busy day does: most completed by earlier manifests
(with their MANIFEST records), some quarantined or failed, a backlog of pending files
that grows with the day. The test runs the platform's own code on it: a sensor tick
that mints manifests, a tick while they wait for their runs (it must mint nothing), then
the Dagster runs of those manifests (claim, Arrow conversion, settlement). It compares the DynamoDB items read and written per
processed file at N = 1,000 and N = 20,000: equal within TOLERANCE, and under the bounds
derived below. Before this issue, files_of_manifest read the whole date three times per
run (measured with it put back: 108 items read per file at N = 1,000, 2,096 at 20,000),
and each tick read every pending item and every MANIFEST of the date (5.8, then 32.9).
Both make this test fail; the design reads 4.5 per file at either size.

Scaled as the harness scales the thresholds: 20 files per manifest and a planning window
of 100 files (5 manifests per tick), so both sizes mint and process exactly 100 files.
Only the pending files have landing objects (the runs read those); the others never
reach S3 again.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from etl_platform.aws import client_for
from etl_platform.local import emulator
from etl_platform.local.request_counts import dynamodb_totals
from etl_platform.pipelines.ndjson_to_parquet import planning
from etl_platform.pipelines.ndjson_to_parquet.partitions import MANIFEST_TAG
from etl_platform.resources.dynamodb import serialize_item
from etl_platform_tests.ndjson_to_parquet.harness import Pipeline, records, scaled

pytestmark = pytest.mark.e2e

DAY = "2026-10-05"
FILES_PER_MANIFEST, WINDOW, SHARDS = 20, 100, 10
MANIFESTS = WINDOW // FILES_PER_MANIFEST
TOLERANCE = 0.10
# What the design costs per processed file (F files per manifest, S shards, W files per
# minting tick), counted from the code (README, "What each file costs"):
# - reads: each file 4 times: nominated by the GSI and confirmed when minted, nominated
#   again by its run's claim window, read back by merged_parquet (files_of_manifest);
#   per manifest 5 single items (the MANIFEST 4 times, the breaker once); per tick one
#   item per shard (the dates' skip scan), the date's counter and the breaker, and in the
#   waiting tick the 5 manifests the counter names, confirmed unclaimed: two ticks here;
# - writes: each file twice (its claim, its settlement); per manifest 8 (MANIFEST put,
#   begin, plan and finish of the claim, start, complete, breaker, metrics); per minting
#   tick 1 (the counter reserves its ids).
# The bound allows 10 % over that count.
MAX_READS_PER_FILE = 1.1 * (4 + 5 / FILES_PER_MANIFEST + (2 * (SHARDS + 2) + MANIFESTS) / WINDOW)
MAX_WRITES_PER_FILE = 1.1 * (2 + 8 / FILES_PER_MANIFEST + 1 / WINDOW)


def _seed(pipeline: Pipeline, files: int) -> None:
    """`files` tracked files on DAY: 3 % quarantined, 2 % failed (under a manifest id with no MANIFEST record), a
    backlog of pending files that grows with the day, the rest completed (20 per completed
    MANIFEST), written in batches."""
    bucket = pipeline.names.ndjson_input_bucket
    body = ("\n".join(json.dumps(r) for r in records("row", 5)) + "\n").encode()
    now = time.time()
    pending_count = WINDOW + files // 40  # the backlog grows with the day: 125, then 600
    quarantined, failed = int(files * 0.03), int(files * 0.02)
    completed = files - pending_count - quarantined - failed
    pending = range(completed + quarantined + failed, files)

    def land(n: int) -> dict:
        key = f"landing/ndjson/{DAY}/file-{n:06d}.ndjson"
        put = pipeline.s3.put_object(Bucket=bucket, Key=key, Body=body)
        return {"file_path": f"s3://{bucket}/{key}", "etag": put["ETag"].strip('"'), "version_id": put["VersionId"]}

    with ThreadPoolExecutor(8) as pool:
        sources = dict(zip(pending, pool.map(land, pending)))
    items = []
    for n in range(files):
        shard = n % SHARDS
        item = {"date_prefix": DAY, "file_key": f"file-{n:06d}.ndjson", "shard_id": shard, "size": len(body),
                "first_seen_epoch": now - 600 + n / files, "first_seen": "2026-10-05T00:00:00Z",
                **sources.get(n, {"file_path": f"s3://{bucket}/landing/ndjson/{DAY}/file-{n:06d}.ndjson"})}
        if n < completed:
            item.update(status=f"completed#{shard}", manifest_id=f"batch-{1 + n // 20:04d}-20261005-000000")
        elif n < completed + quarantined:
            item.update(status="quarantined", reason="too small")
        elif n < completed + quarantined + failed:
            item.update(status=f"failed#{shard}", manifest_id="batch-9999-20261005-000000", error="bad")
        else:
            item["status"] = f"pending#{shard}"
        items.append(item)
    sequences = completed // 20
    for sequence in range(1, sequences + 1):
        manifest = f"batch-{sequence:04d}-20261005-000000"
        items.append({"date_prefix": DAY, "file_key": f"MANIFEST#{manifest}", "manifest_id": manifest,
                      "status": "completed", "claimed": True, "files_listed": True, "created_epoch": now - 3600,
                      "file_keys": {f"file-{n:06d}.ndjson" for n in range((sequence - 1) * 20, sequence * 20)}})
    items.append({"date_prefix": DAY, "file_key": "COUNTER#manifest", "sequence": sequences})
    tracking = pipeline.tracking
    table = client_for(pipeline.settings, "dynamodb")

    def write(start: int) -> None:
        table.batch_write_item(RequestItems={tracking.table_name: [
            {"PutRequest": {"Item": serialize_item(i)}} for i in items[start:start + 25]]})

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(write, range(0, len(items), 25)))
    # tracked above as the validator would have: its S3 events are not part of what is measured
    queue = pipeline.resources["file_events_queue"]
    client_for(pipeline.settings, "sqs").purge_queue(QueueUrl=queue.url)


def _costs(aws, files: int) -> dict:
    """Seed a date of `files` files, then count what minting and running 5 manifests cost."""
    emulator.reset(aws)
    pipeline = Pipeline(scaled(aws, manifest_max_files=FILES_PER_MANIFEST, file_min_bytes=1))
    _seed(pipeline, files)
    emulator.request_counts(aws.endpoint_url, reset=True)
    minted = pipeline.tick().run_requests
    assert len(minted) == MANIFESTS
    assert pipeline.tick().run_requests == []  # its manifests wait for their runs: nothing more to mint
    for request in minted:
        assert pipeline.run(request.tags[MANIFEST_TAG]).success
    counts = emulator.request_counts(aws.endpoint_url, reset=True)
    processed = [f for r in minted for f in pipeline.tracking.files_of_manifest(r.tags[MANIFEST_TAG])]
    assert len(processed) == WINDOW and {f["status"].split("#")[0] for f in processed} == {"completed"}
    totals = dynamodb_totals(counts)
    return {"reads_per_file": totals["items_read"] / len(processed),
            "writes_per_file": totals["items_written"] / len(processed),
            "requests_per_file": totals["requests"] / len(processed),
            "by_operation": counts["dynamodb"]}


def test_dynamodb_reads_and_writes_per_file_stay_flat_as_a_date_grows(aws, monkeypatch):
    monkeypatch.setattr(planning, "WINDOW_FILES", WINDOW)
    small, large = _costs(aws, 1_000), _costs(aws, 20_000)
    print(f"\nper file at N=1,000: {small}\nper file at N=20,000: {large}")
    for field in ("reads_per_file", "writes_per_file"):
        assert large[field] == pytest.approx(small[field], rel=TOLERANCE), (field, small, large)
    assert large["reads_per_file"] <= MAX_READS_PER_FILE, large
    assert large["writes_per_file"] <= MAX_WRITES_PER_FILE, large
