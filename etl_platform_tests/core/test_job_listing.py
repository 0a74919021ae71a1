"""Pipeline A's listing rules: page tokens refuse what is not theirs, and a malformed job
item is shown with what it has plus a flag, never dropped and never an exception."""

import base64
import json

import pytest

from etl_platform.core.job_listing import decode_page_token, encode_page_token, job_view, newest_first

SCAN_KEY = {"jobId": {"S": "j1"}}
GSI_KEY = {"jobId": {"S": "j1"}, "status": {"S": "PENDING"}, "createdAt": {"S": "2024-01-01T00:00:00.000Z"}}


def _token(payload) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


def test_tokens_round_trip_within_their_listing():
    assert decode_page_token(encode_page_token(SCAN_KEY, None), None) == SCAN_KEY
    assert decode_page_token(encode_page_token(GSI_KEY, "PENDING"), "PENDING") == GSI_KEY
    assert encode_page_token(None, None) is None and encode_page_token({}, "PENDING") is None
    assert decode_page_token(None, None) is None and decode_page_token("", "FAILED") is None


@pytest.mark.parametrize("token, why", [
    ("garbage!", "not a token"),                                   # not base64
    (encode_page_token(SCAN_KEY, None)[:-6], "not a token"),        # truncated
    ("bm90IGpzb24=", "not a token"),                               # base64 of "not json"
    (_token([1]), "not a token"),                                  # JSON, not an object
    (_token({"jobId": {"S": "j1"}}), "not a token"),               # the bare key (the old format)
    (_token({"status": None, "key": "j1"}), "not a token"),
    (_token({"status": None, "key": {"jobId": {"N": "1"}}}), "jobId is not a string key"),
    (_token({"status": None, "key": {"jobId": {"S": ""}}}), "jobId is not a string key"),
    (_token({"status": None, "key": {"jobId": "j1"}}), "jobId is not a string key"),
    (_token({"status": None, "key": {"jobId": {"S": "j1"}, "extra": {"S": "x"}}}), "its key has"),
    (_token({"status": None, "key": {}}), "its key has"),
    (_token({"status": None, "key": {"jobId": {"S": "j" * 1025}}}), "longer than a key can be"),
    ("ü", "not a token"),                                          # not even ASCII
])
def test_tokens_that_are_not_ours_are_refused_with_a_reason(token, why):
    with pytest.raises(ValueError, match=why) as refused:
        decode_page_token(token, None)
    assert "list again without it" in str(refused.value)


def test_a_token_only_continues_the_listing_it_came_from():
    with pytest.raises(ValueError, match="status=PENDING, not with no status filter"):
        decode_page_token(encode_page_token(GSI_KEY, "PENDING"), None)
    with pytest.raises(ValueError, match="no status filter, not with status=FAILED"):
        decode_page_token(encode_page_token(SCAN_KEY, None), "FAILED")
    with pytest.raises(ValueError, match="status=PENDING, not with status=FAILED"):
        decode_page_token(encode_page_token(GSI_KEY, "PENDING"), "FAILED")
    crafted = _token({"status": "FAILED", "key": GSI_KEY})  # claims FAILED, ends at a PENDING job
    with pytest.raises(ValueError, match="ends at a PENDING job"):
        decode_page_token(crafted, "FAILED")
    with pytest.raises(ValueError, match="its key has"):  # a scan key under a status listing
        decode_page_token(_token({"status": "PENDING", "key": SCAN_KEY}), "PENDING")


SOUND = {"jobId": "j1", "fileName": "a.parquet", "status": "COMPLETED", "createdAt": "2024-01-02",
         "updatedAt": "2024-01-02", "inputS3Key": "uploads/j1/a.parquet", "outputS3Key": "output/j1/a.ndjson",
         "processingTime": 1.5, "launchRunId": "r1"}


def test_a_sound_item_is_shown_whole_and_unflagged():
    view = job_view(SOUND)
    assert view["malformed"] == []
    assert {k: view[k] for k in SOUND if k != "launchRunId"} == {k: v for k, v in SOUND.items() if k != "launchRunId"}
    assert view["errorMessage"] is None and "launchRunId" not in view


def test_a_malformed_item_shows_what_it_has_and_says_what_it_lacks():
    view = job_view({"jobId": "j2", "status": "DONE", "createdAt": 17, "processingTime": "fast",
                     "inputS3Key": "uploads/j2/x"})
    assert view["jobId"] == "j2" and view["inputS3Key"] == "uploads/j2/x"
    assert (view["status"], view["createdAt"], view["fileName"], view["processingTime"]) == (None, None, None, None)
    assert view["malformed"] == [
        "fileName missing", "createdAt is not a string: 17", "updatedAt missing",
        "status 'DONE' is not one of PENDING, RUNNING, COMPLETED, FAILED", "processingTime is not a number: 'fast'",
    ]
    no_output = job_view({k: v for k, v in SOUND.items() if k != "outputS3Key"})
    assert no_output["malformed"] == ["outputS3Key missing on a COMPLETED job"]
    assert job_view({"jobId": "j3"})["malformed"] == [
        "fileName missing", "status missing", "createdAt missing", "updatedAt missing", "inputS3Key missing"]


def test_newest_first_puts_items_without_a_date_last():
    jobs = [job_view({"jobId": "old", "createdAt": "2024-01-01"}), job_view({"jobId": "none"}),
            job_view({"jobId": "new", "createdAt": "2024-02-01"})]
    assert [j["jobId"] for j in newest_first(jobs)] == ["new", "old", "none"]
