"""Pipeline B's partitions stay bounded: one per date, however many manifests it holds.

The manifest is a run tag (`etl/manifest`); these tests prove the count, that the tag is
what the asset converts, and that a date outside the partitioned days is refused as bad
input (quarantined by the validator), not left to fail the sensor's tick in Dagster.
"""

from datetime import datetime, timedelta, timezone

import pytest
from dagster import AssetKey, DagsterEventType, RunsFilter

from etl_platform.config import Settings
from etl_platform.core.partition_days import FIRST_DAY, day_error
from etl_platform.pipelines.ndjson_to_parquet import JOB_NAME
from etl_platform.pipelines.ndjson_to_parquet.partitions import MANIFEST_TAG
from etl_platform_tests.helpers import PROJECT_ROOT
from etl_platform_tests.ndjson_to_parquet.harness import Pipeline, manifest_id_of, records, scaled

DAY = "2026-06-11"


def _materializations(pipeline: Pipeline, asset: str) -> list:
    return pipeline.instance.fetch_materializations(AssetKey(asset), limit=100).records


def test_many_manifests_of_one_date_share_one_partition(aws):
    pipeline = Pipeline(scaled(aws, manifest_max_files=2))
    for i in range(8):
        pipeline.land(DAY, f"m-{i}.ndjson", records(f"m{i}", 3))
    tick = pipeline.tick()
    manifests = sorted(manifest_id_of(r) for r in tick.run_requests)
    assert len(manifests) == 4 and {r.partition_key for r in tick.run_requests} == {DAY}
    for request in tick.run_requests:
        assert pipeline.run(manifest_id_of(request), request.tags).success

    # four manifests converted, each once, all under the one partition of their date
    for asset in ("ndjson_manifest", "merged_parquet"):
        assert pipeline.instance.get_materialized_partitions(AssetKey(asset)) == {DAY}
        assert len(_materializations(pipeline, asset)) == 4
    written = sorted(r.asset_materialization.metadata["manifest_path"].value.rsplit("/", 1)[-1]
                     for r in _materializations(pipeline, "ndjson_manifest"))
    assert written == [f"{m}.json" for m in manifests]
    assert sorted(run.tags[MANIFEST_TAG] for run in pipeline.instance.get_runs(RunsFilter(job_name=JOB_NAME))) == manifests
    assert pipeline.instance.get_dynamic_partitions("ndjson_manifests") == []  # the old scheme's store stays empty
    assert sorted(r["id"] for r in pipeline.output_rows(DAY)) == sorted(f"m{i}-{j}" for i in range(8) for j in range(3))


def test_a_year_of_prod_traffic_adds_365_partitions():
    """10 million files a day = 50,000 manifests a day; a year adds 365 partitions, not 18 million."""
    defs = Pipeline(Settings()).defs
    [partitions] = {defs.resolve_assets_def(a).partitions_def for a in ("ndjson_manifest", "merged_parquet")}
    now = datetime.now(timezone.utc)
    start = partitions.get_partition_keys(current_time=now)
    year = partitions.get_partition_keys(current_time=now + timedelta(days=365))
    assert len(year) - len(start) == 365 and start[0] == year[0] == FIRST_DAY
    assert len(year) < 100_000
    # every day a run may be for is a partition: today and tomorrow (a producer ahead of UTC)
    assert start[-1] == (now + timedelta(days=1)).date().isoformat()


def test_a_run_without_its_manifest_tag_fails_clearly(aws):
    pipeline = Pipeline(scaled(aws))
    result = pipeline.defs.resolve_job_def(JOB_NAME).execute_in_process(
        instance=pipeline.instance, partition_key=DAY, raise_on_error=False)
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type == DagsterEventType.STEP_FAILURE]
    assert "names no manifest" in failure.step_failure_data.error.message and MANIFEST_TAG in failure.step_failure_data.error.message
    # a manifest of another date than the run's partition is refused too
    wrong = pipeline.defs.resolve_job_def(JOB_NAME).execute_in_process(
        instance=pipeline.instance, partition_key=DAY, tags={MANIFEST_TAG: "batch-0001-20260612-000000"},
        raise_on_error=False)
    assert not wrong.success and pipeline.tracking.manifest("batch-0001-20260612-000000") is None


