"""Hostile CSV inputs of pipeline C, generated. `describe` is the message the README
documents for a profile that succeeded (errors are documented by their message)."""

from __future__ import annotations

import random


def describe(profile: dict) -> str:
    issues = profile["quality_issues"]
    parts = [f"{profile['row_count']} rows", f"{len(profile['columns'])} columns"]
    if "ragged_rows" in issues:
        parts.append(f"ragged rows {issues['ragged_rows']['examples']}")
    if "unterminated_quote" in issues:
        quote = issues["unterminated_quote"]
        parts.append(f"unterminated quote at row {quote['row']} swallowed {quote['lines_swallowed']} lines")
    return ", ".join(parts)


def innocent() -> bytes:
    return b"id,name,score\n" + b"".join(f"{i},n{i},{i * 1.5}\n".encode() for i in range(20))


SCENARIOS = {
    "ragged-rows": lambda: b"a,b,c\n1,2,3\n4,5\n6,7,8,9\n10,11,12\n",
    "unmatched-quote": lambda: b'a,b,c\n1,2,3\n4,"oops,6\n7,8,9\n10,11,12\n',
    "nul-byte": lambda: b"a,b\n1,\x002\n",
    "nul-byte-after-first-block": lambda: b"a,b\n" + b"1,2\n" * 20_000 + b"3,\x004\n",
    "cell-1mb": lambda: b"a,b\n1," + b"x" * (1 << 20) + b"\n2,y\n",
    "header-only": lambda: b"a,b,c\n",
    "binary": lambda: random.Random(7).randbytes(4096) + b"\x00",
    "utf-16": lambda: "a,b\n1,2\n3,4\n".encode("utf-16"),
    "columns-5000": lambda: (",".join(f"c{i}" for i in range(5000)) + "\n" + ",".join(map(str, range(5000))) + "\n").encode(),
    "empty": lambda: b"",
}
