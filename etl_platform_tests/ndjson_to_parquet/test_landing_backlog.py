"""What waits on pipeline B's landing, and acting on it (issue 12, item 1): the file-events
sensor's words and its observations of `ndjson_landing_files`, and the flush (the real
`etl-platform ingest flush` command and `ndjson_flush_job`) that forms a manifest now."""

import json
import re
import subprocess
import time

import pytest

from etl_platform.core.ingestion.backlog import duration, size
from etl_platform.pipelines.ndjson_to_parquet import sensors
from etl_platform.pipelines.ndjson_to_parquet.flush import FLUSH_JOB
from etl_platform.pipelines.ndjson_to_parquet.validation import LANDING_ASSET
from etl_platform_tests.helpers import VENV_BIN, cli_env
from etl_platform_tests.ndjson_to_parquet.harness import Pipeline, manifest_id_of, records, scaled

pytestmark = pytest.mark.e2e

DAY = "2026-12-03"


def _land(pipeline: Pipeline, count: int, start: int = 0) -> int:
    """`count` files of 4 records each; their total bytes."""
    total = 0
    for n in range(start, start + count):
        key = pipeline.land(DAY, f"wait-{n}.ndjson", records(f"wait-{n}", 4))
        total += pipeline.s3.head_object(Bucket=pipeline.names.ndjson_input_bucket, Key=key)["ContentLength"]
    return total


def _values(observation) -> dict:
    return {key: entry.value for key, entry in observation.metadata.items()}


class Clock:
    """The file-events sensor's clock: real time until the test sets `now` (files' first_seen
    stay real), so that what a tick says and observes does not hang on how long the test took."""

    def __init__(self):
        self.now: float | None = None

    def time(self) -> float:
        return time.time() if self.now is None else self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(sensors, "time", clock)
    return clock


def _oldest_first_seen(pipeline: Pipeline) -> float:
    return min(f.first_seen for f in pipeline.tracking.pending_nominees(DAY, 100))


def test_ticks_say_what_waits_and_observe_it_on_the_landing_asset(aws, clock):
    pipeline = Pipeline(scaled(aws))  # 5 files or 700 MB per manifest, orphan flush after an hour
    total = _land(pipeline, 3)
    assert pipeline.tick().run_requests == []  # validates the files, then observes them
    observed_at, oldest = json.loads(pipeline.cursor)["observed_at"], _oldest_first_seen(pipeline)
    clock.now = observed_at + 30
    tick = pipeline.tick()
    assert tick.run_requests == []
    age = clock.now - oldest
    assert tick.skip_reason == (
        f"3 files pending for {DAY} ({size(total)}), oldest {duration(age)}; a manifest forms at 5 files, 700 MB "
        f"or when the oldest is 60 min old (in {duration(3600 - age)}). file events: 0 waiting, 0 being handled")

    [observation] = pipeline.observations  # the first tick's; the second, 30 s on, adds none
    assert observation.asset_key.path == [LANDING_ASSET]
    seen = _values(observation)
    assert (seen[f"{DAY} pending_files"], seen[f"{DAY} pending_bytes"]) == (3, total)
    assert (seen["pending_files"], seen["pending_bytes"], seen["dates_pending"]) == (3, total, 1)
    assert seen[f"{DAY} oldest_pending_age_s"] == pytest.approx(observed_at - oldest, abs=0.1)
    assert seen[f"{DAY} next_manifest_in_s"] == pytest.approx(3600 - (observed_at - oldest), abs=0.1)

    clock.now += 10
    _land(pipeline, 2, start=3)  # the count threshold: the tick mints, says which run and why
    [request] = pipeline.tick().run_requests
    assert request.tags["trigger"] == "5 pending files >= 5" and request.run_key == manifest_id_of(request)
    clock.now += 10
    tick = pipeline.tick()  # the manifest waits for its run: the tick says so, reading no pending file
    assert tick.run_requests == []
    assert tick.skip_reason.startswith(f"{DAY} waits for the run of {manifest_id_of(request)} (minted 10 s ago)")
    assert len(pipeline.observations) == 1  # minted, then held: the same date, no minute passed, no event

    clock.now += 60  # a minute on, still held: observed with the numbers last read (5 files), not 0
    assert pipeline.tick().run_requests == []
    held = _values(pipeline.observations[-1])
    assert len(pipeline.observations) == 2
    assert (held["pending_files"], held[f"{DAY} pending_files"], held[f"{DAY} next_manifest_in_s"]) == (5, 5, 0)
    assert held["oldest_pending_age_s"] == pytest.approx(clock.now - _oldest_first_seen(pipeline), abs=0.1)

    assert pipeline.run(manifest_id_of(request)).success
    clock.now += 10
    tick = pipeline.tick()
    assert tick.skip_reason.startswith("no files pending. ")
    drained = _values(pipeline.observations[-1])
    assert len(pipeline.observations) == 3 and (drained["pending_files"], drained["dates_pending"]) == (0, 0)


