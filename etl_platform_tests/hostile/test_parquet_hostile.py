"""Pipeline A's Glue job and upload check on every hostile Parquet input of the README
tables (fast; the same inputs go through the API and the drop sensor in the e2e tests)."""

from __future__ import annotations

import io
import os
import sys

import pytest

from etl_platform.core.parquet_jobs import parquet_stream_problem
from etl_platform_tests.hostile import parquet_inputs
from etl_platform_tests.hostile.documented import documented, matches

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from glue_jobs import parquet_to_json as job  # noqa: E402

DROP = documented("A drop")
UPLOAD = documented("A upload")


def converted(data: bytes) -> tuple[str, str]:
    """(job status, message) as the Glue job leaves them: its ConversionError, or what its output holds."""
    sink = io.BytesIO()
    try:
        stats = job.convert(io.BytesIO(data), sink)
    except job.ConversionError as exc:
        return "FAILED", str(exc)
    assert stats["bytes_out"] == len(sink.getvalue())
    return "COMPLETED", parquet_inputs.describe_output(sink.getvalue())


@pytest.mark.parametrize("scenario", sorted(parquet_inputs.SCENARIOS))
def test_hostile_parquet_in_the_glue_job(scenario):
    status, message = converted(parquet_inputs.SCENARIOS[scenario]())
    assert status == DROP[scenario][0]
    assert matches(DROP[scenario][1], message), message


@pytest.mark.parametrize("scenario", sorted(parquet_inputs.SCENARIOS))
def test_hostile_parquet_at_the_upload_check(scenario):
    """The API refuses (400) exactly the inputs without PAR1 at both ends, with the reason;
    the others convert."""
    data = parquet_inputs.SCENARIOS[scenario]()
    problem = parquet_stream_problem(io.BytesIO(data), len(data))
    status, message = ("400", problem) if problem else converted(data)
    assert status == UPLOAD[scenario][0]
    assert matches(UPLOAD[scenario][1], message), message


def test_the_innocent_file_converts_whole():
    assert converted(parquet_inputs.innocent(25)) == ("COMPLETED", "25 rows, 2 columns")


def test_every_documented_parquet_scenario_is_generated():
    assert set(DROP) == set(UPLOAD) == set(parquet_inputs.SCENARIOS)
