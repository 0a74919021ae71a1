"""What `etl-platform ops manifest <id>` prints: a MANIFEST record and its files' states. Pure."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

MANIFEST_ID = re.compile(r"batch-\d+-\d{8}-\d{6}")  # core/ingestion/manifests.py `manifest_id`

SHOWN_FIELDS = ("status", "reason", "created_at", "updated_at", "run_id", "attempts", "engine", "file_count",
                "total_bytes", "rows_in", "rows_out", "rejected", "manifest_path", "error")


def is_manifest_id(text: str) -> bool:
    return MANIFEST_ID.fullmatch(text) is not None


def file_state(item: dict[str, Any]) -> str:
    """`manifested#3` -> `manifested` (the shard only spreads the index's writes)."""
    return str(item.get("status", "?")).partition("#")[0]


def manifest_view(record: dict[str, Any], files: list[dict[str, Any]]) -> dict[str, Any]:
    """The record and its files as plain data (the command's --json output)."""
    return {
        "manifest_id": record.get("manifest_id"),
        **{name: record[name] for name in SHOWN_FIELDS if record.get(name) not in (None, "")},
        "file_states": dict(sorted(Counter(file_state(f) for f in files).items())),
        "files": [{"file_key": f["file_key"], "state": file_state(f), "shard": f.get("shard_id"), "size": f.get("size"),
                   "first_seen": f.get("first_seen"), **({"error": f["error"]} if f.get("error") else {})}
                  for f in files],
    }


def render_manifest(view: dict[str, Any]) -> str:
    lines = [f"manifest {view['manifest_id']}"]
    lines += [f"  {name}: {view[name]}" for name in SHOWN_FIELDS if name in view]
    states = ", ".join(f"{count} {state}" for state, count in view["file_states"].items()) or "none"
    lines += ["", f"files: {len(view['files'])} ({states})"]
    for f in view["files"]:
        error = f"  {f['error'][:160]}" if f.get("error") else ""
        lines.append(f"  {f['state']:<11} shard {f['shard']}  {f['size']:>10} B  {f['first_seen']}  {f['file_key']}{error}")
    return "\n".join(lines)
