"""Which per-file partitions of pipeline C to delete (pure: the sensor gathers the inputs).

A partition is kept while its file was uploaded within the retention, or its last profile
is an `error` and the upload is still there (the documented operator step re-materializes
it by name), or a run of it is in flight; the others are deleted, oldest first. On top of
that the count is capped: past `cap` partitions the oldest are deleted even within the
retention (never one in flight), so the count is bounded whatever the upload rate.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PruneRules:
    retention_days: int
    cap: int
    max_deletes: int  # per pass: a sensor tick stays bounded; the next pass continues


def partitions_to_prune(keys: list[str], uploaded: dict[str, float], errored: set[str], in_flight: set[str],
                        now: float, rules: PruneRules) -> list[str]:
    """The partition keys to delete, oldest upload first (a file no longer uploaded first of all).
    `uploaded`: the last upload time of each file still under the upload prefix."""
    horizon = now - rules.retention_days * 86400

    def wanted(key: str) -> bool:
        return key in in_flight or (key in uploaded and (uploaded[key] >= horizon or key in errored))

    # newest first; gone files sort last
    ranked = sorted(keys, key=lambda k: uploaded.get(k, float("-inf")), reverse=True)
    kept = [k for k in ranked if wanted(k)]
    over_cap = max(0, len(kept) - rules.cap)
    if over_cap:
        droppable = set([k for k in reversed(kept) if k not in in_flight][:over_cap])
        kept = [k for k in kept if k not in droppable]
    keep = set(kept)
    doomed = [k for k in reversed(ranked) if k not in keep]
    return doomed[:rules.max_deletes]
