"""When pipeline B mints manifests (the file-events sensor, every tick) and which files a
manifest's run claims (`ndjson_manifest`), reading per date only what that needs.

Minting, per date that has pending files (a skip scan of the status GSI finds them):
1. a date with a recent MANIFEST still pending and unclaimed waits for it (its run will
   claim those files): the date's counter names what its last minting made (a consistent
   read: the GSI may not list those yet), the GSI nominates older pending MANIFESTs, and a
   consistent read confirms them; no other MANIFEST of the date is read. When the counter
   says an operator's flush minted them (`flush`), the tick requests their runs;
2. otherwise up to WINDOW_FILES of its pending files are nominated by the GSI and, if they
   reach a threshold, confirmed with a consistent read (the GSI may still list files
   claimed a moment ago); one manifest is minted per full `manifest_max_files` of them,
   at least one once a threshold is reached.
A date with fewer pending files than the window is read whole, so the thresholds (count,
bytes, the oldest file's age for the orphan flush) are exact; a date with more has proven
the count threshold with the window alone. So a tick reads about WINDOW_FILES pending
items per date whatever the day's volume (whole pages: less than twice that when shards
are uneven), and every item it confirms is minted into a manifest, but for the remainder
below a threshold; a date below every threshold costs fewer than `manifest_max_files`.
What each date waits for (`TickPlan.backlogs`: files, bytes, the oldest's age, the next
manifest) is built from those same reads, none more (core/ingestion/backlog.py).

Why 1,000 files: at the seed's 200 files per manifest that is 5 manifests per date per
10 s tick, 100 files/s for one date, twice the ingestion target. Counters kept per date were
the alternative: one more write per file on one hot item per date, and no oldest age.

Claiming (`claim_files`): the run reads the date's pending files a window of about
`manifest_max_files` at a time, oldest first within the window, records the window's
keys in the MANIFEST's file list before it claims any (record first, see
resources/tracking.py), and claims until the manifest is full; a stale nomination (claimed
by another manifest meanwhile) takes no room, and the next window is read only if the
manifest is not full yet. The GSI does not order a date's files by age, so oldest first
holds within a window, not across the date: under a backlog deeper than a window a file
may wait for later windows, at most until its date's backlog drains.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from etl_platform.config import Settings
from etl_platform.core.ingestion.backlog import HELD, MINTED, WAITING, DateBacklog, size
from etl_platform.core.ingestion.manifests import (
    ManifestThresholds, claim_in_order, date_of_manifest, flush_reason, key_bytes, manifests_needed, within_key_budget,
)
from etl_platform.faults import fault_point
from etl_platform.resources.tracking import FileTrackingTable, minted_ids

WINDOW_FILES = 1000  # pending files a tick reads per date at most (see above)
FLUSH = "flush"  # `minted_by` of the manifests an operator's flush mints


class ClaimTakenOver(RuntimeError):
    """Another run took this manifest's claim over (this one was presumed dead)."""


def thresholds_from(settings: Settings) -> ManifestThresholds:
    ingestion = settings.ingestion
    return ManifestThresholds(max_files=ingestion.manifest_max_files, max_bytes=ingestion.manifest_max_bytes,
                              orphan_flush_seconds=ingestion.orphan_flush_seconds)


@dataclass
class TickPlan:
    """What one tick minted and requests, and what each date with pending files waits for."""

    minted: list[tuple[str, str, str]] = field(default_factory=list)  # (manifest id, date, reason), minted now
    flushed: list[tuple[str, str, str]] = field(default_factory=list)  # minted by a flush, their runs to request
    backlogs: list[DateBacklog] = field(default_factory=list)


