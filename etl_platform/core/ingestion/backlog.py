"""What a date's pending files wait for, in words and numbers: the file-events sensor's skip
reason and the `ndjson_landing_files` observations (pipelines/ndjson_to_parquet/sensors.py).
Pure: built from what the tick's planning read anyway (planning.py), no read of its own.

A tick sees each date with pending files in one of three states:
    waiting   below every threshold: its pending files were read (all of them, since a date
              below the count threshold has fewer than the tick's window), so count, bytes,
              the oldest file's age and when the orphan flush forms a manifest are exact
    minted    a threshold was reached: manifests were minted this tick (their runs claim)
    held      a recently minted manifest still waits for its run, which will claim the
              date's pending files: the tick reads no pending file of it (that is what
              keeps a tick's reads flat), so it says whose run it waits for; its numbers are
              the last measured ones, carried in the sensor cursor (`carried`)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable

from etl_platform.core.ingestion.manifests import ManifestThresholds, PendingFile

WAITING, MINTED, HELD = "waiting", "minted", "held"


@dataclass(frozen=True)
class DateBacklog:
    date_prefix: str
    state: str
    files: int = 0                           # pending files the tick read
    bytes: int = 0
    oldest_first_seen: float | None = None   # epoch seconds
    complete: bool = True                    # False: more pending than the tick read (files, bytes are at least)
    manifests: tuple[str, ...] = ()          # minted this tick (minted), or whose run it waits for (held)
    reason: str = ""                         # why they were minted
    held_since: float | None = None          # when the newest manifest it waits for was minted

    @classmethod
    def read(cls, date_prefix: str, state: str, pending: list[PendingFile], complete: bool, **rest) -> "DateBacklog":
        return cls(date_prefix, state, files=len(pending), bytes=sum(f.size for f in pending),
                   oldest_first_seen=min((f.first_seen for f in pending), default=None), complete=complete, **rest)


def next_manifest_in(backlog: DateBacklog, now: float, thresholds: ManifestThresholds) -> float | None:
    """Seconds until a manifest forms for the date if no more files come (the orphan flush);
    0 when one exists now (minted, or waiting for its run); None when nothing is pending."""
    if backlog.state != WAITING:
        return 0.0
    if backlog.oldest_first_seen is None:
        return None
    return max(0.0, thresholds.orphan_flush_seconds - (now - backlog.oldest_first_seen))


def describe(backlog: DateBacklog, now: float, thresholds: ManifestThresholds) -> str:
    """One sentence: what the date has pending and what it waits for."""
    if backlog.state == HELD:
        minted = f" (minted {duration(now - backlog.held_since)} ago)" if backlog.held_since is not None else ""
        return (f"{backlog.date_prefix} waits for the run of {_names(backlog.manifests)}{minted}, "
                "which takes its pending files")
    if backlog.oldest_first_seen is None:
        return f"{backlog.date_prefix}: the status index lists pending files, none readable now (see the warnings)"
    seen = (f"{'at least ' if not backlog.complete else ''}{backlog.files} files pending for {backlog.date_prefix} "
            f"({size(backlog.bytes)}), oldest {duration(now - backlog.oldest_first_seen)}")
    if backlog.state == MINTED:
        return f"{seen}: formed {_names(backlog.manifests)} ({backlog.reason})"
    due = next_manifest_in(backlog, now, thresholds)
    return (f"{seen}; a manifest forms at {thresholds.max_files} files, {size(thresholds.max_bytes)} or when the "
            f"oldest is {duration(thresholds.orphan_flush_seconds)} old "
            f"({'due now' if not due else 'in ' + duration(due)})")


def summary(backlogs: Iterable[DateBacklog], now: float, thresholds: ManifestThresholds) -> str:
    lines = [describe(b, now, thresholds) for b in backlogs]
    return "; ".join(lines) if lines else "no files pending"


def observation_metadata(backlogs: list[DateBacklog], now: float, thresholds: ManifestThresholds) -> dict:
    """The numbers Dagster plots (ints and floats), per date (`<date> <name>`) and over all
    dates measured, and the words. A held date counts with the numbers last measured for it
    (`carried`), or not at all when none were: its files are not read this tick."""
    measured = [b for b in backlogs if _measured(b)]
    waits = [w for b in backlogs if (w := next_manifest_in(b, now, thresholds)) is not None]
    metadata: dict = {
        "pending_files": sum(b.files for b in measured),
        "pending_bytes": sum(b.bytes for b in measured),
        "oldest_pending_age_s": round(max((now - b.oldest_first_seen for b in measured
                                            if b.oldest_first_seen is not None), default=0.0), 1),
        "dates_pending": len(backlogs),
    }
    if waits:
        metadata["next_manifest_in_s"] = round(min(waits), 1)
    for b in backlogs:
        if _measured(b):
            metadata[f"{b.date_prefix} pending_files"] = b.files
            metadata[f"{b.date_prefix} pending_bytes"] = b.bytes
        if _measured(b) and b.oldest_first_seen is not None:
            metadata[f"{b.date_prefix} oldest_pending_age_s"] = round(now - b.oldest_first_seen, 1)
        metadata[f"{b.date_prefix} next_manifest_in_s"] = round(next_manifest_in(b, now, thresholds) or 0.0, 1)
        metadata[f"{b.date_prefix} next_manifest"] = describe(b, now, thresholds)
    metadata["thresholds"] = (f"{thresholds.max_files} files, {size(thresholds.max_bytes)}, or the oldest "
                              f"{duration(thresholds.orphan_flush_seconds)} old (orphan flush)")
    return metadata


def _measured(backlog: DateBacklog) -> bool:
    """A date whose numbers mean something: read this tick, or held with numbers carried over."""
    return backlog.state != HELD or backlog.oldest_first_seen is not None


def carried(previous: dict | None, backlogs: list[DateBacklog]) -> list[DateBacklog]:
    """The tick's backlogs with each held date given the numbers last measured for it (kept in
    the sensor cursor by `observation_cursor`): a busy date alternates minted and held on
    consecutive ticks, and without them the totals would drop to 0 on every held tick."""
    last = (previous or {}).get("dates", {})
    return [replace(b, files=m["files"], bytes=m["bytes"], oldest_first_seen=m["oldest_first_seen"],
                    complete=m["complete"])
            if b.state == HELD and (m := last.get(b.date_prefix)) else b
            for b in backlogs]


def observation_due(previous: dict | None, backlogs: list[DateBacklog], now: float, interval: float) -> bool:
    """Whether this tick records an observation: when a date appears or drains (the last one
    after the backlog drained says 0), else at most every `interval` seconds while files are
    pending. A date's minted/held flip is no reason: under steady load it flips every tick."""
    if previous is None:
        return bool(backlogs)
    if {b.date_prefix for b in backlogs} != set(previous.get("dates", {})):
        return True
    return bool(backlogs) and now - float(previous.get("observed_at", 0)) >= interval


def observation_cursor(previous: dict | None, backlogs: list[DateBacklog], observed_at: float) -> dict:
    """What the next tick needs: when the last observation was recorded and each pending
    date's last measured numbers (a held date keeps those it had, see `carried`)."""
    return {"observed_at": observed_at,
            "dates": {b.date_prefix: {"files": b.files, "bytes": b.bytes, "oldest_first_seen": b.oldest_first_seen,
                                      "complete": b.complete} if _measured(b) else None
                      for b in carried(previous, backlogs)}}


def size(count: int) -> str:
    for unit, scale in (("GB", 1024 ** 3), ("MB", 1024 ** 2), ("KB", 1024)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}".replace(".0 ", " ")
    return f"{count} B"


def duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _names(manifests: tuple[str, ...]) -> str:
    return ", ".join(manifests) if len(manifests) <= 3 else f"{', '.join(manifests[:3])} and {len(manifests) - 3} more"
