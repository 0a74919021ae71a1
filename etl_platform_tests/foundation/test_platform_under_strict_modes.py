"""The platform against the emulator's strict modes, where it still relies on moto's leniency.

Each test states what AWS would do to today's code; they are strict xfails (each names
the platform defect), so fixing the platform turns them red and the mark gets removed.
"""

from __future__ import annotations

import pytest

from etl_platform.config import Settings
from etl_platform.core.ingestion.landing import Placement
from etl_platform.pipelines.csv_profile.service import profile_upload
from etl_platform.resources import platform_resources


@pytest.mark.xfail(strict=True, reason=(
    "platform: every tracking record gets ttl = first seen + 30 days whatever its state, so DynamoDB "
    "deletes pending files and MANIFEST records still in use"))
def test_pending_files_and_manifests_outlive_the_30_day_ttl(aws: Settings, emulator_clock):
    tracking = platform_resources(aws)["tracking_table"]
    assert tracking.track_pending(Placement("2026-06-01", "late.ndjson"), shard=3, size=10, etag="e",
                                  s3_uri="s3://in/landing/ndjson/2026-06-01/late.ndjson")
    manifest = "batch-0001-20260601-000000"
    assert tracking.create_manifest(manifest, reason="count")

    emulator_clock.advance(days=31)
    assert tracking.file("2026-06-01", "late.ndjson") is not None  # still waiting for a manifest
    assert tracking.manifest(manifest) is not None  # still pending


WIDE_COLUMNS = 5000


@pytest.mark.xfail(strict=True, reason=(
    "platform: the metadata item of a 5,000-column CSV profile is ~420 KB by AWS's count; DynamoDB "
    "refuses items over 400 KB, so pipeline C cannot record it"))
def test_the_profile_of_a_5000_column_csv_is_recorded(aws_limits: Settings):
    settings = aws_limits
    resources = platform_resources(settings)
    s3 = resources["s3"].get_client()
    header = ",".join(f"survey_question_{i:04d}_answer_text_en" for i in range(WIDE_COLUMNS))
    rows = [",".join(str((r * 7 + i) % 100) if i % 3 else f"v{r}" for i in range(WIDE_COLUMNS)) for r in range(20)]
    bucket, profiling = settings.names.csv_data_bucket, settings.profiling
    key = profiling.upload_prefix + "wide.csv"
    s3.put_object(Bucket=bucket, Key=key, Body="\n".join([header, *rows, ""]).encode())

    outcome = profile_upload(s3, resources["file_metadata_table"], bucket=bucket, key=key,
                             upload_prefix=profiling.upload_prefix, processed_prefix=profiling.processed_prefix)
    assert outcome.succeeded
    stored = resources["file_metadata_table"].latest_profile(outcome.file_name)
    assert stored["status"] == "success" and len(stored["schema"]) == WIDE_COLUMNS
