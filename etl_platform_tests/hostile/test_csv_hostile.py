"""Pipeline C's profiler on every hostile CSV input of the README table (fast; the same
inputs go through the upload sensor and runs in the e2e test)."""

from __future__ import annotations

import io

import pytest

from etl_platform.core.csv_profile import CsvProfileError, profile_csv
from etl_platform_tests.hostile import csv_inputs
from etl_platform_tests.hostile.documented import documented, matches

DOC = documented("C CSV")


def profiled(data: bytes) -> tuple[str, str]:
    """(status, message) as the metadata item records them."""
    try:
        return "success", csv_inputs.describe(profile_csv(io.BytesIO(data)))
    except CsvProfileError as exc:
        return "error", str(exc)


@pytest.mark.parametrize("scenario", sorted(csv_inputs.SCENARIOS))
def test_hostile_csv(scenario):
    status, message = profiled(csv_inputs.SCENARIOS[scenario]())
    assert status == DOC[scenario][0]
    assert matches(DOC[scenario][1], message), message


def test_the_innocent_file_profiles_whole():
    assert profiled(csv_inputs.innocent()) == ("success", "20 rows, 3 columns")


def test_every_documented_csv_scenario_is_generated():
    assert set(DOC) == set(csv_inputs.SCENARIOS)
