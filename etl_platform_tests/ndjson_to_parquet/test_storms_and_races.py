"""Storms and races (invariant 1): every S3 event delivered three times, shuffled across
sensor ticks while manifests run, with files overwritten between their events and events
lost outright (recovered by the reconciliation); two OS processes claiming the same date's
pending set at the same moment. Each ends with every row in Parquet exactly once and every
file record terminal."""

import json
import os
import random
import subprocess
import sys
import time
from datetime import datetime, timezone
from urllib.parse import unquote_plus

import pytest

from etl_platform.core.ingestion.manifests import manifest_id
from etl_platform.config import PROJECT_ROOT
from etl_platform_tests.ndjson_to_parquet.harness import Pipeline, records, scaled, manifest_id_of
from etl_platform_tests.ndjson_to_parquet.test_reconciliation import lose_events, reconcile, today

pytestmark = pytest.mark.e2e

TERMINAL = ("completed#", "quarantined")


def file_records(pipeline, day) -> dict[str, dict]:
    items = pipeline.tracking.query(key_condition="date_prefix = :d", values={":d": day}, consistent=True)
    return {i["file_key"]: i for i in items if not i["file_key"].startswith(("MANIFEST#", "COUNTER#"))}


def test_events_delivered_three_times_shuffled_across_ticks_with_overwrites_and_lost_events(aws):
    pipeline, day = Pipeline(scaled(aws, manifest_max_files=4).with_overrides(reconcile_grace_seconds=0)), today()
    bucket, queue = aws.names.ndjson_input_bucket, pipeline.resources["file_events_queue"]
    landed: dict[tuple[str, str], tuple[str, list[dict]]] = {}  # (key, etag) -> (version id, its records)

    def land(name, tag, count):
        rows = records(tag, count)
        key = pipeline.land(day, name, rows)
        head = pipeline.s3.head_object(Bucket=bucket, Key=key)
        landed[(key, head["ETag"].strip('"'))] = (head["VersionId"], rows)

    for i in range(12):
        land(f"s-{i:02d}.ndjson", f"s{i}", 4 + i % 3)
    for i in (1, 6):  # overwritten: the events of both versions are in the storm
        land(f"s-{i:02d}.ndjson", f"s{i}-v2", 5)

    # The real S3 events, each given the version it announces, as AWS's events carry it.
    events = []
    for body in lose_events(pipeline):
        message = json.loads(body)
        if "Records" not in message:
            continue  # the s3:TestEvent of provisioning
        obj = message["Records"][0]["s3"]["object"]
        obj["versionId"] = landed[(unquote_plus(obj["key"]), obj["eTag"].strip('"'))][0]
        events.append(json.dumps(message))
    assert len(events) == 14
    lost = {"s-03.ndjson", "s-09.ndjson"}  # their events never arrive
    storm = [e for e in events if not any(name in e for name in lost)] * 3
    random.Random(7).shuffle(storm)
    for name in ("s-01.ndjson", "s-06.ndjson"):  # surely out of order: the newer version's event comes first
        older, newer = [etag for (key, etag) in landed if key.endswith(name)]
        for etag in (older, newer):
            storm.insert(0, storm.pop(next(n for n, e in enumerate(storm) if etag in e)))

    ran = {}
    for n, start in enumerate(range(0, len(storm), 9)):
        for body in storm[start:start + 9]:
            queue.send(body)
        for request in pipeline.tick().run_requests:  # runs between ticks, while events still arrive
            ran[manifest_id_of(request)] = pipeline.run(manifest_id_of(request)).success
        if n == 2:
            assert reconcile(pipeline)[0]["recovered"] == 2  # the files whose events were lost
    for manifest, success in pipeline.drain().items():
        ran[manifest] = success
    assert ran and all(ran.values())

    tracked = file_records(pipeline, day)
    expected = []
    for i in range(12):
        key = f"landing/ndjson/{day}/s-{i:02d}.ndjson"
        record = tracked[f"s-{i:02d}.ndjson"]
        assert record["status"].startswith("completed#")
        expected += [r["id"] for r in landed[(key, record["etag"])][1]]
        newest = [etag for (k, etag) in landed if k == key][-1]
        if record["etag"] != newest:
            # only if a manifest claimed the first version before the overwrite's event came:
            # then the newest content is quarantined as a re-upload, never lost or ingested too
            reupload = tracked.get(f"s-{i:02d}.ndjson#reupload-{newest}") or {}
            assert reupload.get("status") == "quarantined", f"the newest content of s-{i:02d}.ndjson was lost"
    for file_key, record in tracked.items():  # the only re-upload is new content, never an older version
        if "#reupload-" in file_key:
            name, _, etag = file_key.partition("#reupload-")
            assert etag == [e for (key, e) in landed if key.endswith(name)][-1]
    non_terminal = [k for k, r in tracked.items() if not r["status"].startswith(TERMINAL)]
    assert non_terminal == []
    ids = [r["id"] for r in pipeline.output_rows(day)]
    assert sorted(ids) == sorted(expected)  # no row lost, none twice
    assert len(set(ids)) == len(ids)
    assert reconcile(pipeline)[0]["recovered"] == 0


