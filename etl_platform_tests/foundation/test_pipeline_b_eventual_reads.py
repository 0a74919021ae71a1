"""Pipeline B's end-to-end, batching and concurrency tests again, with DynamoDB's eventually
consistent reads: GSI queries and reads without ConsistentRead lag writes by a second
(etl_platform/local/lagged_reads.py). The scenarios are the original tests, called
unchanged; only the emulator's read mode differs.

Before tracking read consistently they failed: the output held 0 of 1,350 rows while every
manifest reported success (each listed its just-claimed files through an eventually
consistent Query and found none).
"""

from __future__ import annotations

import time

import pytest

from etl_platform_tests.conftest import lagged_reads
from etl_platform_tests.ndjson_to_parquet import test_end_to_end, test_exactly_once, test_pipeline_arrow
from etl_platform_tests.ndjson_to_parquet.harness import Pipeline, records, scaled, manifest_id_of

pytestmark = pytest.mark.e2e


def test_450_files_land_once_in_parquet_with_lagged_reads(aws_eventual):
    test_end_to_end.test_450_files_land_once_in_parquet(aws_eventual)


def test_concurrent_claimers_never_share_a_file_with_lagged_reads(aws_eventual):
    test_exactly_once.test_concurrent_claimers_never_share_a_file(aws_eventual)


def test_manifests_form_by_count_with_lagged_reads(aws_eventual):
    """The sensor mints manifests from pending files a consistent read confirms, not from the
    GSI, which still lists files claimed a moment ago (an extra, early manifest otherwise)."""
    test_pipeline_arrow.test_files_become_manifests_and_parquet_exactly_once(aws_eventual)


def test_the_sensor_mints_no_manifest_from_a_stale_pending_listing(aws):
    """Right after a run claimed files, the status GSI may still list them as pending: the
    sensor confirms nominations with a consistent read before it mints a manifest."""
    lag = 4.0
    with lagged_reads(aws, seconds=lag) as settings:
        pipeline = Pipeline(scaled(settings, manifest_max_files=5))
        for i in range(6):
            pipeline.land("2026-02-02", f"s-{i}.ndjson", records(f"s{i}", 2))
        assert pipeline.tick().run_requests == []  # tracked, but the GSI does not show them yet
        time.sleep(lag + 0.5)
        [request] = pipeline.tick().run_requests  # 6 pending: one full manifest of 5
        assert pipeline.run(manifest_id_of(request)).success
        assert pipeline.tick().run_requests == []  # 1 file really pending; the lagged GSI still says 6
    assert len(pipeline.output_rows("2026-02-02")) == 10
