"""Pipeline C on the emulator: upload -> sensor -> run -> summary JSON + metadata item."""

import json

from dagster import DagsterInstance, Definitions

from etl_platform.pipelines.csv_profile import csv_profile_definitions
from etl_platform.pipelines.csv_profile.handler import handler
from etl_platform.resources import platform_resources
from etl_platform_tests.helpers import tick_sensor


def _definitions(settings):
    return Definitions.merge(csv_profile_definitions(settings), Definitions(resources=platform_resources(settings)))


def _tick(defs, instance, cursor=None):
    return tick_sensor(defs, instance, "csv_upload_sensor", ("s3",), cursor)


def _run_all(defs, instance, run_requests):
    job = defs.resolve_job_def("csv_profile_job")
    return {
        r.partition_key: job.execute_in_process(instance=instance, partition_key=r.partition_key, raise_on_error=False, tags=r.tags)
        for r in run_requests
    }


def _item(settings, file_name):
    return platform_resources(settings)["file_metadata_table"].latest_profile(file_name)


def _summary(s3, settings, key):
    return json.loads(s3.get_object(Bucket=settings.names.csv_data_bucket, Key=key)["Body"].read())


def test_upload_sensor_run_outputs(aws, sample_files):
    defs = _definitions(aws)
    s3 = defs.resources["s3"].get_client()
    bucket = aws.names.csv_data_bucket
    for name, body in sample_files.items():
        s3.put_object(Bucket=bucket, Key=f"uploads/{name}", Body=body)
    s3.put_object(Bucket=bucket, Key="uploads/notes.txt", Body=b"a,b\n1,2\n")  # CSV content, wrong name: an error
    s3.put_object(Bucket=bucket, Key="uploads/", Body=b"")  # a folder marker: no run
    instance = DagsterInstance.ephemeral()

    tick = _tick(defs, instance)
    assert sorted(r.partition_key for r in tick.run_requests) == sorted([*sample_files, "notes.txt"])
    assert all(r.run_key == f"uploads/{r.partition_key}@{r.tags['etag']}" for r in tick.run_requests)
    runs = _run_all(defs, instance, tick.run_requests)
    assert _tick(defs, instance, tick.cursor).run_requests == []  # nothing twice

    for good in ("clean.csv", "missing_invalid.csv", "header_only.csv", "semicolon_latin1.csv"):
        assert runs[good].success, good
    for bad in ("malformed.csv", "empty.csv", "notes.txt"):
        assert not runs[bad].success, bad
    notes = _item(aws, "notes.txt")
    assert (notes["status"], notes["error_message"]) == (
        "error", "not a .csv file: uploads/ takes CSV files only; upload it again as <name>.csv")

    clean = _item(aws, "clean.csv")
    assert set(clean) == {"file_name", "upload_timestamp", "processed_timestamp", "status", "row_count", "schema", "statistics",
                          "quality_issues", "quality_status", "failed_checks"}
    assert clean["status"] == "success" and clean["row_count"] == 4
    assert (clean["quality_status"], clean["failed_checks"]) == ("passed", {})
    assert clean["schema"] == {"name": "string", "age": "int", "salary": "float", "join_date": "date"}
    assert clean["statistics"]["age"] == {"min": 25, "max": 65, "avg": 42.0, "count": 4}
    assert clean["statistics"]["salary"] == {"min": 45000.0, "max": 150000.0, "avg": 82500.125, "count": 4}
    assert clean["statistics"]["join_date"] == {"min": "2018-11-02", "max": "2021-07-30", "count": 4}
    assert clean["quality_issues"] == {"total_rows": 4, "has_issues": False, "missing_values": {}, "invalid_values": {}}
    assert clean["upload_timestamp"].endswith("Z") and "T" in clean["processed_timestamp"]
    summary = _summary(s3, aws, "processed/clean_summary.json")
    assert {k: summary[k] for k in clean} == clean

    messy = _item(aws, "missing_invalid.csv")
    issues = messy["quality_issues"]
    assert messy["schema"]["age"] == "int" and messy["schema"]["salary"] == "float"
    assert issues["has_issues"] is True and issues["total_rows"] == 11
    assert issues["missing_values"] == {"salary": {"count": 2, "percentage": 18.18}}
    assert issues["invalid_values"]["age"] == {"count": 1, "percentage": 9.09, "examples": [{"row": 3, "value": "abc"}]}
    # profiled (seed 004's status), but an ERROR-level check failed: the item says so
    assert messy["status"] == "success" and messy["quality_status"] == "failed_checks"
    assert messy["failed_checks"] == {"missing_values": "WARN", "invalid_values": "ERROR"}
    assert _summary(s3, aws, "processed/missing_invalid_summary.json")["quality_status"] == "failed_checks"
    assert messy["statistics"]["age"]["count"] == 10 and messy["statistics"]["salary"]["count"] == 9

    header_only = _item(aws, "header_only.csv")
    assert (header_only["status"], header_only["row_count"], header_only["schema"]) == (
        "success", 0, {"name": "string", "age": "string", "salary": "string"})

    latin = _item(aws, "semicolon_latin1.csv")
    assert latin["schema"] == {"nom": "string", "âge": "int", "ville": "string"}
    assert latin["statistics"]["âge"] == {"min": 29, "max": 51, "avg": 38.0, "count": 3}
    assert _summary(s3, aws, "processed/semicolon_latin1_summary.json")["dialect"]["delimiter"] == ";"

    for bad, message in (("malformed.csv", "binary"), ("empty.csv", "empty")):
        item = _item(aws, bad)
        assert (item["status"], item["row_count"], item["schema"], item["statistics"]) == ("error", 0, {}, {})
        assert "quality_status" not in item  # nothing was profiled, so nothing was checked
        assert message in item["error_message"]
        listing = s3.list_objects_v2(Bucket=bucket, Prefix=f"processed/{bad[:-4]}_summary")
        assert listing.get("KeyCount") == 0, "no partial summary"


