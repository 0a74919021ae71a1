"""A MANIFEST keeps its files' keys (resources/tracking.py): reading a manifest's files
costs the manifest, not its date; a claim cut short is read back from its plan; a run
that lost the claim can neither plan nor record; the key list stays under DynamoDB's
400 KB item limit; minting waits only for a recent unclaimed MANIFEST."""

from __future__ import annotations

import time

import pytest

from etl_platform.aws import client_for
from etl_platform.core.ingestion.manifests import FILE_KEYS_BUDGET_BYTES, ManifestThresholds, PendingFile
from etl_platform.local import emulator
from etl_platform.local.request_counts import dynamodb_totals
from etl_platform.pipelines.ndjson_to_parquet.planning import ClaimTakenOver, claim_files, plan_manifests
from etl_platform.resources import platform_resources
from etl_platform.resources.dynamodb import serialize_item
from etl_platform_tests.conftest import lagged_reads
from etl_platform_tests.ndjson_to_parquet.harness import scaled

DAY = "2026-11-02"
MANIFEST = "batch-0001-20261102-120000"


def _seed(aws, pending: int, completed: int = 0, key=lambda n: f"p-{n:04d}.ndjson") -> list[PendingFile]:
    """`pending` pending files (and `completed` others) on DAY, written in batches."""
    files = [PendingFile(DAY, key(n), 100, 1000.0 + n, f"s3://b/{key(n)}", shard=n % 10) for n in range(pending)]
    items = [{"date_prefix": DAY, "file_key": f.file_key, "status": f"pending#{f.shard}", "shard_id": f.shard,
              "size": f.size, "first_seen_epoch": f.first_seen, "file_path": f.s3_uri} for f in files]
    items += [{"date_prefix": DAY, "file_key": f"done-{n:05d}", "status": f"completed#{n % 10}", "shard_id": n % 10,
               "manifest_id": "batch-0000-20261102-000000"} for n in range(completed)]
    table = aws.names.tracking_table
    for start in range(0, len(items), 25):
        client_for(aws, "dynamodb").batch_write_item(
            RequestItems={table: [{"PutRequest": {"Item": serialize_item(i)}} for i in items[start:start + 25]]})
    return files


def _reads(aws) -> int:
    return dynamodb_totals(emulator.request_counts(aws.endpoint_url, reset=True))["items_read"]


def test_a_claim_cut_short_is_read_from_its_plan_and_resumed_by_the_run_that_takes_it_over(aws):
    tracking = platform_resources(aws)["tracking_table"]
    files = _seed(aws, pending=30, completed=500)
    tracking.create_manifest(MANIFEST, reason="test")
    tracking.begin_claim(MANIFEST, "run-1")
    assert tracking.plan_claim(MANIFEST, "run-1", [f.file_key for f in files[:10]])
    for f in files[:4]:  # run-1 claims 4 of the 10 it planned, then dies
        tracking.claim(f, MANIFEST)

    emulator.request_counts(aws.endpoint_url, reset=True)
    held = tracking.files_of_manifest(MANIFEST)
    assert [i["file_key"] for i in held] == [f.file_key for f in files[:4]]  # planned, never claimed: left out
    assert _reads(aws) == 1 + 10  # the MANIFEST and its planned keys, not the date's 530 items

    tracking.begin_claim(MANIFEST, "run-2")  # the reaper's re-run takes the claim over
    assert not tracking.plan_claim(MANIFEST, "run-1", [files[20].file_key])  # the dead run plans nothing more
    with pytest.raises(ClaimTakenOver):
        claim_files(tracking, MANIFEST, "run-1", ManifestThresholds(max_files=12), {})
    won = claim_files(tracking, MANIFEST, "run-2", ManifestThresholds(max_files=12), {i["file_key"]: i for i in held})
    assert len(won) == 8
    keys = sorted([i["file_key"] for i in held] + [i["file_key"] for i in won])
    assert sorted(tracking.finish_claim(MANIFEST, "run-2", keys, file_count=12)["file_keys"]) == keys
    assert tracking.finish_claim(MANIFEST, "run-1", keys[:4]) is None  # nor can it record its shorter list
    emulator.request_counts(aws.endpoint_url, reset=True)
    assert sorted(i["file_key"] for i in tracking.files_of_manifest(MANIFEST)) == keys
    assert _reads(aws) == 1 + 12


def test_the_claim_stops_at_the_key_budget_and_the_manifest_item_stays_under_400_kb(aws_limits):
    aws = aws_limits  # AWS's item size limit enforced
    tracking = platform_resources(aws)["tracking_table"]
    key_length = 990  # S3's longest key less the landing prefix: 998 bytes
    _seed(aws, pending=130, key=lambda n: f"{n:04d}-" + "k" * (key_length - 5))
    tracking.create_manifest(MANIFEST, reason="test")
    tracking.begin_claim(MANIFEST, "run-1")
    won = claim_files(tracking, MANIFEST, "run-1", ManifestThresholds(max_files=200), {})
    assert len(won) == FILE_KEYS_BUDGET_BYTES // key_length < 130
    keys = [i["file_key"] for i in won]
    assert tracking.finish_claim(MANIFEST, "run-1", keys, file_count=len(keys))
    # the worst case the item must hold: every file failed by the engine, listed once more
    tracking.start_manifest(MANIFEST, "run-1")
    assert tracking.complete_manifest(MANIFEST, "run-1", failed_files=keys, output_paths=["s3://o/p.parquet"] * 10)
    assert len(tracking.files_of_manifest(MANIFEST)) == len(keys)


def test_minting_waits_for_a_recent_unclaimed_manifest_only(aws):
    settings = scaled(aws, manifest_max_files=5)
    tracking = platform_resources(settings)["tracking_table"]
    _seed(settings, pending=5)
    now = time.time()
    [(first, _, _)] = plan_manifests(tracking, settings, now).minted
    assert plan_manifests(tracking, settings, now + 1).minted == []  # its run has not claimed yet
    stale = now + settings.ingestion.stale_manifest_seconds + 1
    [(second, _, _)] = plan_manifests(tracking, settings, stale).minted  # a minted manifest no run took holds no longer
    tracking.begin_claim(second, "run-1")
    tracking.finish_claim(second, "run-1", [])
    [(third, _, _)] = plan_manifests(tracking, settings, stale + 1).minted  # claimed (nothing): holds no longer either
    assert len({first, second, third}) == 3


def test_a_tick_right_after_minting_sees_its_manifests_before_the_status_index_does(aws):
    settings = scaled(aws, manifest_max_files=5)
    tracking = platform_resources(settings)["tracking_table"]
    _seed(settings, pending=10)
    with lagged_reads(settings, seconds=30):  # the GSI shows nothing written from here on
        now = time.time()
        assert len(plan_manifests(tracking, settings, now).minted) == 2
        assert plan_manifests(tracking, settings, now + 1).minted == []  # the date's counter names them
