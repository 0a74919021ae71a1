"""DynamoDB TTL and S3 lifecycle expiration, enforced on the emulator's clock (opt-in: `--expiry`).

moto stores a table's TimeToLiveSpecification and a bucket's lifecycle rules and never acts
on them, so records the platform still needs can look safe locally and vanish on AWS a
month later. In this mode a sweeper deletes what AWS would have deleted by the time
`etl_platform.local.clock.now()` shows; a test advances that clock (31 days, say) and sees
what would still exist.

DynamoDB, as documented for TTL: on a table whose TTL is ENABLED, an item expires when its
TTL attribute is a Number holding epoch seconds before now, and not more than five years
before now. An item whose TTL attribute is missing or not a Number never expires. The
deletion is an ordinary delete (stream record included), visible to every read at once.

S3, as lifecycle rules act (enabled rules; prefix and tag filters, alone or in an And: a
version matches when its key has the prefix and it carries every tag of the filter):
- `Expiration.Days`: the time is the object's creation plus the days, rounded up to the next
  midnight UTC, as S3 computes it. Without versioning the object is deleted; on a versioned
  bucket the current version gets a delete marker and becomes noncurrent.
- `NoncurrentVersionExpiration.NoncurrentDays` (versioned buckets): a noncurrent version is
  deleted that many days (rounded the same way) after the version that replaced it was
  written. `Expiration.Date`, transitions and `ExpiredObjectDeleteMarker` are not applied.
Deletions go through moto's delete_object, so moto sends the same S3 events as for a
user's delete (AWS sends `s3:LifecycleExpiration:*` instead).

A background sweep runs every `sweep_interval` seconds while the mode is on, and at once
after each `POST /_etl/clock {"advance_seconds": ...}`. Control: `POST /_etl/expiry
{"enabled": true|false}`, `{"sweep": true}` to sweep now; the answer counts deletions.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import threading
from typing import Any

from moto.dynamodb.models import dynamodb_backends
from moto.s3.models import FakeDeleteMarker, s3_backends

from etl_platform.local import clock, journal
from etl_platform.local.control import route
from etl_platform.local.dynamo_items import LOCK

log = logging.getLogger(__name__)

FIVE_YEARS = 5 * 365 * 86400
DAY = 86400

_state: dict[str, Any] = {"enabled": False, "items_deleted": 0, "objects_expired": 0, "versions_deleted": 0}
_sweep_lock = threading.Lock()


def install_expiry(enabled: bool = False, sweep_interval: float = 1.0) -> None:
    _state["enabled"] = enabled
    route("expiry", _control)
    if _state.get("installed"):
        return
    _state["installed"] = True
    clock.on_advance(lambda: {"swept": sweep()})
    thread = threading.Thread(target=_sweeper, args=(sweep_interval,), name="etl-expiry", daemon=True)
    thread.start()


def sweep() -> dict[str, int]:
    """Delete everything expired by now on the emulator's clock; counts of this sweep
    (nothing is deleted while the mode is off)."""
    if not _state["enabled"]:
        return {"items_deleted": 0, "objects_expired": 0, "versions_deleted": 0}
    with _sweep_lock:
        now = clock.now()
        counts = {"items_deleted": expire_items(now), **expire_objects(now)}
        for name, count in counts.items():
            _state[name] += count
        return counts


def _control(body: dict[str, Any] | None) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if body is not None:
        if "enabled" in body:
            _state["enabled"] = bool(body["enabled"])
        if body.get("sweep"):
            result["swept"] = sweep()
    return {**{k: v for k, v in _state.items() if k != "installed"}, **result}


def _sweeper(interval: float) -> None:
    stop = threading.Event()
    while not stop.wait(interval):
        if _state["enabled"]:
            try:
                with journal.committed():  # what a sweep deletes stays deleted after a kill
                    sweep()
            except Exception:  # a failed sweep must not end the sweeper
                log.exception("expiry sweep failed")


# --- DynamoDB TTL ------------------------------------------------------------------------
def expire_items(now: float) -> int:
    deleted = 0
    with LOCK:
        for table in _tables():
            ttl = getattr(table, "ttl", None) or {}
            if ttl.get("TimeToLiveStatus") != "ENABLED" or not ttl.get("AttributeName"):
                continue
            for item in table.all_items():
                if expired(item.attrs.get(ttl["AttributeName"]), now):
                    table.delete_item(item.hash_key, item.range_key)
                    journal.note_item(table, item.hash_key, item.range_key)
                    deleted += 1
    return deleted


def expired(value: Any, now: float) -> bool:
    """DynamoDB's TTL rule for one attribute value (a moto DynamoType, or None)."""
    if value is None or getattr(value, "type", None) != "N":
        return False
    try:
        at = float(value.value)
    except (TypeError, ValueError):
        return False
    return now - FIVE_YEARS <= at < now


