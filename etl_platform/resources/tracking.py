"""Pipeline B's file-tracking table (seed 003's design).

    PK date_prefix   SK file_key                      status
    2026-02-01       data-001.ndjson                  pending#3 -> manifested#3 -> completed#3 | failed#3
    2026-02-01       bad.ndjson                       quarantined
    2026-02-01       data-001.ndjson#reupload-<etag>  quarantined (new content under an ingested key)
    2026-02-01       MANIFEST#batch-0001-20260201-..  pending -> processing -> completed | failed
    2026-02-01       COUNTER#manifest                 sequence of that date's manifest ids
    CONTROL          CIRCUIT_BREAKER                  consecutive_failures, opened_at

Every transition is a conditional write, so duplicate events, redeliveries, retried runs
and concurrent claimers change nothing twice. The GSI status-index (status, date_prefix)
finds a shard's files; statuses carry the shard so writes spread over 10 index partitions.
"""

from __future__ import annotations

import time
from typing import Any

from etl_platform.core.ingestion.breaker import BreakerState
from etl_platform.core.ingestion.landing import Placement
from etl_platform.core.ingestion.manifests import PendingFile, date_of_manifest
from etl_platform.core.timestamps import iso_utc
from etl_platform.resources.dynamodb import DynamoTable

MANIFEST_PREFIX = "MANIFEST#"
COUNTER_KEY = "COUNTER#manifest"
CONTROL_PARTITION = "CONTROL"
BREAKER_KEY = "CIRCUIT_BREAKER"
FILE_STATES = ("pending", "manifested", "completed", "failed")
REUPLOAD_MARK = "#reupload-"  # `<file>#reupload-<etag>`: new content under an already-claimed key


def as_pending(item: dict[str, Any]) -> PendingFile:
    """A tracked file item as the manifest planner sees it."""
    return PendingFile(
        date_prefix=item["date_prefix"], file_key=item["file_key"], size=int(item["size"]),
        first_seen=float(item["first_seen_epoch"]), s3_uri=item["file_path"], shard=int(item["shard_id"]),
        etag=item.get("etag", ""),
    )


def _is_file_item(item: dict[str, Any]) -> bool:
    return item.get("file_key", "").partition("#")[0] not in ("MANIFEST", "COUNTER") and "shard_id" in item


