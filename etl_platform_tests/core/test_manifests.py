"""Manifest planning rules (pure): when a date flushes, which files a claim takes, the
manifest document and what leaving a file out does to it."""

from datetime import datetime

from etl_platform.core.ingestion.manifests import (
    ManifestThresholds, PendingFile, claim_in_order, claimed_content, date_of_manifest, exclude_files, flush_reason,
    manifest_document, manifest_id, within_key_budget,
)

THRESHOLDS = ManifestThresholds(max_files=3, max_bytes=1000, orphan_flush_seconds=60)


def _file(n: int, size: int = 100, first_seen: float = 0.0) -> PendingFile:
    return PendingFile("2026-04-01", f"f-{n}.ndjson", size, first_seen, f"s3://b/landing/ndjson/2026-04-01/f-{n}.ndjson",
                       shard=n % 10, etag=f"e{n}", version_id=f"v{n}")


def test_a_date_flushes_by_count_bytes_or_age():
    assert flush_reason([], 0, THRESHOLDS) is None
    assert flush_reason([_file(1), _file(2)], 10, THRESHOLDS) is None
    assert "3 pending files" in flush_reason([_file(n) for n in range(3)], 10, THRESHOLDS)
    assert "pending bytes" in flush_reason([_file(1, size=1000)], 10, THRESHOLDS)
    assert "orphan flush" in flush_reason([_file(1, first_seen=0)], 61, THRESHOLDS)


def test_a_claim_takes_the_oldest_files_within_the_limits():
    def claim_all(candidates, **held):
        return [f.file_key for f in claim_in_order(candidates, THRESHOLDS, lambda f: f, **held)]

    files = [_file(n, first_seen=10 - n) for n in range(5)]
    assert claim_all(files) == ["f-4.ndjson", "f-3.ndjson", "f-2.ndjson"]
    big = [_file(1, size=600, first_seen=1), _file(2, size=600, first_seen=2)]
    assert claim_all(big) == ["f-1.ndjson"]  # bytes, but never empty
    assert claim_all([_file(9, size=5000)]) == ["f-9.ndjson"]
    assert claim_all(files, held_files=2, held_bytes=200) == ["f-4.ndjson"]  # what a resumed claim holds counts


def test_a_stale_nomination_takes_no_room_in_the_manifest():
    files = [_file(n, first_seen=n) for n in range(6)]
    taken_elsewhere = {"f-0.ndjson", "f-1.ndjson", "f-3.ndjson"}  # the GSI still lists them as pending
    won = claim_in_order(files, THRESHOLDS, lambda f: None if f.file_key in taken_elsewhere else f.file_key)
    assert won == ["f-2.ndjson", "f-4.ndjson", "f-5.ndjson"]


def test_manifest_ids_and_documents():
    name = manifest_id(7, "2026-04-01", datetime(2026, 4, 1, 12, 30, 5))
    assert name == "batch-0007-20260401-123005" and date_of_manifest(name) == "2026-04-01"
    document = manifest_document(name, [_file(1), _file(2, size=250)], "2026-04-01T12:30:05Z")
    assert (document["file_count"], document["total_bytes"]) == (2, 350)
    assert document["files"][1] == {"s3_uri": "s3://b/landing/ndjson/2026-04-01/f-2.ndjson", "file_key": "f-2.ndjson",
                                    "size": 250, "etag": "e2", "version_id": "v2"}


def test_leaving_files_out_keeps_the_counts_right_and_says_why():
    document = manifest_document("batch-0001-20260401-000000", [_file(n, size=100 * (n + 1)) for n in range(3)], "t")
    once = exclude_files(document, {"f-1.ndjson": "overwritten"})
    assert [f["file_key"] for f in once["files"]] == ["f-0.ndjson", "f-2.ndjson"]
    assert (once["file_count"], once["total_bytes"]) == (2, 400)
    assert once["excluded_files"] == [{**document["files"][1], "reason": "overwritten"}]
    twice = exclude_files(once, {"f-0.ndjson": "gone"})
    assert [f["file_key"] for f in twice["excluded_files"]] == ["f-1.ndjson", "f-0.ndjson"]
    assert document["file_count"] == 3  # the original is not changed


def test_reads_are_pinned_to_the_claimed_etag():
    assert claimed_content({"etag": "abc"}) == {"IfMatch": '"abc"'}
    assert claimed_content({"etag": "abc", "version_id": "v1"}) == {"VersionId": "v1"}  # a version outlives overwrites
    assert claimed_content({"etag": ""}) == {} and claimed_content({"etag": None, "version_id": None}) == {}


def test_a_claim_takes_only_the_file_keys_that_fit_the_manifest_items_budget():
    files = [PendingFile("2026-04-01", f"{n}-" + "k" * 98, 1, 0.0) for n in range(5)]  # 100-byte keys
    assert within_key_budget(files, used_bytes=0, budget=300) == files[:3]
    assert within_key_budget(files, used_bytes=150, budget=300) == files[:1]
    assert within_key_budget(files, used_bytes=300, budget=300) == []
