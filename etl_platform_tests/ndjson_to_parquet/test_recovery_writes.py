"""The MANIFEST writes recovery rests on, against the emulator: the record-first claim
marker, and the re-run count that two sensors
racing on the same dead run cannot both win."""

from etl_platform.resources import platform_resources
from etl_platform_tests.ndjson_to_parquet.test_breaker_atomic import _concurrently

MANIFEST = "batch-0001-20260601-120000"


def _tracking(aws):
    tracking = platform_resources(aws)["tracking_table"]
    assert tracking.create_manifest(MANIFEST, reason="test", now=100.0)
    return tracking


def test_a_claim_is_recorded_before_it_starts_and_a_later_run_takes_over_a_cut_short_one(aws):
    tracking = _tracking(aws)
    assert tracking.begin_claim(MANIFEST, "run-1", now=200.0)["run_id"] == "run-1"
    assert tracking.begin_claim(MANIFEST, "run-2", now=300.0)["run_id"] == "run-2"  # run-1 died mid-claim
    tracking.update_manifest(MANIFEST, claimed=True)
    assert tracking.begin_claim(MANIFEST, "run-3") is None  # claimed: a re-run reuses the claim
    assert tracking.manifest(MANIFEST)["run_id"] == "run-2"


def test_of_sensors_racing_on_one_dead_run_exactly_one_counts_the_rerun(aws):
    tracking = _tracking(aws)
    won = _concurrently(8, lambda _: tracking.request_rerun(MANIFEST, seen_attempts=1, dead_run="run-1",
                                                            now=1000.0, stale_after=60.0))
    assert sum(w is not None for w in won) == 1
    record = tracking.manifest(MANIFEST)
    assert (record["attempts"], record["rerun_of"]) == (2, "run-1")
    # one that read the count before that write cannot count the next run from it (no lost count) ...
    assert tracking.request_rerun(MANIFEST, seen_attempts=1, dead_run="run-2", now=1005.0, stale_after=60.0) is None
    # ... one that read the new count still cannot start another run for the same dead run ...
    assert tracking.request_rerun(MANIFEST, seen_attempts=2, dead_run="run-1", now=1010.0, stale_after=60.0) is None
    # ... unless that re-run request was lost (no newer run after the grace) or the re-run died too
    assert tracking.request_rerun(MANIFEST, seen_attempts=2, dead_run="run-1", now=1100.0, stale_after=60.0)
    assert tracking.request_rerun(MANIFEST, seen_attempts=3, dead_run="run-2", now=1101.0, stale_after=60.0)
    assert tracking.manifest(MANIFEST)["attempts"] == 4


def test_a_settled_manifest_is_never_rerun(aws):
    tracking = _tracking(aws)
    tracking.start_manifest(MANIFEST, "run-1")
    tracking.complete_manifest(MANIFEST, "run-1")
    assert tracking.request_rerun(MANIFEST, seen_attempts=1, dead_run="run-1", now=1000.0, stale_after=60.0) is None


def test_open_manifests_are_the_pending_and_processing_ones(aws):
    tracking = _tracking(aws)
    for name, state in (("batch-0002-20260601-120000", "processing"), ("batch-0003-20260601-120000", "completed")):
        tracking.create_manifest(name, reason="test")
        tracking.start_manifest(name, "run-x")
        if state == "completed":
            tracking.complete_manifest(name, "run-x")
    assert [m["manifest_id"] for m in tracking.open_manifests()] == [MANIFEST, "batch-0002-20260601-120000"]


def test_a_replay_claiming_a_failed_manifest_is_a_claim_in_progress_whose_files_the_reaper_leaves(aws):
    """A manifest given up mid-claim is replayed: while the replay claims, the MANIFEST is
    pending again, so the reaper's sweep of files stranded under settled MANIFESTs does not
    fail the files the live replay has just claimed."""
    from dagster import DagsterInstance

    from etl_platform.core.ingestion.landing import Placement
    from etl_platform.pipelines.ndjson_to_parquet.reaper import settle_stranded_files

    tracking = _tracking(aws)
    place = Placement("2026-06-01", "late.ndjson")
    assert tracking.track_pending(place, shard=3, size=10, etag="e", s3_uri="s3://b/k")
    assert tracking.fail_manifest(MANIFEST, "run-0", "gave up after 3 runs")  # pending, never claimed
    assert tracking.begin_claim(MANIFEST, "replay-run")["status"] == "pending"
    [pending] = tracking.pending_files("2026-06-01")
    assert tracking.plan_claim(MANIFEST, "replay-run", [pending.file_key])  # record first, as the claim does
    assert tracking.claim(pending, MANIFEST) is not None
    with DagsterInstance.ephemeral() as instance:
        assert settle_stranded_files(print, instance, tracking, aws) == {}
    assert tracking.file("2026-06-01", "late.ndjson")["status"] == "manifested#3"


def test_reset_stuck_leaves_a_pending_manifest_to_a_run_that_claimed_it_after_the_judgement(aws, monkeypatch):
    """`ops reset-stuck` judges a pending MANIFEST's claim dead; a re-run's `begin_claim`
    lands before its give-up write: the re-run keeps the manifest. Without a run taking it
    over, the same give-up fails it (the reaper's and the operator's give-up still work)."""
    from dagster import DagsterInstance

    from etl_platform.pipelines.ndjson_to_parquet import maintenance

    tracking = _tracking(aws)
    assert tracking.begin_claim(MANIFEST, "dead-run", now=200.0)
    judge = maintenance.judge_open_manifests

    def judged_then_taken_over(*args, **kwargs):
        judged = judge(*args, **kwargs)
        assert tracking.begin_claim(MANIFEST, "re-run")  # the reaper's re-run starts claiming meanwhile
        return judged

    monkeypatch.setattr(maintenance, "judge_open_manifests", judged_then_taken_over)
    with DagsterInstance.ephemeral() as instance:
        [outcome], _ = maintenance.reset_stuck(aws, instance, older_than=0)
        record = tracking.manifest(MANIFEST)
        assert not outcome.reset and "left to that run" in outcome.why
        assert (record["status"], record["run_id"]) == ("pending", "re-run")
        assert tracking.breaker().consecutive_failures == 0

        monkeypatch.setattr(maintenance, "judge_open_manifests", judge)
        [outcome], _ = maintenance.reset_stuck(aws, instance, older_than=0)
    assert outcome.reset and tracking.manifest(MANIFEST)["status"] == "failed"
