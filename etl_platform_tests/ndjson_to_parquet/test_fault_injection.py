"""Pipeline B survives SIGKILL at each step, recovered by the platform alone.

Each scenario kills a real process (the run's, the Glue driver's parent, the sensor's) at
a fault point (etl_platform/faults.py), then lets the daemon's sensors (file events, the
reaper, the run-failure sensor) act on the same Dagster instance and runs what they
request. After recovery every input row is in the output exactly once, every file record
is completed, no MANIFEST is left pending or processing, the killed run is FAILURE, and no
operator command was needed (the give-up case ends in one, `ingest replay`, on purpose).
"""

import json
import signal
import subprocess
import time

import psutil
import pytest
from dagster import DagsterRunStatus, RunsFilter

from etl_platform.config import Settings
from etl_platform.faults import ENV as FAULT_ENV
from etl_platform.local.devstack import dagster_environment
from etl_platform.pipelines.ndjson_to_parquet import JOB_NAME
from etl_platform.pipelines.ndjson_to_parquet.assets import ENGINE_TAG
from etl_platform.resources.sqs import SqsQueue
from etl_platform_tests.helpers import PROJECT_ROOT, VENV_BIN, cli_env
from etl_platform_tests.ndjson_to_parquet.faults_harness import KILLED, FaultyPipeline, recovering
from etl_platform_tests.ndjson_to_parquet.harness import records, scaled, manifest_id_of

pytestmark = pytest.mark.e2e

DATE = "2026-06-01"
FILES, ROWS = 5, 7


def _landed(aws, tmp_path, files=FILES, spark=False, max_files=FILES, **recovery):
    pipeline = FaultyPipeline(recovering(scaled(aws, manifest_max_files=max_files), **recovery),
                              tmp_path / "dagster", spark=spark)
    ids = []
    for i in range(files):
        rows = records(f"f{i}", ROWS)
        pipeline.land(DATE, f"f-{i}.ndjson", rows)
        ids += [r["id"] for r in rows]
    return pipeline, ids


def _killed_run(pipeline, fault, tags=None):
    """Mint the manifest, run it in a child the fault point kills; the manifest id."""
    [request] = pipeline.tick().run_requests
    assert pipeline.in_child("run", fault, manifest_id_of(request), tags) == KILLED
    return manifest_id_of(request)


def _statuses(pipeline, manifest):
    return sorted(f["status"].split("#")[0] for f in pipeline.tracking.files_of_manifest(manifest))


def test_sigkill_mid_claim_resumes_the_claim(aws, tmp_path):
    pipeline, ids = _landed(aws, tmp_path)
    manifest = _killed_run(pipeline, "ndjson.claim@3")
    record = pipeline.tracking.manifest(manifest)
    # record first: the cut-short claim is known from the MANIFEST, which names the killed run
    assert (record["status"], record["claimed"], record["run_id"]) == ("pending", False, pipeline.killed_runs[0])
    assert _statuses(pipeline, manifest) == ["manifested"] * 2

    recovery = pipeline.recover()
    assert [manifest_id_of(r) for r in recovery.requests] == [manifest]  # resumed, not a new manifest
    pipeline.assert_recovered(DATE, ids)
    assert len(pipeline.tracking.files_of_manifest(manifest)) == FILES


def test_sigkill_after_the_manifest_write(aws, tmp_path):
    pipeline, ids = _landed(aws, tmp_path)
    manifest = _killed_run(pipeline, "ndjson.manifest_written")
    assert pipeline.tracking.manifest(manifest)["claimed"] is False
    assert _statuses(pipeline, manifest) == ["manifested"] * FILES

    pipeline.recover()
    pipeline.assert_recovered(DATE, ids)


def test_sigkill_mid_conversion_on_the_arrow_engine(aws, tmp_path):
    pipeline, ids = _landed(aws, tmp_path)
    manifest = _killed_run(pipeline, "ndjson.convert@3")
    assert pipeline.tracking.manifest(manifest)["status"] == "processing"

    recovery = pipeline.recover()
    assert [r.tags["etl/attempt"] for r in recovery.requests] == ["2"]
    pipeline.assert_recovered(DATE, ids)


def test_sigkill_after_the_outputs_are_written_before_the_status_update(aws, tmp_path):
    pipeline, ids = _landed(aws, tmp_path)
    manifest = _killed_run(pipeline, "ndjson.outputs_written")
    assert sorted(r["id"] for r in pipeline.output_rows(DATE)) == sorted(ids)  # written, then killed
    assert pipeline.tracking.manifest(manifest)["status"] == "processing"

    pipeline.recover()
    pipeline.assert_recovered(DATE, ids)  # converted again over the same paths: no row twice


