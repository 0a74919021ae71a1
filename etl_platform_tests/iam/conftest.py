"""An IAM-enforced embedded AWS for this folder's tests, separate from the session's
normal emulator: the same server process with `--iam`, provisioned by its admin."""

from __future__ import annotations

import pytest

from etl_platform.config import Settings
from etl_platform.local import emulator


@pytest.fixture(scope="session")
def iam_emulator(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings signing as the IAM-enforced emulator's admin."""
    settings = Settings(state_dir=tmp_path_factory.mktemp("iam-emulator-state"))
    state = emulator.up(settings, port=0, snapshot_interval=-1, iam=True)
    yield state.live_settings(settings)
    emulator.down(settings)


@pytest.fixture
def admin(iam_emulator: Settings) -> Settings:
    """The admin's settings on a freshly wiped and provisioned IAM-enforced emulator."""
    emulator.reset(iam_emulator)
    return iam_emulator
