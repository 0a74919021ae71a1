"""Pipeline B's health rules, the day summary of the metrics table and the manifest view,
with plain data (core/ingestion/health.py, metrics_summary.py, manifest_view.py)."""

from etl_platform.core.ingestion.health import (
    FailedManifest, HealthSnapshot, HealthThresholds, OpenManifest, ShardBacklog, by_date, duration, numbers, problems,
    render,
)
from etl_platform.core.ingestion.manifest_view import is_manifest_id, manifest_view, render_manifest
from etl_platform.core.ingestion.metrics_summary import summarise_day

NOW = 1_780_000_000.0
LIMITS = HealthThresholds(pending_age_seconds=1800, stuck_manifest_seconds=600)


def _snapshot(**changes) -> HealthSnapshot:
    return HealthSnapshot(taken_at=NOW, **changes)


def test_an_empty_pipeline_is_healthy():
    snapshot = _snapshot()
    assert problems(snapshot, LIMITS) == []
    assert numbers(snapshot, LIMITS)["problems"] == 0
    assert render(snapshot, LIMITS).splitlines()[0] == "pipeline B health: healthy"


def test_fresh_pending_files_and_live_manifests_are_healthy():
    snapshot = _snapshot(
        backlog=(ShardBacklog("2026-05-01", 3, 4, 4096, NOW - 60),),
        open_manifests=(OpenManifest("batch-0001-20260501-000000", "processing", NOW - 3600, True, "its run is STARTED"),),
    )
    assert problems(snapshot, LIMITS) == []


def test_each_problem_is_named_with_what_to_do():
    snapshot = _snapshot(
        dead_letters=2,
        backlog=(ShardBacklog("2026-05-01", 3, 4, 4096, NOW - 1800), ShardBacklog("2026-05-02", 1, 1, 10, NOW - 5)),
        open_manifests=(OpenManifest("batch-0001-20260501-000000", "processing", NOW - 600, False, "its run ended FAILURE"),
                        OpenManifest("batch-0002-20260501-000000", "pending", NOW - 599, False, "no Dagster run holds it")),
        breaker_blocking="circuit breaker open: 3 consecutive failed manifests",
    )
    found = {p.code: p for p in problems(snapshot, LIMITS)}
    assert list(found) == ["dead_letters", "stale_pending", "stuck_manifests", "breaker_open"]
    assert "redrive-dlq" in found["dead_letters"].message and not found["dead_letters"].severe
    # only the date whose oldest file passed the limit is named
    assert "2026-05-01" in found["stale_pending"].message and "2026-05-02" not in found["stale_pending"].message
    # unchanged for exactly the limit is stuck; a second less is not yet
    assert "batch-0001-20260501-000000" in found["stuck_manifests"].message
    assert "batch-0002" not in found["stuck_manifests"].message and "reset-stuck" in found["stuck_manifests"].message
    figures = numbers(snapshot, LIMITS)
    assert figures["stuck_manifests"] == 1 and figures["open_manifests"] == 2 and figures["problems"] == 4
    assert figures["pending_files"] == 5 and figures["oldest_pending_age_s"] == 1800.0


def test_the_report_shows_dates_shards_ages_and_truncated_reads():
    snapshot = _snapshot(
        queue_visible=7, dead_letters=0,
        backlog=(ShardBacklog("2026-05-01", 0, 500, 500 * 1024 * 1024, NOW - 125, truncated=True),
                 ShardBacklog("2026-05-01", 4, 2, 2048, NOW - 30)),
        failed=(FailedManifest("batch-0003-20260501-000000", "failed", 3, "KeyError: x"),),
    )
    text = render(snapshot, LIMITS)
    assert "pending files: 502+" in text
    assert "2026-05-01    502+ files" in text and "oldest 2m 05s" in text
    assert "shard 0    500+ files  oldest 2m 05s" in text and "shard 4       2 files  oldest 30s" in text
    assert "file-events queue: 7 waiting" in text
    assert "batch-0003-20260501-000000  failed, 3 failed file(s): KeyError: x" in text and "requeue-failed" in text
    [day] = by_date(snapshot.backlog)
    assert (day.files, day.truncated, day.oldest_first_seen) == (502, True, NOW - 125)


def test_durations_read_at_a_glance():
    assert [duration(s) for s in (0, 59, 60, 3599, 3600, 86399, 90000)] == \
        ["0s", "59s", "1m 00s", "59m 59s", "1h 00m", "23h 59m", "1d 01h"]


def test_a_day_of_metrics_is_summed_as_numbers():
    items = [
        {"manifest_id": "batch-0001-20260501-000000", "status": "completed", "files": 10, "bytes": 3 * 1024 * 1024,
         "rows_in": 100, "rows_out": 98, "rejected": 2, "duration_s": 1.5},
        {"manifest_id": "batch-0002-20260501-000000", "status": "completed", "files": 5, "bytes": 1024 * 1024,
         "rows_in": 50, "rows_out": 50, "rejected": 0, "duration_s": 0.5},
        {"manifest_id": "batch-0003-20260501-000000", "status": "failed", "files": 4, "bytes": 999, "error": "boom"},
        {"manifest_id": "RECONCILIATION#2026-05-01T00:15:00.000Z", "status": "reconciled", "listed": 9, "recovered": 2,
         "errors": 1},
        {"manifest_id": "batch-0004-20260501-000000", "status": "completed", "files": "garbled"},  # written by hand
    ]
    summary = summarise_day(items)
    assert summary == {
        "manifests_completed": 3, "manifests_failed": 1, "manifest_failure_pct": 25.0,
        "files_converted": 15, "files_in_failed_manifests": 4, "input_mb": 4.0,
        "rows_in": 150, "rows_out": 148, "rejected_lines": 2, "conversion_seconds": 2.0, "mb_per_s": 2.0,
        "slowest_manifest_s": 1.5, "reconciliation_passes": 1, "files_recovered": 2, "reconciliation_errors": 1,
    }
    assert summarise_day([])["mb_per_s"] == 0.0 and summarise_day([])["manifest_failure_pct"] == 0.0


def test_a_manifest_view_counts_its_files_states():
    record = {"manifest_id": "batch-0001-20260501-000000", "status": "failed", "error": "boom", "file_count": 2,
              "reason": "orphan flush"}
    files = [{"file_key": "a.ndjson", "status": "failed#3", "shard_id": 3, "size": 10, "first_seen": "t1", "error": "boom"},
             {"file_key": "b.ndjson", "status": "failed#1", "shard_id": 1, "size": 20, "first_seen": "t2"}]
    view = manifest_view(record, files)
    assert view["file_states"] == {"failed": 2} and view["error"] == "boom"
    text = render_manifest(view)
    assert "files: 2 (2 failed)" in text and "a.ndjson  boom" in text and "  reason: orphan flush" in text
    assert is_manifest_id("batch-0001-20260501-000000")
    assert not is_manifest_id("batch-1") and not is_manifest_id("../etc/passwd")
