"""The scheduled health check alerts through SNS on an unhealthy pipeline and only then, and
`pipeline_health` turns a day of the metrics table into numeric metadata: both run in
Dagster against the embedded AWS, on state the pipeline itself wrote."""

import json

import pytest
from dagster import AssetCheckSeverity, AssetKey, DagsterInstance, DefaultScheduleStatus, Definitions
from dagster._core.definitions.metadata import FloatMetadataValue, IntMetadataValue

from etl_platform.config import HealthSettings
from etl_platform.local.provision import provision
from etl_platform.pipelines.ndjson_to_parquet import ndjson_to_parquet_definitions
from etl_platform.pipelines.ndjson_to_parquet.health import HEALTH_CHECK_JOB, HEALTH_JOB, health_definitions
from etl_platform.resources.sqs import SqsQueue
from etl_platform_tests.ndjson_to_parquet.harness import Pipeline, manifest_id_of, records, scaled

pytestmark = pytest.mark.e2e


def _with_health(pipeline: Pipeline, **health) -> Definitions:
    settings = pipeline.settings.with_overrides(health=HealthSettings(**health))
    return Definitions.merge(ndjson_to_parquet_definitions(settings), health_definitions(settings),
                             Definitions(resources=pipeline.resources))


def _check(defs, instance):
    result = defs.resolve_job_def(HEALTH_CHECK_JOB).execute_in_process(instance=instance, raise_on_error=False)
    assert result.success
    [evaluation] = result.get_asset_check_evaluations()
    return evaluation


def _schedule(settings, name):
    return next(s for s in health_definitions(settings).schedules if s.name == name)


def _alerts(pipeline, settings):
    inbox = SqsQueue(connection=pipeline.resources["aws"], queue_name=settings.names.alerts_inbox_queue)
    return [json.loads(m.body) for m in inbox.receive(max_messages=10, wait_seconds=1)]


def test_an_unhealthy_pipeline_fails_the_check_and_alerts_through_sns(aws):
    pipeline = Pipeline(scaled(aws, manifest_max_files=50))
    for i in range(3):
        pipeline.land("2026-05-05", f"h-{i}.ndjson", records(f"h{i}", 4))
    assert pipeline.tick().run_requests == []
    SqsQueue(connection=pipeline.resources["aws"], queue_name=aws.names.file_events_dlq).send({"Records": []})
    defs = _with_health(pipeline, alerts=True, pending_age_seconds=0)  # every pending file counts as stale

    evaluation = _check(defs, pipeline.instance)
    assert not evaluation.passed and evaluation.severity == AssetCheckSeverity.ERROR
    metadata = {k: v.value for k, v in evaluation.metadata.items()}
    assert metadata["pending_files"] == 3 and metadata["dead_letters"] == 1 and metadata["alerted"] is True
    assert "pipeline B health: UNHEALTHY" in metadata["report"]
    [alert] = _alerts(pipeline, aws)
    assert alert["subject"] == "NDJSON pipeline unhealthy (dev): dead_letters, stale_pending"
    assert [p["code"] for p in alert["problems"]] == ["dead_letters", "stale_pending"]
    assert alert["figures"]["pending_files"] == 3


def test_a_healthy_pipeline_passes_and_publishes_nothing(aws):
    pipeline = Pipeline(scaled(aws, manifest_max_files=50))
    pipeline.land("2026-05-05", "fresh.ndjson", records("fresh", 4))
    assert pipeline.tick().run_requests == []
    evaluation = _check(_with_health(pipeline, alerts=True), pipeline.instance)  # fresh pending files are healthy
    assert evaluation.passed
    assert evaluation.metadata["pending_files"].value == 1 and evaluation.metadata["alerted"].value is False
    assert _alerts(pipeline, aws) == []