def test_sigkill_during_the_file_status_updates(aws, tmp_path):
    pipeline, ids = _landed(aws, tmp_path)
    manifest = _killed_run(pipeline, "ndjson.settle@3")
    assert pipeline.tracking.manifest(manifest)["status"] == "completed"
    assert "manifested" in _statuses(pipeline, manifest)  # the kill left some files claimed

    pipeline.recover()
    pipeline.assert_recovered(DATE, ids)


def test_sigkill_of_the_sensor_after_minting_before_its_run_requests(aws, tmp_path):
    # grace 1 s: a minted MANIFEST no run takes is re-run 1 s after it was minted
    pipeline, ids = _landed(aws, tmp_path, files=2 * FILES, grace_seconds=1.0)
    assert pipeline.in_child("tick", "ndjson.sensor_minted@2") == KILLED
    minted = pipeline.tracking.manifests_of_date(DATE)
    assert [m["status"] for m in minted] == ["pending", "pending"]
    time.sleep(1.5)

    recovery = pipeline.recover()
    assert sorted(manifest_id_of(r) for r in recovery.requests) == sorted(m["manifest_id"] for m in minted)
    pipeline.assert_recovered(DATE, ids)


def test_sigkill_of_the_step_while_the_spark_glue_job_runs(aws, tmp_path):
    pipeline, ids = _landed(aws, tmp_path, spark=True, silent_run_seconds=3.0)
    [request] = pipeline.tick().run_requests
    manifest = manifest_id_of(request)
    child = pipeline.start_child("run", None, manifest, {ENGINE_TAG: "spark"})
    try:
        driver = _wait_for_glue_driver(child.pid)
        # alive for longer than the silent-run timeout, but beating: the reaper leaves it alone
        time.sleep(pipeline.settings.recovery.silent_run_seconds + 1)
        assert pipeline.reap() == [] and pipeline.latest_run(manifest).status.value == "STARTED"
    finally:
        child.kill()  # SIGKILL of the run's process while its Glue job (the driver, a subprocess) converts
    assert child.wait(timeout=60) == KILLED
    pipeline.note_killed_run(manifest)
    # the Glue job outlives the step, as on AWS; let it finish so the re-run is not racing it
    psutil.wait_procs([driver], timeout=300)
    assert pipeline.tracking.manifest(manifest)["status"] == "processing"

    recovery = pipeline.recover()
    assert [r.tags.get(ENGINE_TAG) for r in recovery.requests] == ["spark"]  # the forced engine stays forced
    pipeline.assert_recovered(DATE, ids)
    assert pipeline.tracking.manifest(manifest)["engine"] == "spark"


def _wait_for_glue_driver(pid: int, timeout: float = 300) -> psutil.Process:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for process in psutil.Process(pid).children(recursive=True):
            try:
                if any(part.endswith("ndjson_to_parquet.py") for part in process.cmdline()):
                    return process
            except psutil.NoSuchProcess:
                continue
        time.sleep(0.2)
    raise AssertionError("the Glue job never started")


def test_a_manifest_whose_runs_keep_dying_is_failed_with_an_alert_then_its_replay_recovers(aws, tmp_path):
    pipeline, ids = _landed(aws, tmp_path, max_attempts=2)
    manifest = _killed_run(pipeline, "ndjson.convert")

    recovery = pipeline.recover(fault="ndjson.convert")  # the re-run dies the same way
    assert [r.tags["etl/attempt"] for r in recovery.requests] == ["2"]
    record = pipeline.tracking.manifest(manifest)
    assert record["status"] == "failed" and "gave up after 2 runs" in record["error"]
    assert _statuses(pipeline, manifest) == ["failed"] * FILES
    assert pipeline.tracking.breaker().consecutive_failures == 1
    inbox = SqsQueue(connection=pipeline.resources["aws"], queue_name=aws.names.alerts_inbox_queue)
    alerts = [json.loads(m.body) for m in inbox.receive(max_messages=10, wait_seconds=2)]
    assert [a["manifest_id"] for a in alerts] == [manifest]
    assert pipeline.recover().requests == []  # given up: nothing re-runs it behind the operator's back

    # the operator's one command, itself killed mid-conversion: it has fresh attempts, so the
    # platform re-runs it rather than giving up at once
    env = cli_env(tmp_path / "cli", ETL_ENDPOINT_URL=aws.endpoint_url, DAGSTER_HOME=str(pipeline.home),
                  **{FAULT_ENV: "ndjson.convert"})
    replayed = subprocess.run([str(VENV_BIN / "etl-platform"), "ingest", "replay", manifest], env=env,
                              cwd=PROJECT_ROOT, capture_output=True, timeout=600)
    assert replayed.returncode == KILLED, replayed.stdout + replayed.stderr
    pipeline.note_killed_run(manifest)
    assert [r.tags["etl/attempt"] for r in pipeline.recover().requests] == ["2"]
    pipeline.assert_recovered(DATE, ids)


