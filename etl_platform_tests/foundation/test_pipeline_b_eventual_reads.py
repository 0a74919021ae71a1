"""Pipeline B's end-to-end and concurrency tests again, with DynamoDB's eventually
consistent reads: GSI queries and reads without ConsistentRead lag writes by a second
(etl_platform/local/lagged_reads.py). The scenarios are the original tests, called
unchanged; only the emulator's read mode differs.

Both fail on today's tracking code (xfail, strict: they turn red once it is fixed, so the
marks get removed then).
"""

from __future__ import annotations

import pytest

from etl_platform.config import Settings
from etl_platform_tests.conftest import lagged_reads
from etl_platform_tests.ndjson_to_parquet import test_end_to_end, test_exactly_once

pytestmark = pytest.mark.e2e


@pytest.fixture
def aws_lagged(aws: Settings) -> Settings:
    with lagged_reads(aws) as settings:
        yield settings


@pytest.mark.xfail(strict=True, reason=(
    "platform: with a 1 s read lag the Parquet output holds 0 of 1,350 rows while every manifest "
    "reports success (each lists its just-claimed files with a Query without ConsistentRead and "
    "finds none), and the sensor plans a second manifest from a stale pending listing that then "
    "claims 0 files (4 manifests where 3 are expected)"))
def test_450_files_land_once_in_parquet_with_lagged_reads(aws_lagged):
    test_end_to_end.test_450_files_land_once_in_parquet(aws_lagged)


@pytest.mark.xfail(strict=True, reason=(
    "platform: TrackingTable.files_of_manifest lists a manifest's files with a Query without "
    "ConsistentRead, so files it has just claimed are missing from the list"))
def test_concurrent_claimers_never_share_a_file_with_lagged_reads(aws_lagged):
    test_exactly_once.test_concurrent_claimers_never_share_a_file(aws_lagged)