class FileTrackingTable(DynamoTable):
    status_index: str = "status-index"
    shards: int = 10
    ttl_days: int = 30

    def _ttl(self, now: float) -> int:
        return int(now + self.ttl_days * 86400)

    # --- files ------------------------------------------------------------------------
    def track_pending(self, place: Placement, *, shard: int, size: int, etag: str, s3_uri: str,
                      now: float | None = None, replacing: dict[str, Any] | None = None) -> bool:
        """Record a valid landed file as pending#shard; False if it was already tracked
        (or, with `replacing`, if that record changed meanwhile)."""
        now = time.time() if now is None else now
        return self._record({
            "date_prefix": place.date_prefix, "file_key": place.file_key, "status": f"pending#{shard}",
            "shard_id": shard, "size": size, "etag": etag, "file_path": s3_uri,
            "first_seen": iso_utc(now, digits=6), "first_seen_epoch": now, "ttl": self._ttl(now),
        }, replacing)

    def track_quarantined(self, place: Placement, *, reason: str, size: int, etag: str, source_uri: str,
                          quarantine_uri: str, now: float | None = None,
                          replacing: dict[str, Any] | None = None) -> bool:
        now = time.time() if now is None else now
        return self._record({
            "date_prefix": place.date_prefix, "file_key": place.file_key, "status": "quarantined",
            "reason": reason, "size": size, "etag": etag, "file_path": source_uri,
            "quarantine_path": quarantine_uri, "first_seen": iso_utc(now, digits=6), "ttl": self._ttl(now),
        }, replacing)

    def _record(self, item: dict[str, Any], replacing: dict[str, Any] | None) -> bool:
        if replacing is None:
            return self.put_if_absent(item, "file_key")
        # a re-upload of a file not ingested yet: replace its record only if it is still
        # what the validator saw, so a manifest claiming it meanwhile wins
        item = {**item, "superseded_etag": replacing["etag"], "superseded_status": replacing["status"]}
        return self.put_if(item, "#s = :s AND etag = :e", names={"#s": "status"},
                           values={":s": replacing["status"], ":e": replacing["etag"]})

    def file(self, date_prefix: str, file_key: str) -> dict[str, Any] | None:
        return self.get({"date_prefix": date_prefix, "file_key": file_key})

    def reuploads(self, date_prefix: str, file_key: str) -> list[dict[str, Any]]:
        """The quarantined re-uploads of a claimed file, oldest first."""
        items = self.query(key_condition="date_prefix = :d AND begins_with(file_key, :k)",
                           values={":d": date_prefix, ":k": file_key + REUPLOAD_MARK})
        return sorted(items, key=lambda i: i["first_seen"])

    def files_in_state(self, state: str, date_prefix: str | None = None) -> list[dict[str, Any]]:
        """Items whose status is `state#0..9` (or exactly `state` when it has no shards)."""
        statuses = [f"{state}#{n}" for n in range(self.shards)] if state in FILE_STATES else [state]
        items: list[dict[str, Any]] = []
        for status in statuses:
            condition = "#s = :s" + (" AND date_prefix = :d" if date_prefix else "")
            values = {":s": status, **({":d": date_prefix} if date_prefix else {})}
            items += self.query(key_condition=condition, names={"#s": "status"}, values=values, index_name=self.status_index)
        return items

    def pending_files(self, date_prefix: str | None = None) -> list[PendingFile]:
        return [as_pending(i) for i in self.files_in_state("pending", date_prefix)]

    def claim(self, pending: PendingFile, manifest: str, now: float | None = None) -> bool:
        """pending#N -> manifested#N for `manifest`, only if still pending (atomic)."""
        now = time.time() if now is None else now
        return self.update(
            {"date_prefix": pending.date_prefix, "file_key": pending.file_key},
            {"status": f"manifested#{pending.shard}", "manifest_id": manifest, "claimed_at": iso_utc(now, digits=6)},
            condition="#s = :pending", names={"#s": "status"}, values={":pending": f"pending#{pending.shard}"},
        ) is not None

    def files_of_manifest(self, manifest: str) -> list[dict[str, Any]]:
        """Every file a manifest claimed, whatever its state now."""
        items = self.query(
            key_condition="date_prefix = :d", values={":d": date_of_manifest(manifest), ":m": manifest},
            FilterExpression="manifest_id = :m",
        )
        return sorted((i for i in items if _is_file_item(i)), key=lambda i: (i["first_seen_epoch"], i["file_key"]))

    def mark_files(self, files: list[dict[str, Any]], state: str, **fields: Any) -> int:
        """Set `state#N` (and `fields`) on claimed files, 25 items per BatchWriteItem."""
        updated = [{**f, **fields, "status": f"{state}#{int(f['shard_id'])}", "updated_at": iso_utc(digits=6)} for f in files]
        return self.batch_put(updated)

    # --- manifests --------------------------------------------------------------------
    def next_manifest_sequence(self, date_prefix: str) -> int:
        item = self.update({"date_prefix": date_prefix, "file_key": COUNTER_KEY}, {}, add={"sequence": 1})
        return int(item["sequence"])

    def create_manifest(self, manifest: str, *, reason: str, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        return self.put_if_absent({
            "date_prefix": date_of_manifest(manifest), "file_key": MANIFEST_PREFIX + manifest,
            "manifest_id": manifest, "status": "pending", "reason": reason, "claimed": False,
            "created_at": iso_utc(now, digits=6), "created_epoch": now, "ttl": self._ttl(now),
        }, "file_key")

    def manifest(self, manifest: str) -> dict[str, Any] | None:
        return self.get({"date_prefix": date_of_manifest(manifest), "file_key": MANIFEST_PREFIX + manifest})

    def manifests_of_date(self, date_prefix: str) -> list[dict[str, Any]]:
        return list(self.query(
            key_condition="date_prefix = :d AND begins_with(file_key, :m)",
            values={":d": date_prefix, ":m": MANIFEST_PREFIX},
        ))

    def update_manifest(self, manifest: str, **fields: Any) -> dict[str, Any]:
        key = {"date_prefix": date_of_manifest(manifest), "file_key": MANIFEST_PREFIX + manifest}
        updated = self.update(key, {**fields, "updated_at": iso_utc(digits=6)},
                              condition="attribute_exists(file_key)")
        if updated is None:
            raise KeyError(f"no MANIFEST record for {manifest}")
        return updated

    # --- circuit breaker --------------------------------------------------------------
    def breaker(self) -> BreakerState:
        item = self.get({"date_prefix": CONTROL_PARTITION, "file_key": BREAKER_KEY}) or {}
        return BreakerState(int(item.get("consecutive_failures", 0)), item.get("opened_at"))

    def save_breaker(self, state: BreakerState) -> None:
        self.put({
            "date_prefix": CONTROL_PARTITION, "file_key": BREAKER_KEY,
            "consecutive_failures": state.consecutive_failures, "opened_at": state.opened_at,
            "updated_at": iso_utc(digits=6),
        })