def test_asset_checks_and_history(aws, sample_files):
    defs = _definitions(aws)
    s3 = defs.resources["s3"].get_client()
    bucket = aws.names.csv_data_bucket
    instance = DagsterInstance.ephemeral()
    s3.put_object(Bucket=bucket, Key="uploads/m.csv", Body=sample_files["missing_invalid.csv"])
    tick = _tick(defs, instance)
    result = _run_all(defs, instance, tick.run_requests)["m.csv"]
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert checks["missing_values"].passed is False  # 18.18% missing salaries: between 5% (warn) and 20% (error)
    assert checks["missing_values"].severity.value == "WARN"
    assert checks["invalid_values"].passed is False  # 10% invalid ages > 5% error threshold
    assert checks["invalid_values"].severity.value == "ERROR"
    assert checks["profile_drift"].passed is True  # first profile
    assert {e.partition for e in checks.values()} == {"m.csv"}  # each result belongs to the file's partition
    assert checks["invalid_values"].metadata["examples"].value == {"age": [{"row": 3, "value": "abc"}]}
    assert checks["invalid_values"].metadata["bad_values"].value == 'age: row 3 "abc"'
    assert checks["missing_values"].metadata["failing_columns"].value == "salary 18.18%"
    materialization = result.asset_materializations_for_node("csv_profile")[0]
    assert materialization.metadata["row_count"].value == 11
    assert materialization.metadata["quality_status"].value == "failed_checks"
    # numbers, so the asset's Plots tab draws them over time: 2 missing and 1 invalid of 44 cells
    assert (materialization.metadata["missing_cells_pct"].value, materialization.metadata["invalid_cells_pct"].value) == (
        round(200 / 44, 4), round(100 / 44, 4))
    assert materialization.metadata["worst_column_invalid_pct"].value == 9.09
    assert [r.data["column"] for r in materialization.metadata["columns"].value.records] == ["name", "age", "salary", "join_date"]

    # Re-upload of the same name with a shifted mean: a new version, profiled again, drift flagged.
    shifted = sample_files["missing_invalid.csv"].replace(b",30,", b",300,").replace(b",40,", b",400,")
    s3.put_object(Bucket=bucket, Key="uploads/m.csv", Body=shifted)
    tick = _tick(defs, instance, tick.cursor)
    assert [r.partition_key for r in tick.run_requests] == ["m.csv"]
    result = _run_all(defs, instance, tick.run_requests)["m.csv"]
    drift = {e.check_name: e for e in result.get_asset_check_evaluations()}["profile_drift"]
    assert drift.passed is False and any("age: mean" in f for f in drift.metadata["findings"].value)