def test_alerts_and_the_schedule_are_on_by_default_in_prod_only(aws):
    pipeline = Pipeline(scaled(aws, manifest_max_files=50))
    SqsQueue(connection=pipeline.resources["aws"], queue_name=aws.names.file_events_dlq).send({"Records": []})
    evaluation = _check(_with_health(pipeline), pipeline.instance)  # dev, ETL_HEALTH_ALERTS unset
    assert not evaluation.passed and evaluation.severity == AssetCheckSeverity.WARN
    assert evaluation.metadata["alerted"].value is False and _alerts(pipeline, aws) == []

    def schedule_status(settings):
        return _schedule(settings, "ndjson_health_check_schedule").default_status

    assert schedule_status(aws) == DefaultScheduleStatus.STOPPED
    assert schedule_status(aws.with_overrides(env="prod")) == DefaultScheduleStatus.RUNNING
    assert schedule_status(aws.with_overrides(env="prod", health=HealthSettings(alerts=False))) == DefaultScheduleStatus.STOPPED
    assert aws.with_overrides(env="prod").health_alerts and not aws.health_alerts


def test_pipeline_health_summarises_a_day_of_the_metrics_table_as_numeric_metadata(aws):
    settings = scaled(aws, manifest_max_files=2)
    pipeline = Pipeline(settings)
    # one manifest fails (its output bucket is gone), then the account is fixed and one completes
    pipeline.s3.delete_bucket(Bucket=aws.names.parquet_output_bucket)
    for i in range(2):
        pipeline.land("2026-05-06", f"m-{i}.ndjson", records(f"m{i}", 5))
    [failed] = pipeline.tick().run_requests
    assert not pipeline.run(manifest_id_of(failed)).success
    provision(aws)
    for i in range(2, 4):
        pipeline.land("2026-05-06", f"m-{i}.ndjson", records(f"m{i}", 5))
    [completed] = pipeline.tick().run_requests
    assert pipeline.run(manifest_id_of(completed)).success

    instance = DagsterInstance.ephemeral()
    defs = _with_health(pipeline)
    result = defs.resolve_job_def(HEALTH_JOB).execute_in_process(instance=instance, partition_key="2026-05-06")
    assert result.success
    event = instance.get_latest_materialization_event(AssetKey("pipeline_health"))
    assert event.dagster_event.partition == "2026-05-06"
    metadata = event.asset_materialization.metadata
    # numbers, so the UI plots them across the days
    assert all(isinstance(v, (IntMetadataValue, FloatMetadataValue)) for v in metadata.values()), metadata
    values = {k: v.value for k, v in metadata.items()}
    assert values["manifests_completed"] == 1 and values["manifests_failed"] == 1
    assert values["manifest_failure_pct"] == 50.0
    assert values["files_converted"] == 2 and values["files_in_failed_manifests"] == 2
    assert values["rows_in"] == values["rows_out"] == 10 and values["conversion_seconds"] > 0
    item = pipeline.resources["metrics_table"].get({"date_prefix": "2026-05-06", "manifest_id": manifest_id_of(completed)})
    assert values["input_mb"] == round(item["bytes"] / 1024 / 1024, 3)

    empty = defs.resolve_job_def(HEALTH_JOB).execute_in_process(instance=instance, partition_key="2026-05-07")
    assert empty.success  # a day without metrics is all zeros, not an error
    zero = instance.get_latest_materialization_event(AssetKey("pipeline_health")).asset_materialization.metadata
    assert zero["manifests_completed"].value == 0


def test_the_code_location_carries_the_health_definitions():
    from etl_platform.definitions import defs

    assert defs.resolve_job_def(HEALTH_CHECK_JOB) and defs.resolve_job_def(HEALTH_JOB)
    assert defs.resolve_schedule_def("pipeline_health_schedule").default_status == DefaultScheduleStatus.RUNNING
    assert defs.resolve_assets_def("pipeline_health")


def test_the_dashboard_schedule_refreshes_today_and_closes_yesterday(aws):
    from datetime import datetime, timezone

    from dagster import build_schedule_context

    schedule = _schedule(aws, "pipeline_health_schedule")

    def partitions(hour):
        moment = datetime(2026, 5, 6, hour, 5, tzinfo=timezone.utc)
        with build_schedule_context(scheduled_execution_time=moment) as context:
            return [(r.partition_key, r.run_key) for r in schedule(context)]

    assert partitions(0) == [("2026-05-06", "2026-05-06@2026-05-06T00"), ("2026-05-05", "2026-05-05@2026-05-06T00")]
    assert partitions(13) == [("2026-05-06", "2026-05-06@2026-05-06T13")]
