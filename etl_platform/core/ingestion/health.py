"""Pipeline B's health (seed 002's state manager, seed 003's dashboard and alarms): what a
snapshot of the pipeline says is wrong, in numbers Dagster plots and in words an operator
reads. Pure: the snapshot is read by pipelines/ndjson_to_parquet/health.py.

Unhealthy means an operator has something to do, or something the platform should have
done by itself has not happened:

    dead_letters      the DLQ holds S3 events: their files are untracked until
                      `etl-platform ingest redrive-dlq` (or the reconciliation) hands them over
    stale_pending     a pending file is older than `pending_age_seconds`: the orphan flush
                      takes any file past its age at the next tick, so manifests are not forming
                      (sensor stopped, breaker open, daemon down)
    stuck_manifests   an open manifest (pending/processing) that no live run holds and that
                      nothing changed for `stuck_manifest_seconds`: the reaper re-runs or fails
                      such a manifest within a tick, so it is not running
                      (`etl-platform ops reset-stuck` settles them as failed)
    breaker_open      the circuit breaker stops new manifest runs

Failed manifests waiting for a replay are shown, not alerted on: each was alerted when it
failed, and an alert every check until the replay would only teach people to ignore them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MB = 1024 * 1024


@dataclass(frozen=True)
class ShardBacklog:
    """Pending files of one date and status shard, as far as a bounded read went."""

    date_prefix: str
    shard: int
    files: int
    bytes: int
    oldest_first_seen: float | None
    truncated: bool = False  # the read stopped at its limit: at least `files`, oldest of those read


@dataclass(frozen=True)
class OpenManifest:
    manifest_id: str
    status: str          # pending | processing
    since: float         # epoch of its last change (minted, claimed, started, re-run)
    run_alive: bool      # the recovery rule waits for it (a live run, or one on its way)
    run_reason: str      # what the recovery rule said about its latest run


@dataclass(frozen=True)
class FailedManifest:
    manifest_id: str
    status: str          # the MANIFEST's status: failed, or completed with files it could not convert
    failed_files: int
    error: str = ""
    replayed_epoch: float = 0.0  # when an operator last replayed it (0: never)


@dataclass(frozen=True)
class HealthSnapshot:
    taken_at: float
    queue_visible: int = 0
    queue_in_flight: int = 0
    dead_letters: int = 0
    backlog: tuple[ShardBacklog, ...] = ()
    open_manifests: tuple[OpenManifest, ...] = ()
    failed: tuple[FailedManifest, ...] = ()
    failed_truncated: bool = False
    breaker_failures: int = 0
    breaker_blocking: str | None = None
    skipped: tuple[str, ...] = field(default=())  # malformed tracking items, named


@dataclass(frozen=True)
class HealthThresholds:
    pending_age_seconds: float
    stuck_manifest_seconds: float


@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    severe: bool  # ERROR (work is stopped) rather than WARN (work waits)


@dataclass(frozen=True)
class DateBacklog:
    date_prefix: str
    files: int
    bytes: int
    oldest_first_seen: float | None
    truncated: bool


def by_date(backlog: tuple[ShardBacklog, ...] | list[ShardBacklog]) -> list[DateBacklog]:
    dates: dict[str, list[ShardBacklog]] = {}
    for shard in backlog:
        dates.setdefault(shard.date_prefix, []).append(shard)
    return [DateBacklog(day, sum(s.files for s in shards), sum(s.bytes for s in shards),
                        _oldest(s.oldest_first_seen for s in shards), any(s.truncated for s in shards))
            for day, shards in sorted(dates.items())]


def _oldest(epochs) -> float | None:
    known = [e for e in epochs if e is not None]
    return min(known) if known else None


def oldest_pending_age(snapshot: HealthSnapshot) -> float | None:
    oldest = _oldest(s.oldest_first_seen for s in snapshot.backlog)
    return None if oldest is None else max(0.0, snapshot.taken_at - oldest)


def stuck(snapshot: HealthSnapshot, stuck_after: float) -> list[OpenManifest]:
    """Open manifests no live run holds, unchanged for `stuck_after` seconds."""
    return [m for m in snapshot.open_manifests if not m.run_alive and snapshot.taken_at - m.since >= stuck_after]


def problems(snapshot: HealthSnapshot, thresholds: HealthThresholds) -> list[Problem]:
    found = []
    if snapshot.dead_letters:
        found.append(Problem("dead_letters", f"{snapshot.dead_letters} S3 event(s) in the dead-letter queue: their files "
                                             "are untracked (`etl-platform ingest redrive-dlq --dry-run` lists them)", False))
    age = oldest_pending_age(snapshot)
    if age is not None and age >= thresholds.pending_age_seconds:
        stale = [d.date_prefix for d in by_date(snapshot.backlog)
                 if d.oldest_first_seen is not None and snapshot.taken_at - d.oldest_first_seen >= thresholds.pending_age_seconds]
        found.append(Problem("stale_pending", f"pending files waited {duration(age)} (limit "
                                              f"{duration(thresholds.pending_age_seconds)}) on {', '.join(stale)}: "
                                              "no manifest is forming for them", True))
    held = stuck(snapshot, thresholds.stuck_manifest_seconds)
    if held:
        found.append(Problem("stuck_manifests", f"{len(held)} manifest(s) open without a live run for over "
                                                f"{duration(thresholds.stuck_manifest_seconds)}: "
                                                f"{', '.join(m.manifest_id for m in held[:5])} "
                                                "(`etl-platform ops reset-stuck`)", True))
    if snapshot.breaker_blocking:
        found.append(Problem("breaker_open", snapshot.breaker_blocking, True))
    return found


def numbers(snapshot: HealthSnapshot, thresholds: HealthThresholds) -> dict[str, int | float]:
    """The snapshot as numbers (Dagster plots each over time)."""
    age = oldest_pending_age(snapshot)
    return {
        "queue_visible": snapshot.queue_visible,
        "queue_in_flight": snapshot.queue_in_flight,
        "dead_letters": snapshot.dead_letters,
        "pending_files": sum(s.files for s in snapshot.backlog),
        "pending_mb": round(sum(s.bytes for s in snapshot.backlog) / MB, 3),
        "pending_dates": len({s.date_prefix for s in snapshot.backlog}),
        "oldest_pending_age_s": round(age, 1) if age is not None else 0.0,
        "open_manifests": len(snapshot.open_manifests),
        "stuck_manifests": len(stuck(snapshot, thresholds.stuck_manifest_seconds)),
        "failed_manifests": len(snapshot.failed),
        "failed_files": sum(f.failed_files for f in snapshot.failed),
        "breaker_consecutive_failures": snapshot.breaker_failures,
        "problems": len(problems(snapshot, thresholds)),
    }


def duration(seconds: float) -> str:
    """`45s`, `12m 30s`, `3h 05m`, `2d 04h`: an age at a glance."""
    seconds = int(max(0, seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    if seconds < 86400:
        return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d {seconds % 86400 // 3600:02d}h"


def _count(files: int, truncated: bool) -> str:
    return f"{files}+" if truncated else str(files)


def render(snapshot: HealthSnapshot, thresholds: HealthThresholds) -> str:
    """What `etl-platform ops health` prints."""
    found = problems(snapshot, thresholds)
    now = snapshot.taken_at
    lines = [f"pipeline B health: {'UNHEALTHY' if found else 'healthy'}"]
    lines += [f"  {'ERROR' if p.severe else 'WARN '} {p.code}: {p.message}" for p in found]
    lines += ["", f"file-events queue: {snapshot.queue_visible} waiting, {snapshot.queue_in_flight} in flight",
              f"dead-letter queue: {snapshot.dead_letters}",
              f"circuit breaker: {snapshot.breaker_blocking or 'closed'} "
              f"({snapshot.breaker_failures} consecutive failed manifests)", ""]
    dates = by_date(snapshot.backlog)
    lines.append(f"pending files: {_count(sum(d.files for d in dates), any(d.truncated for d in dates))}"
                 + ("" if dates else " (none)"))
    for day in dates:
        oldest = f", oldest {duration(now - day.oldest_first_seen)}" if day.oldest_first_seen is not None else ""
        lines.append(f"  {day.date_prefix}  {_count(day.files, day.truncated):>6} files  {day.bytes / MB:9.2f} MB{oldest}")
        for shard in sorted((s for s in snapshot.backlog if s.date_prefix == day.date_prefix), key=lambda s: s.shard):
            age = f"oldest {duration(now - shard.oldest_first_seen)}" if shard.oldest_first_seen is not None else ""
            lines.append(f"    shard {shard.shard}  {_count(shard.files, shard.truncated):>6} files  {age}")
    held = {m.manifest_id for m in stuck(snapshot, thresholds.stuck_manifest_seconds)}
    lines += ["", f"open manifests: {len(snapshot.open_manifests)}" + ("" if snapshot.open_manifests else " (none)")]
    for m in snapshot.open_manifests:
        mark = "STUCK " if m.manifest_id in held else ""
        lines.append(f"  {mark}{m.manifest_id}  {m.status}, unchanged {duration(now - m.since)}: {m.run_reason}")
    lines += ["", f"failed manifests waiting for a replay: {_count(len(snapshot.failed), snapshot.failed_truncated)}"
              + ("" if snapshot.failed else " (none)")]
    for f in snapshot.failed:
        error = f": {f.error[:120]}" if f.error else ""
        lines.append(f"  {f.manifest_id}  {f.status}, {f.failed_files} failed file(s){error}")
    if snapshot.failed:
        lines.append("  (`etl-platform ops requeue-failed` replays them)")
    if snapshot.skipped:
        lines += ["", f"malformed tracking items skipped: {len(snapshot.skipped)}", *[f"  {s}" for s in snapshot.skipped[:10]]]
    return "\n".join(lines)
