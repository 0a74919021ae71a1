"""What a date's pending files wait for, in words and numbers (core/ingestion/backlog.py)."""

from etl_platform.config import MB
from etl_platform.core.ingestion.backlog import (
    HELD, MINTED, WAITING, DateBacklog, carried, describe, next_manifest_in, observation_cursor, observation_due,
    observation_metadata, summary,
)
from etl_platform.core.ingestion.manifests import ManifestThresholds, PendingFile

THRESHOLDS = ManifestThresholds(max_files=200, max_bytes=1024 * MB, orphan_flush_seconds=60)
NOW = 1_000_000.0


def _pending(count: int, size: int, oldest_age: float) -> list[PendingFile]:
    return [PendingFile("2026-12-03", f"f-{n}.ndjson", size, NOW - oldest_age + n) for n in range(count)]


def test_a_waiting_date_says_what_it_has_and_when_the_orphan_flush_forms_its_manifest():
    backlog = DateBacklog.read("2026-12-03", WAITING, _pending(20, 110_000, oldest_age=40), complete=True)
    assert next_manifest_in(backlog, NOW, THRESHOLDS) == 20
    assert describe(backlog, NOW, THRESHOLDS) == (
        "20 files pending for 2026-12-03 (2.1 MB), oldest 40 s; a manifest forms at 200 files, 1 GB or when the "
        "oldest is 60 s old (in 20 s)")
    overdue = DateBacklog.read("2026-12-03", WAITING, _pending(2, 500, oldest_age=90), complete=True)
    assert next_manifest_in(overdue, NOW, THRESHOLDS) == 0
    assert describe(overdue, NOW, THRESHOLDS).endswith("(due now)")


def test_minted_and_held_dates_say_which_manifests_take_their_files():
    minted = DateBacklog.read("2026-12-03", MINTED, _pending(200, 1000, oldest_age=5), complete=False,
                              manifests=("batch-0001-20261203-000000",), reason="200 pending files >= 200")
    assert describe(minted, NOW, THRESHOLDS) == (
        "at least 200 files pending for 2026-12-03 (195.3 KB), oldest 5 s: formed batch-0001-20261203-000000 "
        "(200 pending files >= 200)")
    held = DateBacklog("2026-12-04", HELD, manifests=("batch-0002-20261204-000000",), held_since=NOW - 7)
    assert describe(held, NOW, THRESHOLDS) == (
        "2026-12-04 waits for the run of batch-0002-20261204-000000 (minted 7 s ago), which takes its pending files")
    assert next_manifest_in(held, NOW, THRESHOLDS) == 0
    assert summary([], NOW, THRESHOLDS) == "no files pending"


def test_observation_numbers_per_date_and_in_all():
    waiting = DateBacklog.read("2026-12-03", WAITING, _pending(3, 1000, oldest_age=50), complete=True)
    other = DateBacklog.read("2026-12-02", WAITING, _pending(1, 4000, oldest_age=10), complete=True)
    held = DateBacklog("2026-12-04", HELD, manifests=("batch-0002-20261204-000000",), held_since=NOW)
    metadata = observation_metadata([waiting, other, held], NOW, THRESHOLDS)
    assert (metadata["pending_files"], metadata["pending_bytes"], metadata["dates_pending"]) == (4, 7000, 3)
    assert metadata["oldest_pending_age_s"] == 50.0 and metadata["next_manifest_in_s"] == 0.0  # the held date's manifest exists
    assert (metadata["2026-12-03 pending_files"], metadata["2026-12-03 pending_bytes"]) == (3, 3000)
    assert metadata["2026-12-03 oldest_pending_age_s"] == 50.0 and metadata["2026-12-03 next_manifest_in_s"] == 10.0
    assert metadata["2026-12-03 next_manifest"] == describe(waiting, NOW, THRESHOLDS)
    assert "2026-12-04 pending_files" not in metadata  # a held date's files are not read (module docstring)
    assert isinstance(metadata["pending_files"], int) and isinstance(metadata["oldest_pending_age_s"], float)


def test_an_observation_when_a_date_appears_or_drains_else_at_most_every_interval():
    waiting = [DateBacklog.read("2026-12-03", WAITING, _pending(3, 1000, oldest_age=50), complete=True)]
    assert not observation_due(None, [], NOW, 60)  # nothing pending, nothing said before
    assert observation_due(None, waiting, NOW, 60)
    last = observation_cursor(None, waiting, NOW)
    assert not observation_due(last, waiting, NOW + 30, 60)
    assert observation_due(last, waiting, NOW + 60, 60)
    other = [DateBacklog.read("2026-12-02", WAITING, _pending(1, 1000, oldest_age=5), complete=True)]
    assert observation_due(last, waiting + other, NOW + 1, 60)  # a date appears
    assert observation_due(last, [], NOW + 1, 60)  # drained: one last observation says 0
    assert not observation_due(observation_cursor(None, [], NOW), [], NOW + 120, 60)


def test_a_busy_date_flipping_minted_and_held_every_tick_is_observed_once_a_minute_with_steady_totals():
    """Under steady load a date is minted on one tick and held (its manifest waits for its run)
    on the next; the flip is no reason to observe, and the held ticks keep the last numbers."""
    ticks = []
    cursor, observed_at = None, 0.0
    for tick in range(13):  # two minutes of 10 s ticks
        now = NOW + 10 * tick
        if tick % 2 == 0:
            backlog = DateBacklog.read("2026-12-03", MINTED, _pending(200, 1000, oldest_age=30), complete=False,
                                       manifests=(f"batch-{tick:04d}",), reason="200 pending files >= 200")
        else:
            backlog = DateBacklog("2026-12-03", HELD, manifests=(f"batch-{tick - 1:04d}",), held_since=now - 10)
        if observation_due(cursor, [backlog], now, 60):
            observed_at = now
            ticks.append(tick)
        metadata = observation_metadata(carried(cursor, [backlog]), now, THRESHOLDS)
        assert metadata["pending_files"] == 200 and metadata["2026-12-03 pending_files"] == 200, tick
        assert metadata["oldest_pending_age_s"] > 0, tick
        cursor = observation_cursor(cursor, [backlog], observed_at)
    assert ticks == [0, 6, 12]


def test_a_held_date_never_measured_is_left_out_of_the_totals():
    waiting = DateBacklog.read("2026-12-02", WAITING, _pending(2, 1000, oldest_age=20), complete=True)
    held = DateBacklog("2026-12-04", HELD, manifests=("batch-0002-20261204-000000",), held_since=NOW)
    metadata = observation_metadata(carried(None, [waiting, held]), NOW, THRESHOLDS)
    assert (metadata["pending_files"], metadata["oldest_pending_age_s"]) == (2, 20.0)
    assert "2026-12-04 pending_files" not in metadata
    cursor = observation_cursor(None, [waiting, held], NOW)
    assert cursor["dates"]["2026-12-04"] is None and not observation_due(cursor, [waiting, held], NOW + 10, 60)
