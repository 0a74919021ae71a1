"""Pipeline B's end-to-end and concurrency tests again, with DynamoDB's eventually
consistent reads: GSI queries and reads without ConsistentRead lag writes by a second
(etl_platform/local/lagged_reads.py). The scenarios are the original tests, called
unchanged; only the emulator's read mode differs.

Before tracking read consistently they failed: the output held 0 of 1,350 rows while every
manifest reported success (each listed its just-claimed files through an eventually
consistent Query and found none).
"""

from __future__ import annotations

import pytest

from etl_platform_tests.ndjson_to_parquet import test_end_to_end, test_exactly_once

pytestmark = pytest.mark.e2e


def test_450_files_land_once_in_parquet_with_lagged_reads(aws_eventual):
    test_end_to_end.test_450_files_land_once_in_parquet(aws_eventual)


def test_concurrent_claimers_never_share_a_file_with_lagged_reads(aws_eventual):
    test_exactly_once.test_concurrent_claimers_never_share_a_file(aws_eventual)
