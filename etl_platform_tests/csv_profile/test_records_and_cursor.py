"""Pure pieces of pipeline C and the shared S3-event decoder."""

from datetime import datetime, timezone

import pytest

from etl_platform.core.profile_records import (
    error_item, file_name_for, profile_drift, rate_severity, success_item, summary_key,
)
from etl_platform.core.s3_events import MalformedEvent, parse_s3_event
from etl_platform.core.upload_cursor import ListedObject, UploadCursor, plan_new_uploads

UPLOADED = datetime(2025, 11, 29, 10, 30, tzinfo=timezone.utc)
PROCESSED = datetime(2025, 11, 29, 10, 30, 15, tzinfo=timezone.utc)


def test_names_follow_seed_004():
    assert file_name_for("uploads/sales_data.csv", "uploads/") == "sales_data.csv"
    assert summary_key("sales_data.csv", "processed/") == "processed/sales_data_summary.json"
    assert summary_key("team/Q1.CSV", "processed/") == "processed/team/Q1_summary.json"


def test_items_have_the_seed_shape():
    profile = {"row_count": 2, "schema": {"age": "int"}, "statistics": {"age": {"min": 1, "max": 2, "avg": 1.5, "count": 2}},
               "quality_issues": {"total_rows": 2, "has_issues": False, "missing_values": {}, "invalid_values": {}}}
    assert success_item("a.csv", profile, uploaded=UPLOADED, processed=PROCESSED) == {
        "file_name": "a.csv", "upload_timestamp": "2025-11-29T10:30:00Z", "processed_timestamp": "2025-11-29T10:30:15Z",
        "status": "success", "row_count": 2, "schema": {"age": "int"},
        "statistics": {"age": {"min": 1, "max": 2, "avg": 1.5, "count": 2}}, "quality_issues": profile["quality_issues"],
    }
    item = error_item("b.csv", "CSV parsing failed: x", uploaded=UPLOADED, processed=PROCESSED)
    assert (item["status"], item["row_count"], item["schema"], item["statistics"], item["error_message"]) == (
        "error", 0, {}, {}, "CSV parsing failed: x")


def test_severity_and_drift():
    assert [rate_severity(p, 5, 20) for p in (0, 4.99, 5, 19, 20, 100)] == ["ok", "ok", "warn", "warn", "error", "error"]
    before = {"schema": {"a": "float", "b": "int"}, "statistics": {"a": {"avg": 100.0}, "b": {"avg": 0.0}},
              "quality_issues": {"missing_values": {"a": {"percentage": 1.0}}}}
    after = {"schema": {"a": "float", "b": "int"}, "statistics": {"a": {"avg": 130.0}, "b": {"avg": 0.1}},
             "quality_issues": {"missing_values": {"a": {"percentage": 15.0}}}}
    assert profile_drift(before, after, null_rate_points=10, mean_relative=0.25) == [
        "a: missing rate 1.00% -> 15.00%", "a: mean 100 -> 130"]
    assert profile_drift(before, before, null_rate_points=10, mean_relative=0.25) == []


def _event(key, etag="abc", name="ObjectCreated:Put"):
    return {"Records": [{"eventName": name, "eventTime": "t", "s3": {"bucket": {"name": "b"}, "object": {"key": key, "size": 5, "eTag": etag}}}]}


def test_s3_events_are_decoded():
    [event] = parse_s3_event(_event("uploads/my+file%C3%A9+%2B1.csv"))
    assert (event.key, event.size, event.etag, event.uri) == ("uploads/my fileé +1.csv", 5, "abc", "s3://b/uploads/my fileé +1.csv")
    assert parse_s3_event('{"Service": "Amazon S3", "Event": "s3:TestEvent"}') == []
    assert parse_s3_event(_event("k", name="ObjectRemoved:Delete")) == []
    for bad in ("not json", "[1]", '{"x": 1}', {"Records": [{"eventName": "ObjectCreated:Put"}]}):
        with pytest.raises(MalformedEvent):
            parse_s3_event(bad)


def test_cursor_neither_misses_nor_repeats():
    a, b = ListedObject("uploads/z.csv", "e1", 100.0), ListedObject("uploads/a.csv", "e2", 200.0)
    new, cursor = plan_new_uploads([a, b], UploadCursor(), max_new=10)
    assert new == [a, b]
    cursor = UploadCursor.from_json(cursor.to_json())
    assert plan_new_uploads([a, b], cursor, max_new=10)[0] == []  # nothing twice
    early_name = ListedObject("uploads/0.csv", "e3", 250.0)  # sorts before every other key
    reupload = ListedObject("uploads/z.csv", "e9", 260.0)
    new, cursor = plan_new_uploads([early_name, reupload, b], cursor, max_new=10)
    assert new == [early_name, reupload]


def test_cursor_caps_work_per_tick_and_keeps_the_rest():
    objects = [ListedObject(f"uploads/{i}.csv", "e", float(i)) for i in range(5)]
    first, cursor = plan_new_uploads(objects, UploadCursor(), max_new=2)
    second, cursor = plan_new_uploads(objects, cursor, max_new=2)
    third, cursor = plan_new_uploads(objects, cursor, max_new=2)
    assert [o.key for o in first + second + third] == [f"uploads/{i}.csv" for i in range(5)]
    assert plan_new_uploads(objects, cursor, max_new=2)[0] == []


def test_cursor_forgets_versions_below_the_window():
    old = ListedObject("uploads/old.csv", "e", 0.0)
    _, cursor = plan_new_uploads([old], UploadCursor(), max_new=5, lookback_seconds=10)
    _, cursor = plan_new_uploads([old, ListedObject("uploads/new.csv", "e", 100.0)], cursor, max_new=5, lookback_seconds=10)
    assert set(cursor.recent) == {"uploads/new.csv"}
    assert plan_new_uploads([old], cursor, max_new=5, lookback_seconds=10)[0] == []  # below the window: not new
