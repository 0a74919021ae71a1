"""Pipeline B's file-tracking table (seed 003's design).

    PK date_prefix   SK file_key                      status
    2026-02-01       data-001.ndjson                  pending#3 -> manifested#3 -> completed#3 | failed#3
    2026-02-01       bad.ndjson                       quarantined
    2026-02-01       data-001.ndjson#reupload-<etag>  quarantined (new content under an ingested key)
    2026-02-01       /landing/other/x.json            quarantined (a key outside the convention, its event's day)
    2026-02-01       MANIFEST#batch-0001-20260201-..  pending -> processing -> completed | failed
    2026-02-01       COUNTER#manifest                 sequence of that date's manifest ids, its last minting
    CONTROL          CIRCUIT_BREAKER                  consecutive_failures, opened_at, failures_total, times_opened

Consistency, as DynamoDB gives it (not as moto does, which reads everything consistently):
- every transition is a conditional write on the state it expects, so duplicate events,
  redeliveries, retried runs and concurrent claimers change nothing twice; a write never
  puts back a stale copy of an item. One exception, on purpose: a run may take over a
  `processing` MANIFEST (a retry after a run that died mid-conversion); the run it took
  the manifest from can then neither complete nor fail it (both check `run_id`);
- the GSI status-index (status, date_prefix) finds a shard's files, but GSI reads are
  eventually consistent: they only nominate candidates, which a conditional write then
  confirms (a claim returns the item it claimed, and the manifest is built from those);
- a decision that rests on a read (a manifest's files, a date's open manifests, a file's
  re-uploads) reads the base table with ConsistentRead.

A MANIFEST keeps its files' keys (`file_keys`, a string set), so reading a manifest's files
costs reads proportional to the manifest, never to its date (README: "What each file
costs"): record first, a run adds the keys it is about to try to claim to the set
(`plan_claim`, conditional on the run still holding the claim) before its first claim of
them, and once the claim is complete the set becomes exactly the claimed keys
(`finish_claim`). `files_of_manifest` reads the MANIFEST and then those keys, consistently,
keeping the items that carry the manifest's id: a run killed mid-claim leaves planned keys
that were never claimed, which that filter drops, and no claimed key outside the set.
Bound: DynamoDB caps an item at 400 KB; the set holds at most FILE_KEYS_BUDGET_BYTES
(core/ingestion/manifests.py: 120 KiB, so 200 files with keys up to 614 bytes; a claim
stops adding keys there, a manifest of longer keys holds fewer files), and the lists of
failed and excluded files are subsets of it, so the item stays under the cap.

Recovery (pipelines/ndjson_to_parquet/reaper.py): a MANIFEST in progress names the run
holding it (`run_id`, written before the first claim: a pending MANIFEST with a run_id is
a claim in progress or cut short; whether that run is alive is read from Dagster,
etl_platform/run_heartbeat.py); `attempts` counts the runs requested for it and `rerun_of` the dead run the last re-run
replaced, both set by one conditional write so no two sensors start the same attempt.

Expiry (`ttl`, DynamoDB's TTL attribute): only finished records expire, `ttl_days` after
they finished: completed files and MANIFESTs, quarantined files, the manifest counter.
Pending and claimed files and processing MANIFESTs never expire; neither do failed files
and failed MANIFESTs, which wait for a replay (they get a ttl once a replay completes
them). Statuses carry the shard so writes spread over 10 index partitions.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any, Callable, Iterator

from etl_platform.core.ingestion.breaker import BreakerState, opens
from etl_platform.core.ingestion.landing import REUPLOAD_MARK, Placement
from etl_platform.core.ingestion.manifests import PendingFile, date_of_manifest, manifest_id
from etl_platform.core.timestamps import iso_utc
from etl_platform.faults import fault_point
from etl_platform.resources.dynamodb import DynamoTable

MANIFEST_PREFIX = "MANIFEST#"
_CLAIMABLE = "#s IN (:pending, :failed)"  # a MANIFEST whose claim may start or go on (see begin_claim)
COUNTER_KEY = "COUNTER#manifest"
CONTROL_PARTITION = "CONTROL"
BREAKER_KEY = "CIRCUIT_BREAKER"
BREAKER_ITEM = {"date_prefix": CONTROL_PARTITION, "file_key": BREAKER_KEY}
FILE_STATES = ("pending", "manifested", "completed", "failed")
SETTLE_THREADS = 16  # one conditional update per file; boto3 clients are thread-safe

log = logging.getLogger(__name__)
Warn = Callable[[str], Any]


def as_pending(item: dict[str, Any]) -> PendingFile:
    """A tracked file item as the manifest planner sees it."""
    return PendingFile(
        date_prefix=item["date_prefix"], file_key=item["file_key"], size=int(item["size"]),
        first_seen=float(item["first_seen_epoch"]), s3_uri=item["file_path"], shard=int(item["shard_id"]),
        etag=item.get("etag", ""), version_id=item.get("version_id", ""),
    )


def sound_pending(items: list[dict[str, Any]], warn: Warn | None = None) -> list[PendingFile]:
    """The items as pending files, less any the planner cannot read (an item edited by hand,
    or written by an older version: no `size`, a non-numeric shard, ...): each of those is
    skipped with a warning naming its key, so one bad item cannot stop a sensor tick."""
    files = []
    for item in items:
        reason = _unreadable(item)
        if reason:
            (warn or log.warning)(f"skipped tracking item {item.get('date_prefix')}/{item.get('file_key')}: "
                                  f"malformed ({reason}); fix or delete it")
        else:
            files.append(as_pending(item))
    return files


def _unreadable(item: dict[str, Any]) -> str | None:
    """Why as_pending cannot read an item, or None."""
    for name in ("date_prefix", "file_key", "file_path", "size", "first_seen_epoch", "shard_id"):
        if item.get(name) is None:
            return f"{name} missing"
    for name, kind in (("size", int), ("first_seen_epoch", float), ("shard_id", int)):
        try:
            kind(item[name])
        except (TypeError, ValueError):
            return f"{name} is not a number: {item[name]!r:.60}"
    return None


def file_order(item: dict[str, Any]) -> tuple:
    """A manifest lists its files oldest first (the order of their output rows)."""
    return (float(item["first_seen_epoch"]), item["file_key"])


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
                      version_id: str = "", now: float | None = None, replacing: dict[str, Any] | None = None) -> bool:
        """Record a valid landed file as pending#shard; False if it was already tracked
        (or, with `replacing`, if that record changed meanwhile)."""
        now = time.time() if now is None else now
        return self._record({
            "date_prefix": place.date_prefix, "file_key": place.file_key, "status": f"pending#{shard}",
            "shard_id": shard, "size": size, "etag": etag, "file_path": s3_uri,
            "first_seen": iso_utc(now, digits=6), "first_seen_epoch": now,
            **({"version_id": version_id} if version_id else {}),
        }, replacing)

    def track_quarantined(self, place: Placement, *, reason: str, size: int, etag: str, source_uri: str,
                          quarantine_uri: str, version_id: str = "", now: float | None = None,
                          replacing: dict[str, Any] | None = None) -> bool:
        now = time.time() if now is None else now
        return self._record({
            "date_prefix": place.date_prefix, "file_key": place.file_key, "status": "quarantined",
            "reason": reason, "size": size, "etag": etag, "file_path": source_uri,
            "quarantine_path": quarantine_uri, "first_seen": iso_utc(now, digits=6), "ttl": self._ttl(now),
            **({"version_id": version_id} if version_id else {}),
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
                           values={":d": date_prefix, ":k": file_key + REUPLOAD_MARK}, consistent=True)
        return sorted(items, key=lambda i: i["first_seen"])

    def files_in_state(self, state: str, date_prefix: str | None = None) -> list[dict[str, Any]]:
        """Items whose status is `state#0..9` (or exactly `state` when it has no shards), from
        the GSI: eventually consistent, so candidates and counts, never a decision."""
        statuses = [f"{state}#{n}" for n in range(self.shards)] if state in FILE_STATES else [state]
        return self._with_status(statuses, date_prefix)

    def _with_status(self, statuses: list[str], date_prefix: str | None = None) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for status in statuses:
            condition = "#s = :s" + (" AND date_prefix = :d" if date_prefix else "")
            values = {":s": status, **({":d": date_prefix} if date_prefix else {})}
            items += self.query(key_condition=condition, names={"#s": "status"}, values=values, index_name=self.status_index)
        return items

    def pending_dates(self) -> list[str]:
        """Dates with pending files, as the status GSI lists them (candidates): per shard, one
        query of one item per date (a skip scan along the index's date sort key), so the
        cost grows with the dates that have pending files, not with their files."""
        dates: set[str] = set()
        for shard in range(self.shards):
            after = None
            while True:
                condition = "#s = :s" + (" AND date_prefix > :d" if after else "")
                values = {":s": f"pending#{shard}", **({":d": after} if after else {})}
                items, _ = self.query_page(key_condition=condition, names={"#s": "status"}, values=values, limit=1,
                                           index_name=self.status_index)
                if not items:
                    break
                after = items[0]["date_prefix"]
                dates.add(after)
        return sorted(dates)

    def pending_windows(self, date_prefix: str, size: int, warn: Warn | None = None) -> Iterator[list[PendingFile]]:
        """The date's pending files as the status GSI lists them (candidates), about `size`
        at a time: each window is one page of ceil(size / shards) items from every shard
        that has more, read only when the caller asks for it. Within a shard the index
        returns files in its own order, not by age: callers sort a window, not the date.
        Malformed items are left out, each with a `warn`ing."""
        page = max(1, -(-size // self.shards))
        starts: dict[int, Any] = dict.fromkeys(range(self.shards))
        while starts:
            window: list[dict[str, Any]] = []
            for shard, start in list(starts.items()):
                items, following = self.query_page(
                    key_condition="#s = :s AND date_prefix = :d", names={"#s": "status"},
                    values={":s": f"pending#{shard}", ":d": date_prefix}, limit=page, start=start,
                    index_name=self.status_index)
                window += items
                if following is None:
                    del starts[shard]
                else:
                    starts[shard] = following
            yield sound_pending(window, warn)

    def pending_nominees(self, date_prefix: str, limit: int, warn: Warn | None = None) -> list[PendingFile]:
        """At least `limit` of the date's pending files (GSI candidates), or all if it has
        fewer: whole windows of about `limit`, so at most about twice `limit` items read."""
        nominated: list[PendingFile] = []
        for window in self.pending_windows(date_prefix, limit, warn):
            nominated += window
            if len(nominated) >= limit:
                break
        return nominated

    def pending_files(self, date_prefix: str | None = None, warn: Warn | None = None) -> list[PendingFile]:
        """Pending files as the GSI lists them: candidates, some perhaps claimed already.
        Malformed items are left out, each with a `warn`ing (default: this module's log)."""
        return sound_pending(self.files_in_state("pending", date_prefix), warn)

    def confirm_pending(self, files: list[PendingFile], warn: Warn | None = None) -> list[PendingFile]:
        """Those of `files` a consistent read of the base table still shows pending, as
        stored now: what a decision such as minting a manifest may rest on."""
        keys = [{"date_prefix": f.date_prefix, "file_key": f.file_key} for f in files]
        return sound_pending([i for i in self.batch_get(keys) if str(i.get("status", "")).startswith("pending#")], warn)

    def claim(self, pending: PendingFile, manifest: str, now: float | None = None) -> dict[str, Any] | None:
        """pending#N -> manifested#N for `manifest`, only if still pending (atomic); the claimed
        item as stored (its current etag and version, whatever the GSI nominated), or None."""
        now = time.time() if now is None else now
        return self.update(
            {"date_prefix": pending.date_prefix, "file_key": pending.file_key},
            {"status": f"manifested#{pending.shard}", "manifest_id": manifest, "claimed_at": iso_utc(now, digits=6)},
            condition="#s = :pending", names={"#s": "status"}, values={":pending": f"pending#{pending.shard}"},
        )

    def files_of_manifest(self, manifest: str) -> list[dict[str, Any]]:
        """Every file a manifest claimed, whatever its state now: consistent reads of the
        MANIFEST's file list (the keys planned while its claim is in progress, exactly the
        claimed ones once it is claimed) and of those files, keeping the ones that carry
        this manifest's id. 1 + (listed files) items read, however large the date.
        A MANIFEST written before file lists were kept (no `files_listed`), or none at all,
        is read as it was then: the whole date, filtered on the manifest id."""
        record = self.manifest(manifest)
        if record is None or not record.get("files_listed"):
            return self._files_of_manifest_by_date(manifest)
        date_prefix = date_of_manifest(manifest)
        items = self.batch_get([{"date_prefix": date_prefix, "file_key": k} for k in record.get("file_keys") or ()])
        return sorted((i for i in items if i.get("manifest_id") == manifest and _is_file_item(i)), key=file_order)

    def _files_of_manifest_by_date(self, manifest: str) -> list[dict[str, Any]]:
        items = self.query(
            key_condition="date_prefix = :d", values={":d": date_of_manifest(manifest), ":m": manifest},
            FilterExpression="manifest_id = :m", consistent=True,
        )
        return sorted((i for i in items if _is_file_item(i)), key=file_order)

    def settle_files(self, files: list[dict[str, Any]], state: str, manifest: str, *, error: str | None = None,
                     errors: dict[str, str] | None = None, now: float | None = None, **fields: Any) -> int:
        """Move a manifest's claimed files to `completed#N` or `failed#N`, each with a
        conditional update from the states a claimed file can be in (manifested, or failed
        and being replayed); how many moved. Completion sets the ttl and drops an earlier
        error; failure records the error (`error`, or per file key in `errors`) and keeps
        the file from expiring."""
        if state not in ("completed", "failed"):
            raise ValueError(f"a claimed file settles as completed or failed, not {state!r}")
        now = time.time() if now is None else now
        changes = {**fields, "updated_at": iso_utc(now, digits=6)}
        if state == "completed":
            changes["ttl"] = self._ttl(now)
            remove: tuple[str, ...] = ("error",)
        else:
            changes["error"] = error or "failed"
            remove = ("ttl",)

        def settle(item: dict[str, Any]) -> bool:
            fault_point("ndjson.settle")  # fault injection: a crash part-way through the files
            shard = int(item["shard_id"])
            own = {"error": errors[item["file_key"]]} if errors and item["file_key"] in errors else {}
            return self.update(
                {"date_prefix": item["date_prefix"], "file_key": item["file_key"]},
                {**changes, **own, "status": f"{state}#{shard}"}, remove=remove,
                condition="manifest_id = :m AND #s IN (:manifested, :failed, :same)",
                names={"#s": "status"},
                values={":m": manifest, ":manifested": f"manifested#{shard}", ":failed": f"failed#{shard}",
                        ":same": f"{state}#{shard}"},
            ) is not None

        with ThreadPoolExecutor(SETTLE_THREADS) as pool:
            return sum(pool.map(settle, files))

    # --- manifests --------------------------------------------------------------------
    def reserve_manifest_ids(self, date_prefix: str, count: int, now: float | None = None) -> list[str]:
        """`count` new manifest ids for the date, in one write, before any is created (record
        first): the date's sequence moves on by `count`, and the counter remembers this
        minting (`minted_count`, `minted_epoch`) so that the next tick reads what it minted
        consistently, before the status GSI may list it (who minted is on each manifest item). Ids carry the minting time too, so
        a counter that expired (`ttl_days` after its last use) and starts again never
        repeats one."""
        now = time.time() if now is None else now
        item = self.update({"date_prefix": date_prefix, "file_key": COUNTER_KEY},
                           {"ttl": self._ttl(now), "minted_count": count, "minted_epoch": now},
                           add={"sequence": count})
        return minted_ids(date_prefix, item)

    def manifest_counter(self, date_prefix: str) -> dict[str, Any] | None:
        """The date's manifest counter (a consistent read): what its last minting reserved."""
        return self.get({"date_prefix": date_prefix, "file_key": COUNTER_KEY})

    def create_manifest(self, manifest: str, *, reason: str, now: float | None = None, minted_by: str = "sensor") -> bool:
        now = time.time() if now is None else now
        return self.put_if_absent({
            "date_prefix": date_of_manifest(manifest), "file_key": MANIFEST_PREFIX + manifest,
            "manifest_id": manifest, "status": "pending", "reason": reason, "claimed": False, "files_listed": True,
            "created_at": iso_utc(now, digits=6), "created_epoch": now, "minted_by": minted_by,
        }, "file_key")

    def manifest(self, manifest: str) -> dict[str, Any] | None:
        return self.get(self._manifest_key(manifest))

    def manifests_of_date(self, date_prefix: str) -> list[dict[str, Any]]:
        return list(self.query(
            key_condition="date_prefix = :d AND begins_with(file_key, :m)",
            values={":d": date_prefix, ":m": MANIFEST_PREFIX}, consistent=True,
        ))

    def update_manifest(self, manifest: str, **fields: Any) -> dict[str, Any]:
        """Set fields that are not the status (claim, counts, exclusions) on a MANIFEST record."""
        if "status" in fields:
            raise ValueError("a MANIFEST's status changes only through start/complete/fail_manifest")
        updated = self.update(self._manifest_key(manifest), {**fields, "updated_at": iso_utc(digits=6)},
                              condition="attribute_exists(file_key)")
        if updated is None:
            raise KeyError(f"no MANIFEST record for {manifest}")
        return updated

    def start_manifest(self, manifest: str, run_id: str, **fields: Any) -> dict[str, Any]:
        """-> processing by `run_id`, from any state: a first run, a replay of a failed or
        completed manifest, or a retry after a run that died while processing (nothing here
        tells a dead run from a live one; both write the same output paths, and only the
        newest may settle). It stops expiring until it finishes again."""
        updated = self.update(self._manifest_key(manifest),
                              {**fields, "status": "processing", "run_id": run_id, "updated_at": iso_utc(digits=6)},
                              condition="attribute_exists(file_key)", remove=("ttl", "error"))
        if updated is None:
            raise KeyError(f"no MANIFEST record for {manifest}")
        return updated

    def complete_manifest(self, manifest: str, run_id: str, now: float | None = None,
                          **fields: Any) -> dict[str, Any] | None:
        """processing -> completed, only by the run that is processing it (a run that lost the
        manifest to a newer one changes nothing: None)."""
        now = time.time() if now is None else now
        return self.update(self._manifest_key(manifest),
                           {**fields, "status": "completed", "ttl": self._ttl(now), "updated_at": iso_utc(now, digits=6)},
                           condition="#s = :processing AND run_id = :run", names={"#s": "status"},
                           values={":processing": "processing", ":run": run_id})

    def fail_manifest(self, manifest: str, run_id: str, error: str, *, judged_dead: bool = False) -> dict[str, Any] | None:
        """-> failed, from processing by this run, or from pending (a run that failed before it
        started converting, possibly a re-run reusing a claim an earlier run recorded); None
        when another run holds it or it finished meanwhile. `judged_dead`: the caller is not
        `run_id` but judged it dead from the record it read (the reaper's give-up, `ops
        reset-stuck`); then a pending MANIFEST fails only while that run still holds its claim
        (or no run ever did), so a re-run whose `begin_claim` landed meanwhile keeps it."""
        pending = "(#s = :pending AND (attribute_not_exists(run_id) OR run_id = :run))" if judged_dead else "#s = :pending"
        return self.update(self._manifest_key(manifest),
                           {"status": "failed", "error": error, "run_id": run_id, "updated_at": iso_utc(digits=6)},
                           condition=f"(#s = :processing AND run_id = :run) OR {pending}",
                           names={"#s": "status"},
                           values={":processing": "processing", ":run": run_id, ":pending": "pending"},
                           remove=("ttl",))

    def begin_claim(self, manifest: str, run_id: str, now: float | None = None) -> dict[str, Any] | None:
        """Record that `run_id` is claiming files for an unclaimed manifest, before its first
        claim (record first): a pending MANIFEST with a `run_id` is a claim in progress, or
        one cut short that a re-run resumes. A later run takes it over (the one before died,
        or a reaper would not have started this one); so does the replay of a manifest that
        failed before its claim was complete: that MANIFEST is pending again in the same write,
        so while the replay claims, the reapers see a claim in progress (judged by its run's
        liveness), not a settled manifest whose claimed files they would fail. None when the
        manifest is claimed already, or neither pending nor failed."""
        now = time.time() if now is None else now
        return self.update(self._manifest_key(manifest),
                           {"status": "pending", "run_id": run_id, "claim_started_at": iso_utc(now, digits=6),
                            "updated_at": iso_utc(now, digits=6)},
                           condition=f"{_CLAIMABLE} AND claimed = :no", names={"#s": "status"},
                           values={":pending": "pending", ":failed": "failed", ":no": False})

    def plan_claim(self, manifest: str, run_id: str, file_keys: list[str]) -> bool:
        """Record first: add the keys `run_id` is about to try to claim to the MANIFEST's file
        list, before it claims any of them, so a run killed mid-claim leaves every file it
        may have claimed findable. False (claim none of them) when the run no longer holds
        the claim: another run took it over, or it is complete."""
        if not file_keys:
            return True
        return self.update(self._manifest_key(manifest), {"updated_at": iso_utc(digits=6)},
                           add={"file_keys": set(file_keys)},
                           condition=f"{_CLAIMABLE} AND claimed = :no AND run_id = :run", names={"#s": "status"},
                           values={":pending": "pending", ":failed": "failed", ":no": False, ":run": run_id}) is not None

    def finish_claim(self, manifest: str, run_id: str, file_keys: list[str] | None, **fields: Any) -> dict[str, Any] | None:
        """The claim is complete: the MANIFEST is `claimed` and its file list exactly
        `file_keys` (None: a re-run that reused a complete claim keeps the list). A first
        claim is recorded only by the run holding it (None when another took it over)."""
        changes = {**fields, "claimed": True, "updated_at": iso_utc(digits=6)}
        if file_keys is None:
            return self.update_manifest(manifest, **changes)
        if file_keys:
            changes["file_keys"] = set(file_keys)
        return self.update(self._manifest_key(manifest), changes, remove=() if file_keys else ("file_keys",),
                           condition="run_id = :run AND claimed = :no", values={":run": run_id, ":no": False})

    def unclaimed_of(self, date_prefix: str, manifests: list[str]) -> list[dict[str, Any]]:
        """Those of the date's `manifests` still pending and not claimed (a consistent read of
        each): the ones its counter names (`minted_ids`), which the GSI may not list yet."""
        items = self.batch_get([{"date_prefix": date_prefix, "file_key": MANIFEST_PREFIX + m} for m in sorted(manifests)])
        return [i for i in items if i.get("status") == "pending" and not i.get("claimed")]

    def nominated_unclaimed(self, date_prefix: str, skip: list[str] = (), page: int = 5) -> Iterator[dict[str, Any]]:
        """The date's other MANIFESTs still pending and not claimed (not in `skip`): the
        status GSI nominates them a `page` at a time (MANIFEST statuses are unsharded:
        `pending` holds no file), a consistent read confirms each. A caller that stops at
        the first it needs reads a page, not every MANIFEST of the date."""
        skipped = {MANIFEST_PREFIX + m for m in skip}
        start = None
        while True:
            items, start = self.query_page(key_condition="#s = :s AND date_prefix = :d", names={"#s": "status"},
                                           values={":s": "pending", ":d": date_prefix}, limit=page, start=start,
                                           index_name=self.status_index)
            yield from self.unclaimed_of(date_prefix, [i["file_key"][len(MANIFEST_PREFIX):] for i in items
                                                       if i["file_key"].startswith(MANIFEST_PREFIX)
                                                       and i["file_key"] not in skipped])
            if start is None:
                return

    def open_manifests(self) -> list[dict[str, Any]]:
        """MANIFEST records `pending` or `processing`, nominated by the status GSI (MANIFEST
        statuses are unsharded) and confirmed by a consistent read of each."""
        nominated = [i for i in self._with_status(["pending", "processing"]) if i["file_key"].startswith(MANIFEST_PREFIX)]
        current = self.batch_get([{"date_prefix": i["date_prefix"], "file_key": i["file_key"]} for i in nominated])
        return sorted((i for i in current if i.get("status") in ("pending", "processing")), key=lambda i: i["file_key"])

    def request_rerun(self, manifest: str, *, seen_attempts: int, dead_run: str, now: float,
                      stale_after: float) -> dict[str, Any] | None:
        """Count one more run of a manifest whose run died (`attempts`, the first run counts
        1), for the dead run `dead_run`: conditional on the count read (`seen_attempts`) and
        on no re-run requested for that dead run in the last `stale_after` seconds, so the
        reaper and the run-failure sensor cannot both start the next attempt. None if either
        changed, or the manifest is no longer open."""
        seen = "attempts = :seen" if seen_attempts > 1 else "(attribute_not_exists(attempts) OR attempts = :seen)"
        return self.update(
            self._manifest_key(manifest),
            {"attempts": seen_attempts + 1, "rerun_of": dead_run, "rerun_epoch": now, "updated_at": iso_utc(now, digits=6)},
            condition=f"#s IN (:pending, :processing) AND {seen} "
                      "AND (attribute_not_exists(rerun_of) OR rerun_of <> :dead OR rerun_epoch < :stale)",
            names={"#s": "status"},
            values={":pending": "pending", ":processing": "processing", ":seen": seen_attempts, ":dead": dead_run,
                    ":stale": now - stale_after})

    @staticmethod
    def _manifest_key(manifest: str) -> dict[str, str]:
        return {"date_prefix": date_of_manifest(manifest), "file_key": MANIFEST_PREFIX + manifest}

    # --- circuit breaker (rules and scope: etl_platform/core/ingestion/breaker.py) ----
    def breaker(self) -> BreakerState:
        return _breaker_state(self.get(BREAKER_ITEM) or {})

    def record_breaker_failure(self, *, threshold: int, cooldown_seconds: float,
                               now: float | None = None) -> tuple[BreakerState, bool]:
        """Count one failed manifest (one atomic ADD: concurrent failures all count), then
        open the breaker if this failure reached the threshold and it is not open already
        (a conditional SET: of concurrent failures past the threshold, one opens it). The
        state as this failure's count left it (other failures may have added since), and
        whether this failure opened it."""
        now = time.time() if now is None else now
        counted = _breaker_state(self.update(BREAKER_ITEM, {"updated_at": iso_utc(now, digits=6)},
                                             add={"consecutive_failures": 1, "failures_total": 1}))
        if not opens(counted, now, threshold, cooldown_seconds):
            return counted, False
        # the same rule as `opens`, checked by DynamoDB on the item as it is at this write
        opened = self.update(
            BREAKER_ITEM, {"opened_at": now}, add={"times_opened": 1},
            condition="consecutive_failures >= :k AND (NOT attribute_type(opened_at, :number) OR opened_at <= :expired)",
            values={":k": threshold, ":number": "N", ":expired": now - cooldown_seconds},
        )
        if opened is None:  # another failure opened it first, or a success or reset came between
            return counted, False
        return replace(counted, opened_at=now, times_opened=int(opened["times_opened"])), True

    def record_breaker_success(self, failures_total_at_start: int, now: float | None = None) -> bool:
        """End the streak and close the breaker, unless a failure was counted since the
        successful run started (`failures_total` moved on): True if it reset anything."""
        now = time.time() if now is None else now
        unchanged = "failures_total = :seen"
        if failures_total_at_start == 0:  # an item written before failures_total existed
            unchanged = f"(attribute_not_exists(failures_total) OR {unchanged})"
        return self.update(BREAKER_ITEM, {"consecutive_failures": 0, "updated_at": iso_utc(now, digits=6)},
                           remove=("opened_at",), condition=f"consecutive_failures > :zero AND {unchanged}",
                           values={":zero": 0, ":seen": failures_total_at_start}) is not None

    def reset_breaker(self, now: float | None = None) -> BreakerState:
        """The operator's reset: unconditional, and idempotent (count 0, closed); the state
        it replaced, read in the same write."""
        now = time.time() if now is None else now
        previous = self.update(BREAKER_ITEM, {"consecutive_failures": 0, "reset_at": iso_utc(now, digits=6),
                                               "updated_at": iso_utc(now, digits=6)},
                               remove=("opened_at",), returns="ALL_OLD")
        return _breaker_state(previous or {})


def minted_ids(date_prefix: str, counter: dict[str, Any] | None) -> list[str]:
    """The ids a counter's last minting reserved: the sequences up to its current one."""
    if not counter or "minted_count" not in counter:
        return []
    last, count = int(counter["sequence"]), int(counter.get("minted_count", 0))
    minted_at = datetime.fromtimestamp(float(counter["minted_epoch"]), timezone.utc)
    return [manifest_id(sequence, date_prefix, minted_at) for sequence in range(last - count + 1, last + 1)]


def _breaker_state(item: dict[str, Any]) -> BreakerState:
    return BreakerState(
        consecutive_failures=int(item.get("consecutive_failures", 0)),
        opened_at=item.get("opened_at"),  # absent when closed (None in items written before)
        failures_total=int(item.get("failures_total", 0)),
        times_opened=int(item.get("times_opened", 0)),
    )
