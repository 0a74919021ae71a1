"""The platform against the emulator's expiry mode: what DynamoDB's TTL would delete."""

from __future__ import annotations

from etl_platform.config import Settings
from etl_platform.core.ingestion.landing import Placement
from etl_platform.resources import platform_resources


def test_pending_files_and_manifests_outlive_the_30_day_ttl(aws: Settings, emulator_clock):
    tracking = platform_resources(aws)["tracking_table"]
    assert tracking.track_pending(Placement("2026-06-01", "late.ndjson"), shard=3, size=10, etag="e",
                                  s3_uri="s3://in/landing/ndjson/2026-06-01/late.ndjson")
    manifest = "batch-0001-20260601-000000"
    assert tracking.create_manifest(manifest, reason="count")

    emulator_clock.advance(days=31)
    assert tracking.file("2026-06-01", "late.ndjson") is not None  # still waiting for a manifest
    assert tracking.manifest(manifest) is not None  # still pending
