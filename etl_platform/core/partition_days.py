"""Which days a daily partition exists for (pipelines A and B partition their runs by day).

Dagster's daily partitions run from a start day to the current day plus an offset; a run
of any other day is refused (`DagsterUnknownPartitionError`), which in a sensor would fail
the whole tick. So the days are fixed here once, and what would be partitioned under a day
outside them is refused with a reason before it reaches Dagster (a landed file whose key
names such a day is quarantined). `DAYS_AHEAD`: a producer may date its files by its own
clock, up to 14 h ahead of UTC (UTC+14), so tomorrow (UTC) is a valid day.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

FIRST_DAY = "2020-01-01"
DAYS_AHEAD = 1


def day_error(day: str, now: float) -> str | None:
    """Why `day` (YYYY-MM-DD) has no daily partition at `now`; None if it has one."""
    last = (datetime.fromtimestamp(now, timezone.utc).date() + timedelta(days=DAYS_AHEAD)).isoformat()
    try:
        date.fromisoformat(day)
    except ValueError:
        return f"{day!r} is not a YYYY-MM-DD date"
    if not FIRST_DAY <= day <= last:
        return f"date {day} is outside the days the platform partitions ({FIRST_DAY} to {last})"
    return None
