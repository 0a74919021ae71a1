"""A manifest run interrupted mid-conversion (Dagster's interruption is a BaseException the
asset does not catch) leaves its manifest open; the run-failure sensor re-runs it while
attempts remain, and after the last one fails it: MANIFEST, files, breaker, alert; a
replay then converts every row once."""

import json
from dataclasses import replace

from dagster import DagsterEventType, build_run_status_sensor_context
from dagster._core.errors import DagsterExecutionInterruptedError

from etl_platform.pipelines.ndjson_to_parquet.assets import ENGINE_TAG
from etl_platform.resources.glue import GlueJobRunner
from etl_platform.resources.sqs import SqsQueue
from etl_platform_tests.ndjson_to_parquet.harness import Pipeline, records, scaled, manifest_id_of


class InterruptedGlue(GlueJobRunner):
    def run(self, context, **kwargs):
        raise DagsterExecutionInterruptedError("cancelled while the Glue job converted")


def _interrupted_run(settings):
    plain = Pipeline(settings)
    pipeline = Pipeline(settings, glue=InterruptedGlue(**plain.resources["glue"].__dict__))
    for i in range(3):
        pipeline.land("2026-03-20", f"c-{i}.ndjson", records(f"c{i}", 4))
    [request] = pipeline.tick().run_requests
    manifest = manifest_id_of(request)
    result = pipeline.run(manifest, tags={ENGINE_TAG: "spark"})
    assert not result.success
    assert pipeline.tracking.manifest(manifest)["status"] == "processing"  # what the run left behind
    assert {f["status"].split("#")[0] for f in pipeline.tracking.files_of_manifest(manifest)} == {"manifested"}
    return plain, pipeline, manifest, result


def _evaluate_failure_sensor(pipeline, result):
    """The run-failure sensor on `result`'s failure, as the daemon evaluates it: its run requests."""
    failure = next(e for e in pipeline.instance.all_logs(result.run_id)
                   if e.dagster_event_type == DagsterEventType.RUN_FAILURE)
    sensor = pipeline.defs.resolve_sensor_def("ndjson_failed_runs")
    resources = {k: pipeline.resources[k] for k in ("tracking_table", "alerts", "metrics_table")}
    with build_run_status_sensor_context(sensor_name=sensor.name, dagster_event=failure.dagster_event,
                                         dagster_instance=pipeline.instance, dagster_run=result.dagster_run,
                                         resources=resources) as context:
        return list(sensor(context.for_run_failure()) or [])


def test_an_interrupted_conversion_is_rerun_by_the_failure_sensor_once(aws):
    plain, pipeline, manifest, result = _interrupted_run(scaled(aws, manifest_max_files=3))
    [request] = _evaluate_failure_sensor(pipeline, result)
    assert manifest_id_of(request) == manifest and request.tags["etl/attempt"] == "2"
    assert _evaluate_failure_sensor(pipeline, result) == []  # a second evaluation starts nothing more
    assert pipeline.tracking.breaker().consecutive_failures == 0

    plain.instance = pipeline.instance
    assert plain.run(manifest_id_of(request), tags=request.tags).success
    rows = plain.output_rows("2026-03-20")
    assert len(rows) == 12 and len({r["id"] for r in rows}) == 12
    assert pipeline.tracking.manifest(manifest)["status"] == "completed"
    assert {f["status"].split("#")[0] for f in pipeline.tracking.files_of_manifest(manifest)} == {"completed"}


def test_an_interrupted_conversion_on_its_last_attempt_is_failed_by_the_sensor_and_replays(aws):
    settings = scaled(aws, manifest_max_files=3)
    settings = settings.with_overrides(recovery=replace(settings.recovery, max_attempts=1))
    plain, pipeline, manifest, result = _interrupted_run(settings)
    for _ in range(2):  # a second evaluation changes nothing
        assert _evaluate_failure_sensor(pipeline, result) == []
    record = pipeline.tracking.manifest(manifest)
    assert record["status"] == "failed" and result.run_id in record["error"]
    assert {f["status"].split("#")[0] for f in pipeline.tracking.files_of_manifest(manifest)} == {"failed"}
    assert pipeline.tracking.breaker().consecutive_failures == 1
    inbox = SqsQueue(connection=pipeline.resources["aws"], queue_name=aws.names.alerts_inbox_queue)
    alerts = [json.loads(m.body) for m in inbox.receive(max_messages=10, wait_seconds=2)]
    assert [a["manifest_id"] for a in alerts] == [manifest]

    plain.instance = pipeline.instance
    assert plain.run(manifest).success  # the operator's replay (arrow engine)
    rows = plain.output_rows("2026-03-20")
    assert len(rows) == 12 and len({r["id"] for r in rows}) == 12
    assert pipeline.tracking.manifest(manifest)["status"] == "completed"
