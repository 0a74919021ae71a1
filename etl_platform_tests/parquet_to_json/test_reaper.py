"""The reaper settles what the run-status sensors never saw: a job RUNNING (or PENDING with a
launched run) whose run ended or vanished, past the grace period; it leaves a job whose run
is alive, and one still within the grace period, alone."""

import time
from dataclasses import replace

from dagster import DagsterEvent, DagsterEventType, DagsterInstance, Definitions, build_sensor_context

from etl_platform.pipelines.parquet_to_json import JOB_NAME, parquet_to_json_definitions
from etl_platform.resources import platform_resources
from etl_platform.run_heartbeat import HEARTBEAT_TAG
from etl_platform_tests.fault_runs import TEST_RECOVERY


def _started_run(instance, job_def, **tags):
    run = instance.create_run_for_job(job_def, tags=tags)
    instance.report_dagster_event(DagsterEvent(DagsterEventType.RUN_START.value, job_name=job_def.name),
                                  run_id=run.run_id)
    return run


def _tick(aws, instance, grace_seconds):
    settings = aws.with_overrides(recovery=replace(TEST_RECOVERY, grace_seconds=grace_seconds))
    defs = Definitions.merge(parquet_to_json_definitions(settings), Definitions(resources=platform_resources(settings)))
    reaper = defs.resolve_sensor_def("parquet_to_json_reaper")
    with build_sensor_context(instance=instance, resources={"jobs_table": defs.resources["jobs_table"]},
                              definitions=defs) as context:
        return reaper(context)


def test_the_reaper_fails_jobs_whose_run_ended_or_vanished_and_leaves_live_ones(aws):
    table = platform_resources(aws)["jobs_table"]
    job_def = Definitions.merge(parquet_to_json_definitions(aws),
                                Definitions(resources=platform_resources(aws))).resolve_job_def(JOB_NAME)
    with DagsterInstance.ephemeral() as instance:
        ended = _started_run(instance, job_def)
        instance.report_run_failed(instance.get_run_by_id(ended.run_id), message="a failure no sensor saw")
        live = _started_run(instance, job_def, **{HEARTBEAT_TAG: f"{time.time() + 3600:.3f}"})
        for job_id in ("ended", "vanished", "live", "launched"):
            table.create_job(job_id, file_name="a.parquet", input_key=f"uploads/{job_id}/a.parquet")
        table.mark_running("ended", ended.run_id)
        table.mark_running("vanished", "a-run-this-instance-never-had")
        table.mark_running("live", live.run_id)
        table.claim_launch("launched")
        table.record_launch("launched", ended.run_id)

        _tick(aws, instance, grace_seconds=3600)  # all within the grace period: the sensors may still act
        assert {j: table.get_job(j)["status"] for j in ("ended", "vanished", "live", "launched")} == {
            "ended": "RUNNING", "vanished": "RUNNING", "live": "RUNNING", "launched": "PENDING"}

        _tick(aws, instance, grace_seconds=0)
        for job_id, run_id, why in (("ended", ended.run_id, "its run ended FAILURE"),
                                    ("vanished", "a-run-this-instance-never-had", "no Dagster run holds it"),
                                    ("launched", ended.run_id, "its run ended FAILURE")):
            job = table.get_job(job_id)
            assert job["status"] == "FAILED" and run_id in job["errorMessage"] and why in job["errorMessage"], job
        assert table.get_job("live")["status"] == "RUNNING"
        assert [j["jobId"] for j in table.jobs_with_status("RUNNING")] == ["live"]
