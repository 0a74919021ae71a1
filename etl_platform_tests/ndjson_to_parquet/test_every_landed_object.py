"""Every object created in pipeline B's landing bucket is accounted for, whatever its key.

Through the real path: objects put into the emulator's landing bucket, the S3 event
notifications the bucket's configuration (provisioned from infra/template.yaml) sends to
the real file-events queue, a validation run of the file-events sensor, records in the
tracking table, copies in the quarantine bucket. A `.json` file, a file outside
`landing/ndjson/` and one directly in it (no date folder) are quarantined with their reason
and recorded, the valid file is tracked pending, a folder marker is left alone; with the
events lost, the reconciliation finds the same objects. Before every object had its event,
the notification filter (prefix `landing/ndjson/`, suffix `.ndjson`) dropped the first two
kinds: nothing saw them.
"""

import json
import subprocess
from datetime import datetime, timezone

import pytest
from botocore.exceptions import ClientError

from etl_platform_tests.helpers import VENV_BIN, cli_env, reconcile
from etl_platform_tests.ndjson_to_parquet.harness import Pipeline, records, scaled

pytestmark = pytest.mark.e2e

OUTSIDE = "key is outside landing/ndjson/"


def _today() -> str:
    return datetime.now(timezone.utc).date().isoformat()


def _wrong_objects(day: str) -> dict[str, str]:
    """Each wrong key a producer might use, with the reason the validator gives. `x.json` and
    `landing/ndjson/<day>/x.json` land the same day under the same name: two records."""
    return {
        "x.json": OUTSIDE,
        "landing/other/y.ndjson": OUTSIDE,
        f"landing/ndjson/{day}/x.json": "not a .ndjson file",
        "landing/ndjson/y.ndjson": "key is not landing/ndjson/YYYY-MM-DD/<file>",
    }


def _land_everything(pipeline: Pipeline, day: str) -> dict[str, str]:
    """The wrong objects (valid NDJSON content: only their keys are wrong), a valid file and
    a folder marker; the wrong keys with their reasons."""
    wrong = _wrong_objects(day)
    body = ("\n".join(json.dumps(r) for r in records("wrong", 5)) + "\n").encode()
    for key in wrong:
        pipeline.s3.put_object(Bucket=pipeline.names.ndjson_input_bucket, Key=key, Body=body)
    pipeline.land(day, "good.ndjson", records("good", 5))
    pipeline.s3.put_object(Bucket=pipeline.names.ndjson_input_bucket, Key=f"landing/ndjson/{day}/", Body=b"")
    return wrong


def _quarantine_records(pipeline: Pipeline) -> dict[str, dict]:
    """The quarantined tracking records, by the object they were landed as."""
    bucket = pipeline.names.ndjson_input_bucket
    return {i["file_path"].removeprefix(f"s3://{bucket}/"): i for i in pipeline.tracking.files_in_state("quarantined")}


def _assert_quarantined(pipeline: Pipeline, wrong: dict[str, str]) -> None:
    """Each wrong object: recorded `quarantined` with its reason, moved to the quarantine
    bucket under its key with the reason in its metadata, and gone from landing."""
    names = pipeline.names
    quarantined = _quarantine_records(pipeline)
    assert {key: item["reason"] for key, item in quarantined.items()} == wrong
    for key, reason in wrong.items():
        assert quarantined[key]["quarantine_path"] == f"s3://{names.quarantine_bucket}/{key}"
        copy = pipeline.s3.head_object(Bucket=names.quarantine_bucket, Key=key)
        assert copy["Metadata"]["quarantine-reason"] == reason
        with pytest.raises(ClientError, match="404|Not Found"):
            pipeline.s3.head_object(Bucket=names.ndjson_input_bucket, Key=key)


def _assert_good_and_marker_kept(pipeline: Pipeline, day: str) -> None:
    assert pipeline.tracking.file(day, "good.ndjson")["status"].startswith("pending#")
    marker = pipeline.s3.head_object(Bucket=pipeline.names.ndjson_input_bucket, Key=f"landing/ndjson/{day}/")
    assert marker["ContentLength"] == 0  # a folder marker is not data: neither tracked nor moved


def test_wrong_keys_in_the_landing_bucket_are_quarantined_with_their_reason(aws, tmp_path):
    pipeline, day = Pipeline(scaled(aws)), _today()
    wrong = _land_everything(pipeline, day)

    tick = pipeline.tick()
    # one validation run took every event; quarantining wrote nothing that came back as an event
    [run] = tick.validations
    assert run.success
    assert pipeline.resources["file_events_queue"].approximate_depth() == {"visible": 0, "in_flight": 0}
    [observation] = [e.event_specific_data.asset_observation for e in run.get_asset_observation_events()]
    seen = {k: v.value for k, v in observation.metadata.items()}
    assert (seen["tracked"], seen["quarantined"], seen["outcomes"].get("skipped")) == (1, len(wrong), 1), seen
    assert {q["key"]: q["reason"] for q in seen["quarantined_files"]} == wrong
    logs = [e.user_message for e in pipeline.instance.all_logs(run.run_id)]
    assert all(any(m == f"quarantined {key}: {reason}" for m in logs) for key, reason in wrong.items())

    _assert_quarantined(pipeline, wrong)
    _assert_good_and_marker_kept(pipeline, day)

    # and `etl-platform ingest status` (the real command) names them with their reasons
    env = cli_env(aws.state_dir, ETL_ENDPOINT_URL=aws.endpoint_url, DAGSTER_HOME=str(tmp_path))
    status = subprocess.run([str(VENV_BIN / "etl-platform"), "ingest", "status"], env=env, capture_output=True,
                            text=True, timeout=300)
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    bucket = aws.names.ndjson_input_bucket
    assert report["quarantined_files"] == len(wrong)
    assert {q["file_path"]: q["reason"] for q in report["latest_quarantined"]} == {
        f"s3://{bucket}/{key}": reason for key, reason in wrong.items()}


def test_wrong_keys_whose_events_were_lost_are_found_by_the_reconciliation(aws):
    pipeline = Pipeline(scaled(aws).with_overrides(reconcile_grace_seconds=0))
    day = _today()
    wrong = _land_everything(pipeline, day)
    queue = pipeline.resources["file_events_queue"]
    while messages := queue.receive(max_messages=10, wait_seconds=1):  # S3 never sent them
        queue.delete([m.receipt_handle for m in messages])

    _, metadata, check = reconcile(pipeline.defs, pipeline.instance, "ndjson_landing_reconciliation",
                                   ("tracking_table", "s3", "metrics_table"), "ndjson_landing_files")
    assert metadata["outcomes"] == {"tracked": 1, "quarantined": len(wrong)}, metadata
    assert sorted(check.metadata["recovered_keys"].value) == sorted([*wrong, f"landing/ndjson/{day}/good.ndjson"])
    _assert_quarantined(pipeline, wrong)
    _assert_good_and_marker_kept(pipeline, day)

    _, again, check = reconcile(pipeline.defs, pipeline.instance, "ndjson_landing_reconciliation",
                                ("tracking_table", "s3", "metrics_table"), "ndjson_landing_files")
    assert (again["recovered"], again["outcomes"], check.passed) == (0, {}, True)
