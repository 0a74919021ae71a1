"""Which landed objects the reconciliation hands over (core/reconciliation.py), with plain data."""

from datetime import datetime, timezone

from etl_platform.core.ingestion.landing import LandingRules
from etl_platform.core.reconciliation import (
    ReconcileWindow, folders_to_walk, is_stray_folder, landing_dates, stray_day, unlaunched_drops, unprofiled_uploads,
    untracked_landing,
)
from etl_platform.core.s3_events import object_created_event, parse_s3_event
from etl_platform.core.timestamps import iso_utc
from etl_platform.core.upload_cursor import ListedObject

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc).timestamp()
WINDOW = ReconcileWindow(lookback_days=7, grace_seconds=900)
RULES = LandingRules()


def landed(name, *, age=3600.0, etag="e1", version="v1", day="2026-03-10"):
    return ListedObject(key=f"landing/ndjson/{day}/{name}", etag=etag, last_modified=NOW - age, size=500,
                        version_id=version)


def test_landing_dates_are_tomorrow_today_and_the_lookback():
    assert landing_dates(NOW, 2) == ["2026-03-11", "2026-03-10", "2026-03-09", "2026-03-08"]


def test_a_file_whose_record_names_its_version_is_tracked_and_one_without_a_record_is_not():
    objects = [landed("a.ndjson"), landed("b.ndjson")]
    records = {"a.ndjson": {"version_id": "v1", "etag": "e1"}}
    assert [o.key for o in untracked_landing(objects, records, RULES, NOW, WINDOW)] == ["landing/ndjson/2026-03-10/b.ndjson"]


def test_a_new_version_under_a_tracked_key_is_untracked_until_recorded_as_a_reupload():
    newer = landed("a.ndjson", etag="e2", version="v2")
    assert untracked_landing([newer], {"a.ndjson": {"version_id": "v1", "etag": "e1"}}, RULES, NOW, WINDOW) == [newer]
    records = {"a.ndjson": {"version_id": "v1", "etag": "e1"}, "a.ndjson#reupload-e2": {"status": "quarantined"}}
    assert untracked_landing([newer], records, RULES, NOW, WINDOW) == []


def test_without_version_ids_the_etag_decides():
    obj = landed("a.ndjson", version="null")
    assert untracked_landing([obj], {"a.ndjson": {"etag": "e1"}}, RULES, NOW, WINDOW) == []
    assert untracked_landing([obj], {"a.ndjson": {"etag": "e0"}}, RULES, NOW, WINDOW) == [obj]


def test_a_young_file_is_left_to_its_event_and_one_older_than_the_lookback_is_never_handed_over():
    young = landed("young.ndjson", age=60)
    old = landed("old.ndjson", age=8 * 86400)  # its record, if it was ingested, may have expired
    edge = landed("edge.ndjson", age=7 * 86400 - 1)
    assert untracked_landing([young, old, edge], {}, RULES, NOW, WINDOW) == [edge]


def test_any_suffix_is_reconciled_but_not_a_folder_marker():
    json_file = landed("x.json")
    marker = ListedObject(key="landing/ndjson/2026-03-10/", etag="d41d", last_modified=NOW - 3600, size=0)
    assert untracked_landing([json_file, marker], {}, RULES, NOW, WINDOW) == [json_file]


def test_strays_are_walked_to_level_by_level_and_reconciled_however_old():
    assert folders_to_walk("landing/ndjson/") == ["", "landing/", "landing/ndjson/"]
    stray = [f for f in ("landing/", "landing/ndjson/", "landing/ndjson/2026-03-10/", "landing/other/",
                         "incoming/", "landing/ndjson/misc/", "landing/ndjson/2026-13-01/")
             if is_stray_folder(f, "landing/ndjson/")]
    assert stray == ["landing/other/", "incoming/", "landing/ndjson/misc/", "landing/ndjson/2026-13-01/"]
    old = ListedObject(key="x.json", etag="e1", last_modified=NOW - 90 * 86400, size=500, version_id="v1")
    assert untracked_landing([old], {}, RULES, NOW, WINDOW) == []          # a landing file that old: never
    assert untracked_landing([old], {}, RULES, NOW, WINDOW, any_age=True) == [old]
    assert untracked_landing([old], {"/x.json": {"version_id": "v1"}}, RULES, NOW, WINDOW, any_age=True) == []
    # a dated file of the same name is another record
    assert untracked_landing([old], {"x.json": {"version_id": "v1"}}, RULES, NOW, WINDOW, any_age=True) == [old]
    assert stray_day(old) == "2025-12-10"


def test_an_upload_is_unprofiled_without_an_item_or_with_an_item_of_an_older_upload():
    def upload(name, age=3600.0):
        return ListedObject(key=f"uploads/{name}", etag="e", last_modified=NOW - age, size=10, version_id="v")

    objects = [upload("a.csv"), upload("b.csv"), upload("c.csv"), upload("young.csv", age=10)]
    profiles = {"a.csv": {"upload_timestamp": iso_utc(NOW - 3600)},
                "b.csv": {"upload_timestamp": iso_utc(NOW - 7200)}}  # profiled the upload before
    missing = unprofiled_uploads(objects, profiles, "uploads/", NOW, WINDOW, iso_utc)
    assert [o.key for o in missing] == ["uploads/b.csv", "uploads/c.csv"]


def test_a_dropped_file_needs_a_launch_without_a_job_or_with_a_pending_one():
    def drop(name, age=3600.0):
        return ListedObject(key=f"incoming/{name}", etag="e", last_modified=NOW - age, size=10, version_id="v")

    jobs = {"incoming/done.parquet": {"status": "COMPLETED"}, "incoming/stuck.parquet": {"status": "PENDING"},
            "incoming/failed.parquet": {"status": "FAILED"}}
    objects = [drop("done.parquet"), drop("stuck.parquet"), drop("failed.parquet"), drop("lost.parquet"),
               drop("young.parquet", age=5)]
    missing = unlaunched_drops(objects, lambda o: jobs.get(o.key), NOW, WINDOW)
    assert [o.key for o in missing] == ["incoming/lost.parquet", "incoming/stuck.parquet"]


def test_a_synthesized_event_reads_back_as_the_object_version_it_names():
    key = "landing/ndjson/2026-03-10/a b+c/é.ndjson"
    event = object_created_event("bucket", key, size=7, etag="abc", version_id="v9", event_time="2026-03-10T00:00:00.000Z")
    assert "a+b%2Bc" in event["Records"][0]["s3"]["object"]["key"]  # AWS's form encoding
    [parsed] = parse_s3_event(event)
    assert (parsed.bucket, parsed.key, parsed.size, parsed.etag, parsed.version_id) == ("bucket", key, 7, "abc", "v9")
    [unversioned] = parse_s3_event(object_created_event("bucket", key, size=7, etag="abc", version_id="null"))
    assert unversioned.version_id == ""