def test_a_file_dated_outside_the_partitioned_days_is_quarantined_not_run(aws):
    pipeline = Pipeline(scaled(aws, manifest_max_files=1))
    far = (datetime.now(timezone.utc) + timedelta(days=40)).date().isoformat()
    pipeline.land(far, "future.ndjson", records("f", 3))
    pipeline.land("2019-12-31", "past.ndjson", records("p", 3))
    tick = pipeline.tick()
    assert tick.run_requests == []
    for day, name in ((far, "future.ndjson"), ("2019-12-31", "past.ndjson")):
        record = pipeline.tracking.file(day, name)
        assert record["status"] == "quarantined" and "outside the days the platform partitions" in record["reason"]
        # what Dagster would refuse: a run request for it would fail the whole sensor tick
        assert not pipeline.defs.resolve_job_def(JOB_NAME).partitions_def.has_partition_key(day)


def test_day_error_bounds():
    now = datetime(2026, 12, 2, 23, 0, tzinfo=timezone.utc).timestamp()
    assert day_error("2026-12-03", now) is None and day_error(FIRST_DAY, now) is None
    assert day_error("2026-12-04", now) and day_error("2019-12-31", now) and day_error("2026-13-01", now)


LAUNCH = """
mutation($executionParams: ExecutionParams!) {
  launchRun(executionParams: $executionParams) { __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } }
}"""
REEXECUTE = """
mutation($reexecutionParams: ReexecutionParams!) {
  launchPipelineReexecution(reexecutionParams: $reexecutionParams) {
    __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message }
  }
}"""


@pytest.mark.e2e
def test_re_executing_a_failed_run_as_the_ui_does_keeps_its_manifest():
    """The UI's "Re-execute" sends `launchPipelineReexecution` with only the parent run id and
    the strategy (webserver bundle, Dagster 1.13); the new run must name the same manifest, or
    a one-click replay would fail for want of its tag. Run against the code location as the
    webserver loads it; the queued runs are never launched (no daemon)."""
    from dagster._core.test_utils import instance_for_test
    from dagster_graphql.test.utils import define_out_of_process_context, execute_dagster_graphql, infer_job_selector

    manifest = "batch-0003-20260611-101500"
    coordinator = {"module": "dagster._core.run_coordinator", "class": "QueuedRunCoordinator"}
    with instance_for_test(overrides={"run_coordinator": coordinator}) as instance, \
            define_out_of_process_context(str(PROJECT_ROOT / "etl_platform" / "definitions.py"), "defs", instance) as ui:
        params = {"selector": infer_job_selector(ui, JOB_NAME), "executionMetadata": {"tags": [
            {"key": "dagster/partition", "value": DAY}, {"key": MANIFEST_TAG, "value": manifest}]}}
        launched = execute_dagster_graphql(ui, LAUNCH, {"executionParams": params}).data["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        parent = instance.get_run_by_id(launched["run"]["runId"])
        instance.report_run_failed(parent)

        again = execute_dagster_graphql(ui, REEXECUTE, {"reexecutionParams": {
            "parentRunId": parent.run_id, "strategy": "ALL_STEPS"}}).data["launchPipelineReexecution"]
        assert again["__typename"] == "LaunchRunSuccess", again
        child = instance.get_run_by_id(again["run"]["runId"])
        assert child.parent_run_id == parent.run_id
        assert (child.tags[MANIFEST_TAG], child.tags["dagster/partition"]) == (manifest, DAY)


def test_runs_from_before_daily_partitions_are_still_found_by_their_manifest():
    """Upgrading an instance: a run started under the old scheme (its partition key was the
    manifest id, no manifest tag) is still the manifest's run for the reaper and the
    failure/cancel sensors, so a live old run is never taken for a missing one."""
    from dagster import DagsterInstance, DagsterRunStatus
    from dagster._core.test_utils import create_run_for_test

    from etl_platform.pipelines.ndjson_to_parquet.partitions import manifest_of_run
    from etl_platform.pipelines.ndjson_to_parquet.reaper import latest_run

    old = "batch-0001-20260610-120000"
    assert manifest_of_run({"dagster/partition": old}) == old
    assert manifest_of_run({"dagster/partition": DAY}) is None and manifest_of_run({}) is None
    assert manifest_of_run({"dagster/partition": DAY, MANIFEST_TAG: old}) == old
    instance = DagsterInstance.ephemeral()
    run = create_run_for_test(instance, job_name=JOB_NAME, status=DagsterRunStatus.STARTED,
                              tags={"dagster/partition": old})
    found, _ = latest_run(instance, {"manifest_id": old}, 0.0, Settings())
    assert found is not None and found.run_id == run.run_id
