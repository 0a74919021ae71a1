"""Pipeline C end to end: every hostile CSV input of the README table, the hostile S3 keys
and an innocent file uploaded together; the real sensor and runs profile them."""

from __future__ import annotations

import json

import pytest
from dagster import DagsterInstance, Definitions

from etl_platform.core.profile_records import summary_key
from etl_platform.pipelines.csv_profile import csv_profile_definitions
from etl_platform.resources import platform_resources
from etl_platform_tests.helpers import tick_sensor
from etl_platform_tests.hostile import csv_inputs
from etl_platform_tests.hostile.documented import documented, matches

pytestmark = pytest.mark.e2e

KEYS = {"c-space-unicode": "my file ü.csv", "c-dotdot": "../up.csv"}


def test_a_batch_of_hostile_csv_files(aws):
    defs = Definitions.merge(csv_profile_definitions(aws), Definitions(resources=platform_resources(aws)))
    s3 = defs.resources["s3"].get_client()
    table = defs.resources["file_metadata_table"]
    bucket, upload, processed = aws.names.csv_data_bucket, aws.profiling.upload_prefix, aws.profiling.processed_prefix
    files = {f"{scenario}.csv": make() for scenario, make in csv_inputs.SCENARIOS.items()}
    files["innocent.csv"] = csv_inputs.innocent()
    files.update({name: csv_inputs.innocent() for name in KEYS.values()})
    for name, body in files.items():
        s3.put_object(Bucket=bucket, Key=upload + name, Body=body)

    instance = DagsterInstance.ephemeral()
    tick = tick_sensor(defs, instance, "csv_upload_sensor", ("s3",), None)
    assert sorted(r.partition_key for r in tick.run_requests) == sorted(files)
    job = defs.resolve_job_def("csv_profile_job")
    for request in tick.run_requests:   # a failed run is the file's error status, never a crash
        job.execute_in_process(instance=instance, partition_key=request.partition_key, raise_on_error=False,
                               tags=request.tags)

    def observed(name: str) -> tuple[str, str]:
        item = table.latest_profile(name)
        if item["status"] == "error":
            return "error", item["error_message"]
        summary = s3.get_object(Bucket=bucket, Key=summary_key(name, processed))["Body"].read()
        return "success", csv_inputs.describe(json.loads(summary))

    doc = documented("C CSV")
    for scenario in csv_inputs.SCENARIOS:
        status, message = observed(f"{scenario}.csv")
        assert status == doc[scenario][0], scenario
        assert matches(doc[scenario][1], message), (scenario, message)
    assert observed("innocent.csv") == ("success", "20 rows, 3 columns")

    keys = documented("S3 keys")
    for scenario, name in KEYS.items():
        assert observed(name) == ("success", "20 rows, 3 columns")     # the whole file, under a hostile key
        assert (table.latest_profile(name)["status"], summary_key(name, processed)) == keys[scenario]
        s3.head_object(Bucket=bucket, Key=summary_key(name, processed))
    # the unterminated quote also fails its asset check
    checks = [e for e in instance.all_logs(_run_of(instance, "unmatched-quote.csv"))
              if e.dagster_event and e.dagster_event.event_type_value == "ASSET_CHECK_EVALUATION"]
    [check] = [e.dagster_event.event_specific_data for e in checks
               if e.dagster_event.event_specific_data.check_name == "unterminated_quote"]
    assert not check.passed and check.severity.value == "ERROR"


def _run_of(instance, partition: str) -> str:
    [run] = [r for r in instance.get_runs() if r.tags.get("dagster/partition") == partition]
    return run.run_id
