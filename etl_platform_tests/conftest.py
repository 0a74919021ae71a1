"""Test harness: one real embedded-AWS process per test session (per xdist worker).

The emulator is the same `etl_platform.local.server` that `etl-platform local up` runs, on
a free 127.0.0.1 port, provisioned from infra/template.yaml by the same code. Tests that
need a clean account take the `aws` fixture, which wipes and re-provisions it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from etl_platform.config import Settings
from etl_platform.local import emulator


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