def _flush(aws, tmp_path, *args):
    env = cli_env(aws.state_dir, ETL_ENDPOINT_URL=aws.endpoint_url, DAGSTER_HOME=str(tmp_path))
    return subprocess.run([str(VENV_BIN / "etl-platform"), "ingest", "flush", *args], env=env, capture_output=True,
                          text=True, timeout=300)


def test_the_flush_command_forms_a_manifest_now_and_its_files_convert_once(aws, tmp_path):
    pipeline = Pipeline(scaled(aws))
    _land(pipeline, 3)
    assert pipeline.tick().run_requests == []  # below every threshold: it would wait an hour

    flushed = _flush(aws, tmp_path, "--date", DAY)
    assert flushed.returncode == 0, flushed.stderr
    first_line = flushed.stdout.splitlines()[0]
    assert re.fullmatch(rf"{DAY}: formed (batch-0001-20261203-\d{{6}}) from 3 pending files \(\d+(\.\d)? KB\)", first_line)
    manifest = first_line.split()[2]
    # who minted is the manifest item's (the sensor requests a flush's runs): not copied onto the counter
    assert pipeline.tracking.manifest(manifest)["minted_by"] == "flush"
    assert "minted_by" not in pipeline.tracking.manifest_counter(DAY)
    again = _flush(aws, tmp_path, "--date", DAY)  # its run has not claimed yet: nothing more is minted
    assert again.returncode == 0 and again.stdout.strip() == (
        f"{DAY}: {manifest} already waits for its run, which takes the pending files; nothing more flushed")

    # the sensor requests the flushed manifest's run (run key its id: one run however many ticks see it)
    [request] = pipeline.tick().run_requests
    assert manifest_id_of(request) == manifest and request.run_key == manifest
    assert request.tags["trigger"].startswith("flush: 3 pending files")
    [twice] = pipeline.tick().run_requests  # not claimed yet: asked again with the same key (the daemon runs it once)
    assert twice.run_key == manifest
    assert pipeline.run(manifest).success and pipeline.run(manifest).success  # even run twice: each row once
    rows = pipeline.output_rows(DAY)
    assert sorted(r["id"] for r in rows) == sorted(f"wait-{n}-{i}" for n in range(3) for i in range(4))
    assert pipeline.tracking.manifest(manifest)["status"] == "completed"
    assert pipeline.tick().run_requests == []

    empty = _flush(aws, tmp_path, "--date", DAY)
    assert empty.returncode == 0 and empty.stdout.strip() == f"{DAY}: no pending files, nothing to flush"
    bad = _flush(aws, tmp_path, "--date", "yesterday")
    assert bad.returncode != 0 and bad.stderr.strip() == "Error: date 'yesterday' is not YYYY-MM-DD"


def test_the_flush_job_launched_like_the_ui_does(aws):
    pipeline = Pipeline(scaled(aws, circuit_breaker_failures=1))
    _land(pipeline, 2)
    pipeline.tick()
    job = pipeline.defs.resolve_job_def(FLUSH_JOB)
    result = job.execute_in_process(instance=pipeline.instance, run_config={})  # the Launchpad's default: every date
    assert result.success
    logged = [e.user_message for e in pipeline.instance.all_logs(result.run_id)]
    assert any(re.fullmatch(rf"{DAY}: formed batch-0001-20261203-\d{{6}} from 2 pending files \(.+\)", m) for m in logged)
    [request] = pipeline.tick().run_requests
    assert pipeline.run(manifest_id_of(request)).success
    assert len(pipeline.output_rows(DAY)) == 8

    pipeline.tracking.record_breaker_failure(threshold=1, cooldown_seconds=3600)  # the breaker holds manifests back
    assert "circuit breaker open" in pipeline.tick().skip_reason
    _land(pipeline, 1, start=2)
    refused = job.execute_in_process(instance=pipeline.instance, raise_on_error=False,
                                     run_config={"ops": {"flush_pending_files": {"config": {"date_prefix": DAY}}}})
    assert not refused.success
    assert "nothing flushed: circuit breaker open" in refused.failure_data_for_node("flush_pending_files").error.message
    assert [m["status"] for m in pipeline.tracking.manifests_of_date(DAY)] == ["completed"]  # none minted
