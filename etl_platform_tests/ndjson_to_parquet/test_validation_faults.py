"""A validation run killed by SIGKILL loses no file event.

The run is killed in a real child process (faults_harness.py) after the validator handled a
batch and before the batch's messages were deleted (fault point `ndjson.validation_batch`).
Nothing settles anything: the messages it held come back after their visibility timeout,
the file-events sensor ends the silent run and requests the next validation run, whose
handler finds the already tracked files (`duplicate`), and every row reaches Parquet once.
"""

import pytest
from dagster import RunsFilter

from etl_platform.pipelines.ndjson_to_parquet.validation import VALIDATION_JOB
from etl_platform_tests.ndjson_to_parquet.faults_harness import KILLED, FaultyPipeline, recovering
from etl_platform_tests.ndjson_to_parquet.harness import records, scaled

pytestmark = pytest.mark.e2e

DATE = "2026-06-02"
FILES, ROWS = 25, 4
VISIBILITY_SECONDS = 5  # how long the killed run's messages stay hidden


def _returned(queue, pipeline):
    """Wait (on the queue itself) until no message is held by the dead run any more."""
    for _ in range(600):
        depth = queue.approximate_depth()
        if depth["in_flight"] == 0:
            return depth
        pipeline.s3.list_buckets()  # a round trip to the emulator between two looks
    raise AssertionError(f"the killed run's messages never came back: {depth}")


def test_sigkill_between_validating_a_batch_and_deleting_it_loses_nothing(aws, tmp_path):
    settings = recovering(scaled(aws, manifest_max_files=FILES, sqs_visibility_seconds=VISIBILITY_SECONDS,
                                 validator_concurrency=1))
    pipeline = FaultyPipeline(settings, tmp_path / "dagster")
    queue = pipeline.resources["file_events_queue"]
    ids = []
    for i in range(FILES):
        rows = records(f"v{i}", ROWS)
        pipeline.land(DATE, f"v-{i:02d}.ndjson", rows)
        ids += [r["id"] for r in rows]

    # batch 1 validated and deleted, batch 2 validated and killed before its delete
    assert pipeline.in_child("tick", "ndjson.validation_batch@2") == KILLED
    [killed] = pipeline.instance.get_runs(RunsFilter(job_name=VALIDATION_JOB))
    assert killed.status.value == "STARTED"   # as a dead worker leaves it
    tracked = {f["file_key"] for f in pipeline.tracking.files_in_state("pending", DATE)}
    assert 10 < len(tracked) < FILES   # 2 batches (one of them S3's test event's) of 10: not all
    depth = _returned(queue, pipeline)
    assert depth["visible"] >= FILES - len(tracked) + 1   # the untracked files + the killed batch's messages

    pipeline.recover()

    runs = pipeline.instance.get_runs(RunsFilter(job_name=VALIDATION_JOB))
    assert pipeline.instance.get_run_by_id(killed.run_id).status.value == "FAILURE"  # ended by the sensor
    [observation] = [e.dagster_event.event_specific_data.asset_observation for r in runs if r.run_id != killed.run_id
                     for e in pipeline.instance.all_logs(r.run_id) if e.dagster_event and e.dagster_event.is_asset_observation]
    seen = {k: v.value for k, v in observation.metadata.items()}
    assert seen["duplicate"] >= 1 and seen["tracked"] == FILES - len(tracked), seen   # redelivered, not re-tracked
    assert queue.approximate_depth() == {"visible": 0, "in_flight": 0}
    pipeline.assert_recovered(DATE, ids)