def test_lambda_equivalent_handler(aws, sample_files, monkeypatch):
    monkeypatch.setenv("ETL_ENDPOINT_URL", aws.endpoint_url)
    monkeypatch.setenv("ETL_STATE_DIR", str(aws.state_dir))
    s3 = platform_resources(aws)["s3"].get_client()
    bucket = aws.names.csv_data_bucket
    s3.put_object(Bucket=bucket, Key="uploads/my clean.csv", Body=sample_files["clean.csv"])
    event = {"Records": [
        {"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": bucket}, "object": {"key": "uploads/my+clean.csv", "size": 1}}},
        {"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": bucket}, "object": {"key": "other/x.csv", "size": 1}}},
    ]}
    result = handler(event, None)["results"]
    assert result[0]["status"] == "success" and result[0]["summary_key"] == "processed/my clean_summary.json"
    assert result[0]["quality_status"] == "passed"
    assert result[1]["status"] == "skipped"
    assert _item(aws, "my clean.csv")["row_count"] == 4


def test_a_run_profiles_the_version_its_sensor_saw(aws, sample_files):
    """The data bucket is versioned: an upload overwritten before its run is still profiled
    as uploaded, and the overwrite gets its own run."""
    defs = _definitions(aws)
    s3 = defs.resources["s3"].get_client()
    bucket = aws.names.csv_data_bucket
    s3.put_object(Bucket=bucket, Key="uploads/people.csv", Body=sample_files["clean.csv"])
    instance = DagsterInstance.ephemeral()
    first_tick = _tick(defs, instance)
    [first] = first_tick.run_requests
    s3.put_object(Bucket=bucket, Key="uploads/people.csv", Body=sample_files["missing_invalid.csv"])
    oldest = s3.list_object_versions(Bucket=bucket, Prefix="uploads/people.csv")["Versions"][-1]
    assert first.tags["s3/version_id"] == oldest["VersionId"]

    assert _run_all(defs, instance, [first])["people.csv"].success
    assert _item(aws, "people.csv")["row_count"] == 4  # clean.csv's rows, not the overwrite's 11
    [second] = _tick(defs, instance, first_tick.cursor).run_requests
    assert second.tags["s3/version_id"] != first.tags["s3/version_id"]
    assert _run_all(defs, instance, [second])["people.csv"].success
    assert _item(aws, "people.csv")["row_count"] == 11


def test_a_five_thousand_column_profile_fits_dynamodb(aws_limits):
    """DynamoDB refuses items over 400 KB (the emulator too, in its strict-limits mode): the
    item of a very wide CSV keeps its per-column attributes in the summary JSON, and the next
    profile of that file still finds them."""
    from etl_platform.core.dynamodb_item_size import ITEM_LIMIT_BYTES, python_item_size as item_size

    aws = aws_limits
    defs = _definitions(aws)
    s3 = defs.resources["s3"].get_client()
    bucket = aws.names.csv_data_bucket
    columns = [f"measurement_{i:04d}" for i in range(5000)]

    def wide_csv(shift):  # one row of gaps: every column gets a missing-values issue too
        rows = [",".join(columns), "," * 4999] + [",".join(str(i * 7 + r + shift) for i in range(5000)) for r in range(3)]
        return ("\n".join(rows) + "\n").encode()

    instance = DagsterInstance.ephemeral()
    s3.put_object(Bucket=bucket, Key="uploads/wide.csv", Body=wide_csv(0))
    first_tick = _tick(defs, instance)
    assert _run_all(defs, instance, first_tick.run_requests)["wide.csv"].success
    item = _item(aws, "wide.csv")
    summary = _summary(s3, aws, "processed/wide_summary.json")
    whole = {k: summary[k] for k in ("file_name", "upload_timestamp", "processed_timestamp", "status", "row_count",
                                     "schema", "statistics", "quality_issues")}
    assert item_size(whole) > ITEM_LIMIT_BYTES  # what only moto would accept
    assert item_size(item) < ITEM_LIMIT_BYTES and "schema" not in item
    assert (item["column_count"], item["row_count"], item["status"]) == (5000, 4, "success")
    assert item["profile_uri"] == f"s3://{bucket}/processed/wide_summary.json" and len(summary["schema"]) == 5000

    s3.put_object(Bucket=bucket, Key="uploads/wide.csv", Body=wide_csv(100_000))
    [again] = _tick(defs, instance, first_tick.cursor).run_requests
    result = _run_all(defs, instance, [again])["wide.csv"]
    assert result.success
    [drift] = [c for c in result.get_asset_check_evaluations() if c.check_name == "profile_drift"]
    assert not drift.passed and "measurement_0000: mean" in str(drift.metadata)  # compared with the previous profile
