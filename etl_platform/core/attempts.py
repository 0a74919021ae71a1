"""How many runs a record gets when its runs die. Pure.

A run re-requested after a dead one carries run tag `etl/attempt` = its number (the first
run has none: attempt 1), in every pipeline. Pipeline C counts from that tag (one sensor
re-runs, once per failed run); pipeline B counts on its MANIFEST record instead, because
two sensors may race to re-run it and a conditional write must pick one
(core/ingestion/recovery.py). Bounded so that an input that kills every worker that touches it
(say, one that exhausts its memory) ends settled as an error instead of looping.
"""

from __future__ import annotations

ATTEMPT_TAG = "etl/attempt"


def attempt_of(tags: dict[str, str]) -> int:
    try:
        return max(1, int(tags.get(ATTEMPT_TAG, "1")))
    except ValueError:
        return 1


def next_attempt(tags: dict[str, str], max_attempts: int) -> int | None:
    """The number of the run to request after the run with `tags` died; None: none left."""
    attempt = attempt_of(tags)
    return attempt + 1 if attempt < max_attempts else None
