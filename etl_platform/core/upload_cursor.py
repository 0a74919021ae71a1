"""Which uploaded objects are new since the last sensor tick. Pure.

S3 lists keys in name order, not time order, so a key cursor would miss new names that
sort early and re-uploads of old names. The cursor is instead a LastModified watermark plus
the versions (key, ETag) seen within a look-back window below it: an object is new if it was
modified at or after `watermark - lookback` and its (key, ETag) is not in that set. The
window covers clock skew and multipart uploads, whose LastModified is their start time; an
upload that takes longer than the window to complete would be missed (default: one hour).
At most `max_new` objects are taken per tick, oldest first; the rest come next tick.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ListedObject:
    key: str
    etag: str
    last_modified: float  # epoch seconds
    size: int = 0
    version_id: str = ""  # "null" in a bucket without versioning


@dataclass
class UploadCursor:
    watermark: float = 0.0
    recent: dict[str, tuple[str, float]] = field(default_factory=dict)  # key -> (etag, last_modified)

    @classmethod
    def from_json(cls, text: str | None) -> "UploadCursor":
        if not text:
            return cls()
        data = json.loads(text)
        return cls(watermark=data["watermark"], recent={k: (v[0], v[1]) for k, v in data["recent"].items()})

    def to_json(self) -> str:
        return json.dumps({"watermark": self.watermark, "recent": {k: list(v) for k, v in sorted(self.recent.items())}})


def plan_new_uploads(objects: list[ListedObject], cursor: UploadCursor, *, max_new: int,
                     lookback_seconds: float = 3600.0) -> tuple[list[ListedObject], UploadCursor]:
    """The new objects to act on now, and the cursor to store after acting on them."""
    floor = cursor.watermark - lookback_seconds
    candidates = sorted(
        (o for o in objects if o.last_modified >= floor and cursor.recent.get(o.key, ("",))[0] != o.etag),
        key=lambda o: (o.last_modified, o.key),
    )
    selected = candidates[:max_new]
    watermark = max([cursor.watermark, *(o.last_modified for o in selected)])
    recent = dict(cursor.recent)
    for obj in selected:
        recent[obj.key] = (obj.etag, obj.last_modified)
    new_floor = watermark - lookback_seconds
    recent = {k: v for k, v in recent.items() if v[1] >= new_floor}
    return selected, UploadCursor(watermark=watermark, recent=recent)
