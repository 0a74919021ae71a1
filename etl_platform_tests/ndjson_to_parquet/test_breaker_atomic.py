"""The circuit breaker's item under concurrent writers, against the emulator: failures
are counted with one atomic update each, opening and the success reset are conditional,
the operator's reset is idempotent. (The rules: etl_platform/core/ingestion/breaker.py.)"""

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

from etl_platform.pipelines.ndjson_to_parquet import operations
from etl_platform.resources import platform_resources
from etl_platform.resources.tracking import BREAKER_ITEM
from etl_platform_tests.ndjson_to_parquet.harness import Pipeline, records, scaled, manifest_id_of

WRITERS = 20
THRESHOLD, COOLDOWN = 5, 3600


def _concurrently(n, action):
    """`action(i)` in n threads released together, so their requests interleave."""
    gate = Barrier(n)

    def run(i):
        gate.wait()
        return action(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def test_concurrent_failures_all_count_and_open_the_breaker_exactly_once(aws):
    tracking = platform_resources(aws)["tracking_table"]
    results = _concurrently(WRITERS, lambda _: tracking.record_breaker_failure(
        threshold=THRESHOLD, cooldown_seconds=COOLDOWN))

    state = tracking.breaker()
    assert (state.consecutive_failures, state.failures_total) == (WRITERS, WRITERS)
    assert sorted(s.failures_total for s, _ in results) == list(range(1, WRITERS + 1))  # each saw its own count
    assert [opened for _, opened in results].count(True) == 1 and state.times_opened == 1
    assert state.opened_at is not None


def test_the_breaker_opens_at_the_threshold_and_not_again_while_open(aws):
    tracking = platform_resources(aws)["tracking_table"]
    outcomes = [tracking.record_breaker_failure(threshold=3, cooldown_seconds=COOLDOWN, now=1000.0 + i)[1]
                for i in range(5)]
    assert outcomes == [False, False, True, False, False]
    # after the cool-down, a failed probe opens it again
    state, opened = tracking.record_breaker_failure(threshold=3, cooldown_seconds=COOLDOWN, now=1002.0 + COOLDOWN)
    assert opened and state.opened_at == 1002.0 + COOLDOWN and state.times_opened == 2


def test_a_success_does_not_erase_a_failure_counted_after_its_run_started(aws):
    tracking = platform_resources(aws)["tracking_table"]
    tracking.record_breaker_failure(threshold=2, cooldown_seconds=COOLDOWN)
    mark = tracking.breaker().failures_total  # a run starts
    tracking.record_breaker_failure(threshold=2, cooldown_seconds=COOLDOWN)  # another run fails meanwhile
    assert not tracking.record_breaker_success(mark)
    assert tracking.breaker().consecutive_failures == 2 and tracking.breaker().opened_at is not None

    assert tracking.record_breaker_success(tracking.breaker().failures_total)  # nothing failed since: reset
    state = tracking.breaker()
    assert (state.consecutive_failures, state.opened_at, state.failures_total) == (0, None, 2)


def test_the_operator_reset_is_unconditional_and_idempotent(aws):
    tracking = platform_resources(aws)["tracking_table"]
    assert operations.reset_breaker(aws).consecutive_failures == 0  # no item yet: nothing to replace
    for _ in range(3):
        tracking.record_breaker_failure(threshold=3, cooldown_seconds=COOLDOWN)
    previous = operations.reset_breaker(aws)
    assert previous.consecutive_failures == 3 and previous.opened_at is not None
    again = operations.reset_breaker(aws)
    assert (again.consecutive_failures, again.opened_at) == (0, None)
    assert tracking.breaker().failures_total == 3  # the total is history, a reset keeps it
    status = operations.status(aws, now=0.0)["circuit_breaker"]
    assert status["consecutive_failures"] == 0 and status["blocking"] is None and status["opened_at"] is None


def test_bad_files_on_several_dates_do_not_trip_it_only_failed_manifests_count(aws):
    """The incident behind this design: three bad files on three dates. A file's problem
    fails that file (here: its claimed version deleted, so it is left out); its manifest
    completes, and nothing counts toward the breaker."""
    pipeline = Pipeline(scaled(aws, manifest_max_files=2, circuit_breaker_failures=2, circuit_breaker_cooldown_seconds=3600))
    days = ["2026-05-01", "2026-05-02", "2026-05-03"]
    for day in days:
        for i in range(2):
            pipeline.land(day, f"f-{i}.ndjson", records(f"{day}-{i}", 4))
    requests = pipeline.tick().run_requests
    assert sorted(r.tags["date_prefix"] for r in requests) == days
    for day in days:
        bad = pipeline.tracking.file(day, "f-1.ndjson")
        pipeline.s3.delete_object(Bucket=aws.names.ndjson_input_bucket, Key=f"landing/ndjson/{day}/f-1.ndjson",
                                  VersionId=bad["version_id"])
    assert all(pipeline.run(manifest_id_of(r)).success for r in requests)
    assert sorted(f["date_prefix"] for f in pipeline.tracking.files_in_state("failed")) == days
    assert pipeline.tracking.breaker().consecutive_failures == 0

    pipeline.land("2026-05-04", "g-0.ndjson", records("g0", 4))
    pipeline.land("2026-05-04", "g-1.ndjson", records("g1", 4))
    assert [r.tags["date_prefix"] for r in pipeline.tick().run_requests] == ["2026-05-04"]  # nothing is paused


def test_an_item_written_before_these_updates_still_counts_opens_and_resets(aws):
    """Items the read-modify-write breaker left (restored snapshots, a live table): opened_at
    stored as NULL, no failures_total."""
    tracking = platform_resources(aws)["tracking_table"]
    tracking.put({**BREAKER_ITEM, "consecutive_failures": 2, "opened_at": None})
    state, opened = tracking.record_breaker_failure(threshold=3, cooldown_seconds=COOLDOWN)
    assert opened and state.consecutive_failures == 3
    assert operations.status(aws, now=state.opened_at + 1)["circuit_breaker"]["blocking"]

    tracking.put({**BREAKER_ITEM, "consecutive_failures": 2, "opened_at": None})
    assert tracking.record_breaker_success(tracking.breaker().failures_total)  # read as 0: nothing counted since
    assert tracking.breaker().consecutive_failures == 0
