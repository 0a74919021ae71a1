"""The console speaks briefly: idle sensor ticks say nothing at INFO (not in the tick's log,
not on the daemon's console), and a conversion's result goes to its metadata, not to the
console. Lines and records are counted; nothing is timed."""

import json
import re
import signal
import subprocess
import time

import pytest
from dagster import AssetKey, DagsterInstance, Definitions

from etl_platform.config import Settings
from etl_platform.local.devstack import dagster_commands, dagster_environment
from etl_platform.pipelines.in_process import execute_partition, resolve_job
from etl_platform.pipelines.ndjson_to_parquet import ndjson_to_parquet_definitions
from etl_platform.pipelines.parquet_to_json import JOB_NAME, parquet_to_json_definitions
from etl_platform.pipelines.parquet_to_json.partitions import JOB_TAG, parquet_jobs_partitions, run_day
from etl_platform.resources import platform_resources
from etl_platform_tests.helpers import PROJECT_ROOT, tick_sensor
from etl_platform_tests.parquet_to_json.conftest import flat_table, parquet_bytes


def _info_lines(text: str) -> list[str]:
    """Lines logged at INFO (the daemon colours its level names)."""
    return [line for line in re.sub(r"\x1b\[[0-9;]*m", "", text).splitlines() if " - INFO - " in line]


def _drain_file_events(settings) -> None:
    """Consume S3's test event of the freshly provisioned notification: then nothing waits."""
    queue = platform_resources(settings)["file_events_queue"]
    while messages := queue.receive():
        queue.delete([m.receipt_handle for m in messages])


def test_an_idle_file_events_tick_logs_nothing_at_info(aws, capfd):
    _drain_file_events(aws)
    defs = Definitions.merge(ndjson_to_parquet_definitions(aws), Definitions(resources=platform_resources(aws)))
    with DagsterInstance.ephemeral() as instance:
        capfd.readouterr()
        result = tick_sensor(defs, instance, "ndjson_file_events_sensor", ("file_events_queue", "tracking_table"))
    assert result.run_requests == []  # idle: nothing waits, nothing is due
    assert _info_lines(capfd.readouterr().err) == []


@pytest.mark.e2e
def test_idle_sensor_ticks_are_silent_on_the_daemon_console(aws, tmp_path):
    """The daemon as `make up` runs it, on an empty account, for two ticks of the 10 s sensors.

    Both are read: the daemon's console, and each tick's own captured log (what the UI shows
    under the tick, kept at every level whatever DAGSTER_DAEMON_LOG_LEVEL says)."""
    _drain_file_events(aws)
    settings = Settings(state_dir=tmp_path / "state", endpoint_url=aws.endpoint_url)
    env = {k: v for k, v in dagster_environment(settings, aws.endpoint_url).items()
           if not k.startswith("ETL_") or k in ("ETL_MODE", "ETL_ENV", "ETL_ENDPOINT_URL", "ETL_STATE_DIR")}
    log_path = tmp_path / "daemon.log"
    with open(log_path, "wb") as log:
        daemon = subprocess.Popen(dagster_commands(settings)["dagster-daemon"], env=env, cwd=PROJECT_ROOT,
                                  stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            ticks = _wait_for_ticks(settings, "ndjson_file_events_sensor", 2, log_path)
        finally:
            daemon.send_signal(signal.SIGINT)
            daemon.wait(timeout=120)
    latest = {name: found[0].status.value for name, found in ticks.items()}
    assert latest and all(status == "SKIPPED" for status in latest.values()), latest
    console = log_path.read_text()
    assert _info_lines(console) == [], console[-3000:]
    with DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        said = [_tick_log_records(instance, tick) for tick in ticks["ndjson_file_events_sensor"]]
    # Each idle tick says what it saw at DEBUG: its log exists and was read, and holds no INFO.
    assert all(records for records in said), said
    assert [r["msg"] for records in said for r in records if r["levelname"] == "INFO"] == []


def _tick_log_records(instance: DagsterInstance, tick) -> list[dict]:
    """What a sensor tick logged, as Dagster captured it (the UI shows the same under the tick)."""
    from dagster._core.definitions.instigation_logger import get_instigation_log_records

    return list(get_instigation_log_records(instance, tick.log_key)) if tick.log_key else []


def _wait_for_ticks(settings: Settings, sensor: str, count: int, log_path, timeout: float = 300) -> dict[str, list]:
    """Each sensor's finished ticks, newest first, once `sensor` has finished `count` of them."""
    from dagster._core.scheduler.instigation import InstigatorType

    deadline = time.monotonic() + timeout
    with DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        while time.monotonic() < deadline:
            states = instance.all_instigator_state(instigator_type=InstigatorType.SENSOR)
            # finished ticks only: the latest may still be running (STARTED)
            ticks = {state.instigator_name: [tick for tick in instance.get_ticks(
                         state.instigator_origin_id, state.selector_id, limit=count + 1) if tick.status.value != "STARTED"]
                     for state in states}
            if len(ticks.get(sensor, [])) >= count:
                return {name: found for name, found in ticks.items() if found}
            time.sleep(1)
    raise AssertionError(f"{sensor} did not tick {count} times\n" + log_path.read_text()[-3000:])


def _convert(settings, job_id: str, body: bytes) -> tuple[bool, str, DagsterInstance]:
    s3 = platform_resources(settings)["s3"].get_client()
    key = f"uploads/{job_id}/data.parquet"
    s3.put_object(Bucket=settings.names.jobs_input_bucket, Key=key, Body=body)
    platform_resources(settings)["jobs_table"].create_job(job_id, file_name="data.parquet", input_key=key)
    job = resolve_job(settings, parquet_to_json_definitions(settings), JOB_NAME)
    instance = DagsterInstance.ephemeral()
    ok = execute_partition(job, instance, parquet_jobs_partitions, run_day(), {JOB_TAG: job_id})
    return ok, job_id, instance


def test_a_conversion_puts_its_result_in_metadata_not_on_the_console(aws, capfd):
    capfd.readouterr()
    ok, job_id, instance = _convert(aws, "quiet-job", parquet_bytes(flat_table(20)))
    captured = capfd.readouterr()
    assert ok
    printed = [line for line in (captured.out + captured.err).splitlines() if _json_object(line)]
    assert printed == []  # the Glue script's result JSON used to be printed whole, on every conversion
    event = instance.get_latest_materialization_event(AssetKey("parquet_to_json"))
    assert event.asset_materialization.metadata["rows"].value == 20  # what was printed is in the metadata


def _json_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def test_a_handled_bad_input_is_one_line_on_the_console(aws, capfd):
    """Not Parquet: the job ends FAILED with the reason, and the console says so once, in one
    line, with no stack trace (Dagster printed the Failure's trace under the step and the run)."""
    capfd.readouterr()
    ok, job_id, _ = _convert(aws, "bad-input", b"PAR1" + bytes(100) + b"PAR1")
    captured = capfd.readouterr()
    console = captured.out + captured.err
    assert not ok
    reason = platform_resources(aws)["jobs_table"].get_job(job_id)["errorMessage"]
    assert reason.startswith("input is not a Parquet file")
    assert [line for line in console.splitlines() if "input is not a Parquet file" in line] == [
        line for line in console.splitlines() if "STEP_FAILURE" in line]
    assert len([line for line in console.splitlines() if "STEP_FAILURE" in line]) == 1
    assert "Stack Trace" not in console and "Traceback" not in console
