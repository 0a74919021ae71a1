"""The README's "Hostile inputs" tables: what the hostile-input tests check against.

Each table row is `| `scenario` | input | status | message |`; a message ending in `…`
is a prefix (the rest names a temporary path or a library's wording).
"""

from __future__ import annotations

import re

from etl_platform.config import PROJECT_ROOT

_ROW = re.compile(r"^\|\s*`(?P<id>[^`]+)`\s*\|(?P<input>[^|]*)\|\s*(?P<status>[^|]+?)\s*\|\s*(?P<message>.*?)\s*\|\s*$")


def documented(pipeline: str) -> dict[str, tuple[str, str]]:
    """{scenario: (status, message)} of the README table headed `#### <pipeline> ...` in
    the "Hostile inputs" section. Backticks around a message are dropped; `\\|` is `|`."""
    text = (PROJECT_ROOT / "README.md").read_text()
    section = text[text.index("### Hostile inputs"):]
    start = section.index(f"#### {pipeline}")
    end = section.find("\n#### ", start + 1)
    table = section[start:end if end > 0 else None]
    out = {}
    for line in table.replace("\\|", "\x00").splitlines():
        match = _ROW.match(line)
        if match:
            message = match["message"].replace("\x00", "|")
            if message.startswith("`") and message.endswith("`"):
                message = message[1:-1]
            out[match["id"]] = (match["status"].strip(), message)
    if not out:
        raise AssertionError(f"no hostile-input table for {pipeline} in README.md")
    return out


def matches(documented_message: str, observed: str) -> bool:
    if documented_message.endswith("…"):
        return observed.startswith(documented_message[:-1])
    return observed == documented_message
