"""How pipeline A lists jobs: page tokens and what a stored job item shows. Pure: no boto3,
no dagster.

A listing must survive what it reads. A token comes back from a client, so it may be cut,
crafted or from another listing: it is checked here, before DynamoDB sees it, and refused
with a message (the API answers 400). An item may have been written by hand or by an older
version: it is shown with what it has, and `malformed` says what it lacks.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from etl_platform.core.parquet_jobs import COMPLETED, STATUSES

# The key attributes DynamoDB puts in LastEvaluatedKey: the table's for a Scan, the GSI's
# and the table's for a Query of the status index.
SCAN_KEY = ("jobId",)
STATUS_KEY = ("createdAt", "jobId", "status")
# Shown as text; the first three are what every row of a listing shows.
TEXT_FIELDS = ("fileName", "status", "createdAt", "updatedAt", "inputS3Key")
OPTIONAL_TEXT = ("outputS3Key", "errorMessage")
# DynamoDB refuses a start key longer than a key may be (1024 bytes for a range key, which
# createdAt is in the GSI); refused here so the message is ours and moto, which takes any
# length, answers as AWS would.
MAX_KEY_BYTES = 1024


def _bad(reason: str) -> ValueError:
    return ValueError(f"nextToken is not valid ({reason}); list again without it")


def encode_page_token(last_evaluated_key: dict[str, Any] | None, status: str | None) -> str | None:
    """The next page's token; it names the listing it continues (all jobs, or one status)."""
    if not last_evaluated_key:
        return None
    payload = {"status": status, "key": last_evaluated_key}
    return base64.urlsafe_b64encode(json.dumps(payload, sort_keys=True).encode()).decode()


def decode_page_token(token: str | None, status: str | None) -> dict[str, Any] | None:
    """The DynamoDB start key in a token of the listing of `status` (None: all jobs);
    ValueError saying why if it is not one of ours, or belongs to another listing."""
    if not token:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
    except (binascii.Error, ValueError, UnicodeError) as exc:  # cut, not base64, not JSON
        raise _bad("not a token of this API") from exc
    if not isinstance(payload, dict) or set(payload) != {"status", "key"} or not isinstance(payload["key"], dict):
        raise _bad("not a token of this API")
    if payload["status"] != status:
        made_for = f"status={payload['status']}" if payload["status"] else "no status filter"
        asked = f"status={status}" if status else "no status filter"
        raise _bad(f"it continues the listing with {made_for}, not with {asked}")
    key = payload["key"]
    expected = STATUS_KEY if status else SCAN_KEY
    if sorted(key) != list(expected):
        raise _bad(f"its key has {sorted(key)}, a page of this listing ends at {list(expected)}")
    for name, value in key.items():
        if not (isinstance(value, dict) and list(value) == ["S"] and isinstance(value["S"], str) and value["S"]):
            raise _bad(f"{name} is not a string key")
        if len(value["S"].encode()) > MAX_KEY_BYTES:
            raise _bad(f"{name} is longer than a key can be")
    if status and key["status"]["S"] != status:
        raise _bad(f"it ends at a {key['status']['S']} job, not a {status} one")
    return key


def job_view(item: dict[str, Any]) -> dict[str, Any]:
    """A stored job as the API shows it: every field it can show, None for the rest, and
    `malformed` listing what is missing or of the wrong type (empty for a sound item)."""
    problems: list[str] = []
    view: dict[str, Any] = {"jobId": str(item.get("jobId", ""))}
    for name in TEXT_FIELDS + OPTIONAL_TEXT:
        value = item.get(name)
        if value is None:
            if name in TEXT_FIELDS:
                problems.append(f"{name} missing")
        elif not isinstance(value, str):
            problems.append(f"{name} is not a string: {value!r:.60}")
            value = None
        view[name] = value
    if view["status"] is not None and view["status"] not in STATUSES:
        problems.append(f"status {view['status']!r:.60} is not one of {', '.join(STATUSES)}")
        view["status"] = None
    seconds = item.get("processingTime")
    if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, (int, float))):
        problems.append(f"processingTime is not a number: {seconds!r:.60}")
        seconds = None
    view["processingTime"] = seconds
    # the Dagster run of the job: the one its last trigger launched, else the one that ran it
    run_id = item.get("launchRunId") or item.get("runId")
    view["runId"] = run_id if isinstance(run_id, str) else None
    if view["status"] == COMPLETED and item.get("outputS3Key") is None:
        problems.append("outputS3Key missing on a COMPLETED job")
    view["malformed"] = problems
    return view


def newest_first(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Views by createdAt, newest first; those without one last."""
    return sorted(jobs, key=lambda j: (j["createdAt"] is not None, j["createdAt"] or ""), reverse=True)