def test_the_dagster_daemon_recovers_a_claim_killed_in_two_runs(aws, tmp_path):
    """The real `dagster-daemon` with the project's instance config: every step process
    dies at its third file claim (the fault point is inherited by the run workers and their
    step processes), so run 1 claims 2 files, run 2 two more, and run 3, started like run 2
    by the daemon's own run-failure sensor, claims the last one and converts all five."""
    pipeline, ids = _landed(aws, tmp_path / "landing")
    state = Settings(state_dir=tmp_path / "state")
    env = {k: v for k, v in dagster_environment(state, aws.endpoint_url).items()
           if not k.startswith("ETL_FAULT")}
    env.update(ETL_FILE_MIN_BYTES="200", ETL_MANIFEST_MAX_FILES=str(FILES), ETL_ORPHAN_FLUSH_SECONDS="3600",
               ETL_SQS_VISIBILITY_SECONDS="30", ETL_VALIDATION_MAX_SECONDS_PER_RUN="10", ETL_MAX_RUN_ATTEMPTS="3",
               **{FAULT_ENV: "ndjson.claim@3"})
    log = (tmp_path / "daemon.log").open("wb")
    daemon = subprocess.Popen([str(VENV_BIN / "dagster-daemon"), "run", "-w", str(PROJECT_ROOT / "workspace.yaml")],
                              env=env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        # the files complete before their run ends: wait for that too, or the daemon's stop cuts it
        finished = FaultyPipeline(pipeline.settings, state.dagster_home).instance
        settled = _wait_until(lambda: _all_completed(pipeline, DATE, FILES) and not finished.get_runs(
            RunsFilter(statuses=[DagsterRunStatus.STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.QUEUED])),
            timeout=600)
    finally:
        daemon.send_signal(signal.SIGINT)  # the daemon stops its threads and code server on SIGINT
        try:
            daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
    assert settled, (tmp_path / "daemon.log").read_text()[-5000:]

    watcher = FaultyPipeline(pipeline.settings, state.dagster_home)
    # only the ingestion job's runs: the daemon also fires the DLQ check schedule at each quarter hour
    runs = sorted(watcher.instance.get_runs(RunsFilter(job_name=JOB_NAME)),
                  key=lambda r: watcher.instance.get_run_record_by_id(r.run_id).create_timestamp)
    assert [(r.status.value, r.tags.get("etl/attempt")) for r in runs] == [
        ("FAILURE", None), ("FAILURE", "2"), ("SUCCESS", "3")]
    watcher.killed_runs = [r.run_id for r in runs[:2]]
    watcher.assert_recovered(DATE, ids)


def _all_completed(pipeline, date_prefix, files):
    items = pipeline.tracking.query(key_condition="date_prefix = :d", values={":d": date_prefix}, consistent=True)
    done = [i for i in items if i.get("status", "").startswith("completed#")]
    return len(done) == files and not pipeline.tracking.open_manifests()


def _wait_until(condition, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(2)
    return False


def test_sigkill_during_the_file_status_updates_of_a_manifest_with_a_file_the_engine_could_not_read(aws, tmp_path):
    """A file the engine cannot read fails alone; a run killed while it records the files'
    outcomes must not let recovery complete that file, whose rows never reached Parquet."""
    pipeline, _ = _landed(aws, tmp_path, files=0, max_files=FILES + 1)
    bucket = pipeline.names.ndjson_input_bucket
    # as in test_file_isolation.py: files tracked by their ETag alone, one deleted after its claim
    pipeline.s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    ids = []
    for i in range(FILES):
        rows = records(f"f{i}", ROWS)
        pipeline.land(DATE, f"f-{i}.ndjson", rows)
        ids += [r["id"] for r in rows]
    pipeline.land(DATE, "vanishing.ndjson", records("gone", ROWS))
    [request] = pipeline.tick().run_requests
    manifest = manifest_id_of(request)
    pipeline.s3.delete_object(Bucket=bucket, Key=f"landing/ndjson/{DATE}/vanishing.ndjson")
    assert pipeline.in_child("run", "ndjson.settle@1", manifest) == KILLED

    pipeline.recover()
    print("DBG", [(i["file_key"], i.get("status"), i.get("manifest_id"), i.get("error")) for i in pipeline.tracking.query(key_condition="date_prefix = :d", values={":d": DATE}, consistent=True)])
    by_key = {f["file_key"]: f for f in pipeline.tracking.files_of_manifest(manifest)}
    assert by_key.pop("vanishing.ndjson")["status"].startswith("failed#")  # never completed without its rows
    assert {f["status"].split("#")[0] for f in by_key.values()} == {"completed"}
    rows = [r["id"] for r in pipeline.output_rows(DATE)]
    assert sorted(rows) == sorted(ids)  # every readable row once
    assert pipeline.tracking.manifest(manifest)["status"] == "completed"
    assert set(pipeline.instance.get_run_by_id(r).status.value for r in pipeline.killed_runs) == {"FAILURE"}