def plan_manifests(tracking: FileTrackingTable, settings: Settings, now: float,
                   warn: Callable[[str], Any] | None = None) -> TickPlan:
    """Mint the manifests due now (MANIFEST# pending written) and say what every date with
    pending files waits for (core/ingestion/backlog.py), from what the minting reads anyway.
    A malformed pending item is left out with a `warn`ing naming it."""
    thresholds = thresholds_from(settings)
    window = max(WINDOW_FILES, thresholds.max_files)
    plan = TickPlan()
    for date_prefix in tracking.pending_dates():
        held = _held_by(tracking, date_prefix, now, settings.ingestion.stale_manifest_seconds)
        if held:
            plan.backlogs.append(DateBacklog(
                date_prefix, HELD, manifests=tuple(m["manifest_id"] for m in held),
                held_since=max(float(m["created_epoch"]) for m in held)))
            plan.flushed += [(m["manifest_id"], date_prefix, m.get("reason", "flush"))
                             for m in held if m.get("minted_by") == FLUSH]
            continue
        nominated = tracking.pending_nominees(date_prefix, window, warn=warn)
        complete = len(nominated) < window
        if flush_reason(nominated, now, thresholds) is None:
            plan.backlogs.append(DateBacklog.read(date_prefix, WAITING, nominated, complete))
            continue
        files = tracking.confirm_pending(nominated, warn=warn)
        reason = flush_reason(files, now, thresholds)
        if reason is None:  # claimed meanwhile: what is left waits
            plan.backlogs.append(DateBacklog.read(date_prefix, WAITING, files, complete))
            continue
        count = min(manifests_needed(files, thresholds), max(1, window // thresholds.max_files))
        minted = _mint(tracking, date_prefix, count, reason, now, "sensor")
        plan.minted += minted
        plan.backlogs.append(DateBacklog.read(date_prefix, MINTED, files, complete, reason=reason,
                                              manifests=tuple(m for m, _, _ in minted)))
    return plan


def flush(tracking: FileTrackingTable, settings: Settings, now: float, date_prefix: str | None = None,
          warn: Callable[[str], Any] | None = None) -> tuple[list[tuple[str, str, str]], list[str]]:
    """An operator's flush: mint manifests now for the pending files of `date_prefix` (every
    date with pending files when None), whatever the thresholds; the file-events sensor
    requests their runs at its next tick (`TickPlan.flushed`, run key the manifest id), and
    their runs claim the files as any run does (exactly once: conditional claims). Enough
    manifests for all the files read (one per `manifest_max_files`); a date whose recent
    manifest still waits for its run is left to it. The manifests minted, and one line per date."""
    thresholds = thresholds_from(settings)
    window = max(WINDOW_FILES, thresholds.max_files)
    minted, lines = [], []
    dates = [date_prefix] if date_prefix else tracking.pending_dates()
    for date in dates:
        held = _held_by(tracking, date, now, settings.ingestion.stale_manifest_seconds)
        if held:
            lines.append(f"{date}: {', '.join(m['manifest_id'] for m in held)} already waits for its run, "
                         "which takes the pending files; nothing more flushed")
            continue
        files = tracking.confirm_pending(tracking.pending_nominees(date, window, warn=warn), warn=warn)
        if not files:
            lines.append(f"{date}: no pending files, nothing to flush")
            continue
        total = sum(f.size for f in files)
        reason = f"flush: {len(files)} pending files ({size(total)}) on request"
        count = min(-(-len(files) // thresholds.max_files), max(1, window // thresholds.max_files))
        new = _mint(tracking, date, count, reason, now, FLUSH)
        minted += new
        lines.append(f"{date}: formed {', '.join(m for m, _, _ in new)} from {len(files)} pending files ({size(total)})")
    if not dates:
        lines.append("no pending files on any date, nothing to flush")
    return minted, lines


def _held_by(tracking: FileTrackingTable, date_prefix: str, now: float, stale_seconds: float) -> list[dict[str, Any]]:
    """The date's recently minted manifests still pending and unclaimed, whose runs will
    claim its pending files: all those its counter names (one consistent read of the counter,
    one of them), else the first the status GSI nominates. A manifest minted longer than
    `stale_seconds` ago that no run took holds the date no longer (the reaper re-runs it)."""
    named = minted_ids(date_prefix, tracking.manifest_counter(date_prefix))
    held = [m for m in tracking.unclaimed_of(date_prefix, named) if now - float(m["created_epoch"]) < stale_seconds]
    if held:
        return held
    for manifest in tracking.nominated_unclaimed(date_prefix, skip=named):
        if now - float(manifest["created_epoch"]) < stale_seconds:
            return [manifest]
    return []


def _mint(tracking: FileTrackingTable, date_prefix: str, count: int, reason: str, now: float,
          minted_by: str) -> list[tuple[str, str, str]]:
    minted = []
    for new_id in tracking.reserve_manifest_ids(date_prefix, count, now):
        tracking.create_manifest(new_id, reason=reason, now=now, minted_by=minted_by)
        fault_point("ndjson.sensor_minted")  # fault injection: minted, its run request not yet returned
        minted.append((new_id, date_prefix, reason))
    return minted


def claim_files(tracking: FileTrackingTable, manifest: str, run_id: str, thresholds: ManifestThresholds,
                held: dict[str, dict[str, Any]], warn: Callable[[str], Any] | None = None) -> list[dict[str, Any]]:
    """Claim pending files of the manifest's date for `run_id`, which holds the claim
    (`begin_claim`), until the manifest with the files it `held` already is full; the
    claimed items as stored. Raises ClaimTakenOver when another run took the claim over
    (nothing more is claimed by this one)."""
    record = tracking.manifest(manifest) or {}
    listed = set(record.get("file_keys") or ())
    used = key_bytes(listed)
    files, total = len(held), sum(int(i["size"]) for i in held.values())
    tried = set(held)
    won: list[dict[str, Any]] = []
    for nominated in tracking.pending_windows(date_of_manifest(manifest), thresholds.max_files, warn):
        window = sorted((f for f in nominated if f.file_key not in tried), key=lambda f: (f.first_seen, f.file_key))
        if not window:
            continue
        fresh = [f for f in window if f.file_key not in listed]
        fitting = within_key_budget(fresh, used)
        out_of_room = len(fitting) < len(fresh)
        if out_of_room:
            window = window[:window.index(fresh[len(fitting)])]
        if not tracking.plan_claim(manifest, run_id, [f.file_key for f in fitting]):
            raise ClaimTakenOver(f"{manifest}: another run took the claim over from run {run_id}")
        listed.update(f.file_key for f in fitting)
        used += key_bytes(f.file_key for f in fitting)
        tried.update(f.file_key for f in window)
        attempted = []

        def claim(pending):  # type: ignore[no-untyped-def]
            attempted.append(pending)
            fault_point("ndjson.claim")  # fault injection: a crash part-way through the claims
            return tracking.claim(pending, manifest)

        claimed = claim_in_order(window, thresholds, claim, held_files=files, held_bytes=total,
                                 size_of=lambda item: int(item["size"]))
        won += claimed
        files, total = files + len(claimed), total + sum(int(i["size"]) for i in claimed)
        if out_of_room or len(attempted) < len(window) or files >= thresholds.max_files:
            break  # full: by count, by bytes (claim_in_order stopped early), or by the key budget
    return won
