"""Test harness: one real embedded-AWS process per test session (per xdist worker).

The emulator is the same `etl_platform.local.server` that `etl-platform local up` runs, on
a free 127.0.0.1 port, provisioned from infra/template.yaml by the same code. Tests that
need a clean account take the `aws` fixture, which wipes and re-provisions it.

Strict modes (README, "Strict modes of the embedded AWS") are off in the session emulator
unless the ETL_EMULATOR_* variables say otherwise (`ETL_EMULATOR_READ_LAG=1 make test` runs
everything with lagged reads). A test switches one on for itself through a fixture:
`aws_eventual` (lagged reads), `aws_limits` (AWS's limits), `emulator_clock` (TTL and
lifecycle expiry on a clock the test advances). Each puts the mode back as it found it.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from etl_platform.config import Settings
from etl_platform.local import emulator

pytest_plugins = ["etl_platform_tests.browser"]  # chromium, browser_page: for every browser test

READ_LAG_SECONDS = 1.0  # long enough that a read right after a write lands inside the window


@pytest.fixture(scope="session")
def emulator_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    state_dir: Path = tmp_path_factory.mktemp("emulator-state")
    settings = Settings(state_dir=state_dir)
    state = emulator.up(settings, port=0, snapshot_interval=-1)
    yield settings.with_overrides(endpoint_url=state.endpoint)
    emulator.down(settings)


@pytest.fixture
def aws(emulator_settings: Settings) -> Settings:
    """Settings pointing at a freshly wiped and provisioned emulator."""
    emulator.reset(emulator_settings)
    return emulator_settings


@contextmanager
def lagged_reads(settings: Settings, seconds: float = READ_LAG_SECONDS) -> Iterator[Settings]:
    """Within: eventually consistent DynamoDB reads (GSI reads, and reads without
    ConsistentRead) see items as they were `seconds` ago, as DynamoDB may."""
    before = emulator.control(settings.endpoint_url, "lag")["seconds"]
    emulator.control(settings.endpoint_url, "lag", {"seconds": max(before, seconds)})
    try:
        yield settings
    finally:
        emulator.control(settings.endpoint_url, "lag", {"seconds": before})


@pytest.fixture
def aws_eventual(aws: Settings) -> Settings:
    """`aws` with lagged eventually consistent reads (see `lagged_reads`)."""
    with lagged_reads(aws) as settings:
        yield settings


@pytest.fixture
def aws_limits(aws: Settings) -> Settings:
    """`aws` enforcing AWS's limits that moto lacks (item size, batch and message sizes,
    queue policies of S3 notification destinations)."""
    endpoint = aws.endpoint_url
    before = emulator.control(endpoint, "limits")["enabled"]
    emulator.control(endpoint, "limits", {"enabled": True})
    yield aws
    emulator.control(endpoint, "limits", {"enabled": before})


@dataclass
class EmulatorClock:
    """The emulator's clock, which DynamoDB TTL and S3 lifecycle expiry read."""

    endpoint: str

    def now(self) -> float:
        return emulator.control(self.endpoint, "clock")["now"]

    def advance(self, *, days: float = 0, seconds: float = 0) -> dict:
        """Move the clock forward; expired items and objects are deleted before it returns.
        Answers {"now", "offset_seconds", "swept": {"items_deleted", ...}}."""
        return emulator.control(self.endpoint, "clock", {"advance_seconds": days * 86400 + seconds})

    def sweep(self) -> dict:
        return emulator.control(self.endpoint, "expiry", {"sweep": True})["swept"]

    def back_to_real_time(self) -> None:
        """The platform stamps its TTLs with the real clock: before it writes again, the
        emulator's clock returns to it (or the new TTLs would be weeks in the past)."""
        emulator.control(self.endpoint, "clock", {"reset": True})


@pytest.fixture
def emulator_clock(aws: Settings) -> EmulatorClock:
    """Expiry on, for this test, on a clock it advances (`emulator_clock.advance(days=31)`)."""
    endpoint = aws.endpoint_url
    before = emulator.control(endpoint, "expiry")["enabled"]
    emulator.control(endpoint, "expiry", {"enabled": True})
    yield EmulatorClock(endpoint)
    emulator.control(endpoint, "clock", {"reset": True})
    emulator.control(endpoint, "expiry", {"enabled": before})
