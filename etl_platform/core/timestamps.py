"""ISO 8601 UTC timestamps with a `Z`, as every table of the platform stores them. Pure."""

from __future__ import annotations

from datetime import datetime, timezone


def iso_utc(moment: datetime | float | None = None, *, digits: int = 0) -> str:
    """`2025-11-29T10:30:00Z` for now, an epoch or a datetime; `digits` of fractional
    seconds (3: ms, 6: us). Fixed width, so the text sorts like the time (GSI range keys)."""
    if moment is None:
        moment = datetime.now(timezone.utc)
    elif not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(moment, timezone.utc)
    moment = moment.astimezone(timezone.utc)
    fraction = f".{moment.microsecond:06d}"[: digits + 1] if digits else ""
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"