CLAIMER = """
import json, os, pathlib, sys, time
from dagster import DagsterInstance
from etl_platform.config import Settings
from etl_platform.pipelines.ndjson_to_parquet import JOB_NAME
from etl_platform.core.ingestion.manifests import date_of_manifest
from etl_platform.pipelines.ndjson_to_parquet.partitions import MANIFEST_TAG
from etl_platform_tests.ndjson_to_parquet.harness import Pipeline, scaled

endpoint, state_dir, manifest, barrier = sys.argv[1:5]
pipeline = Pipeline(scaled(Settings(endpoint_url=endpoint, state_dir=pathlib.Path(state_dir)), manifest_max_files=20))
job = pipeline.defs.resolve_job_def(JOB_NAME)
pathlib.Path(barrier, f"ready-{manifest}").touch()
while not pathlib.Path(barrier, "go").exists():
    time.sleep(0.005)
result = job.execute_in_process(instance=pipeline.instance, partition_key=date_of_manifest(manifest),
                              tags={MANIFEST_TAG: manifest}, raise_on_error=False)
print(json.dumps({"manifest": manifest, "success": result.success}))
"""


def test_two_claimer_processes_on_one_dates_pending_set_claim_each_file_once(aws, tmp_path):
    pipeline, day = Pipeline(scaled(aws, manifest_max_files=200)), "2026-07-02"
    for i in range(30):
        pipeline.land(day, f"p-{i:02d}.ndjson", records(f"p{i}", 3 + i % 4))
    assert pipeline.tick().run_requests == []  # tracked, pending: below every threshold
    assert len(pipeline.tracking.pending_files(day)) == 30
    manifests = [manifest_id(n, day, datetime.now(timezone.utc)) for n in (1, 2)]
    for manifest in manifests:
        pipeline.tracking.create_manifest(manifest, reason="race")

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))}
    processes = [subprocess.Popen([sys.executable, "-c", CLAIMER, aws.endpoint_url, str(aws.state_dir), m, str(tmp_path)],
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for m in manifests]
    while not all((tmp_path / f"ready-{m}").exists() for m in manifests):  # both loaded and waiting
        assert all(p.poll() is None for p in processes), [p.communicate() for p in processes]
        time.sleep(0.05)
    (tmp_path / "go").touch()
    outcomes = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err[-3000:]
        outcomes.append(json.loads(out.strip().splitlines()[-1]))
    assert all(o["success"] for o in outcomes), outcomes

    claimed = {m: [i["file_key"] for i in pipeline.tracking.files_of_manifest(m)] for m in manifests}
    everything = [key for keys in claimed.values() for key in keys]
    assert sorted(everything) == [f"p-{i:02d}.ndjson" for i in range(30)]  # each file by exactly one manifest
    assert all(len(keys) <= 20 for keys in claimed.values())
    statuses = {r["status"].partition("#")[0] for r in file_records(pipeline, day).values()}
    assert statuses == {"completed"}
    ids = [r["id"] for r in pipeline.output_rows(day)]
    assert sorted(ids) == sorted(f"p{i}-{n}" for i in range(30) for n in range(3 + i % 4))  # exactly once