def _tables() -> list:
    tables = []
    for account in list(dynamodb_backends.values()):
        for backend in list(account.values()):
            tables += list(backend.tables.values())
    return tables


# --- S3 lifecycle ------------------------------------------------------------------------
def expire_objects(now: float) -> dict[str, int]:
    expired_current = deleted_versions = 0
    for backend, bucket in _buckets():
        rules = [(r, *_filter(r)) for r in (bucket.rules or []) if r.status == "Enabled"]
        if not rules:
            continue
        versioned = bucket.is_versioned  # "Suspended" deletes as an unversioned bucket does in moto

        def applying(version: Any, name: str) -> list:
            """The rules whose prefix and tags (all of them) this version matches."""
            tags = backend.tagger.get_tag_dict_for_resource(version.arn) if any(t for _, _, t in rules) else {}
            return [r for r, prefix, wanted in rules
                    if name.startswith(prefix) and all(tags.get(k) == v for k, v in wanted.items())]

        for name in list(bucket.keys.keys()):
            if not any(name.startswith(prefix) for _, prefix, _ in rules):
                continue
            versions = list(bucket.keys.getlist(name, []))
            current = versions[-1] if versions else None
            if current is not None and not isinstance(current, FakeDeleteMarker):
                days = [int(r.expiration_days) for r in applying(current, name) if r.expiration_days]
                if days and now >= _due(current.last_modified, min(days)):
                    backend.delete_object(bucket.name, name)
                    expired_current += 1
                    if versioned:
                        _stamp_latest_marker(bucket, name, now)
                    versions = list(bucket.keys.getlist(name, [])) if versioned else []
            if versioned and len(versions) > 1:
                for older, newer in zip(versions[:-1], versions[1:]):
                    if isinstance(older, FakeDeleteMarker):
                        continue
                    days = [int(r.nve_noncurrent_days) for r in applying(older, name) if r.nve_noncurrent_days]
                    if days and now >= _due(newer.last_modified, min(days)):
                        backend.delete_object(bucket.name, name, version_id=older.version_id)
                        deleted_versions += 1
    return {"objects_expired": expired_current, "versions_deleted": deleted_versions}


def _filter(rule: Any) -> tuple[str, dict[str, str]]:
    """The rule's key prefix and the tags a version must carry (all of them) to match."""
    lc_filter = rule.filter
    if lc_filter is None:
        return rule.prefix or "", {}
    if lc_filter.tag_key:
        return "", {lc_filter.tag_key: lc_filter.tag_value}
    if lc_filter.and_filter is not None:
        return lc_filter.and_filter.prefix or "", dict(lc_filter.and_filter.tags or {})
    return lc_filter.prefix or "", {}


def _due(written: dt.datetime, days: int) -> float:
    """Written + days, rounded up to the next midnight UTC (S3's rule)."""
    at = _epoch(written) + days * DAY
    return math.ceil(at / DAY) * DAY


def _epoch(value: dt.datetime) -> float:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.timestamp()


def _stamp_latest_marker(bucket: Any, name: str, now: float) -> None:
    """A lifecycle delete marker is written at the clock's time, not the real one."""
    versions = bucket.keys.getlist(name, [])
    if versions and isinstance(versions[-1], FakeDeleteMarker):
        versions[-1].last_modified = dt.datetime.fromtimestamp(now, dt.timezone.utc).replace(tzinfo=None)


def _buckets() -> list:
    found = []
    for account in list(s3_backends.values()):
        for backend in list(account.values()):
            for bucket in list(backend.buckets.values()):
                found.append((backend, bucket))
    return found
