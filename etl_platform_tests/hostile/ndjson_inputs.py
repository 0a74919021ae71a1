"""Hostile NDJSON inputs of pipeline B, generated (no fixtures), shared by the fast core
test and the end-to-end batch. Each scenario is one or two files; the hostile lines have
ids starting with `h`, and good padding lines (`pad-...`) keep every file above the
landing minimum and give the validator a good first line where the scenario is not about
the first line. `describe` turns the scenario's converted hostile rows into the message
the README documents for a `row` outcome."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable

PAD = b"".join(json.dumps({"id": f"pad-{i}", "note": "padding"}).encode() + b"\n" for i in range(6))
TEN_MB = 10 * 1024 * 1024


def _deep(depth: int) -> bytes:
    return b'{"id":"h","x":' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"


@dataclass(frozen=True)
class Scenario:
    id: str
    files: dict[str, bytes]                       # file name -> body
    describe: Callable[[list[dict]], str] = lambda rows: f"{len(rows)} row(s)"
    validator_visible: bool = True                # lands through the validator (else only the core engine)


def padding_ids(scenario: Scenario) -> list[str]:
    """The ids of the good padding lines of the scenario's files, as many times as they occur."""
    return sorted(json.loads(line)["id"] for body in scenario.files.values()
                  for line in body.splitlines() if line.startswith(b'{"id": "pad-'))


def _values(rows: list[dict], *columns: str) -> str:
    return "; ".join(", ".join(f"{c}={row.get(c)}" for c in columns) for row in rows)


def _with_pad(hostile: bytes, *, first: bool = False) -> bytes:
    """A file holding `hostile` (one or more lines), after a good first line unless `first`."""
    return (hostile if first else PAD[:PAD.index(b"\n") + 1] + hostile) + b"\n" + PAD


SCENARIOS = [
    Scenario("invalid-utf8", {"invalid-utf8.ndjson": _with_pad(b'{"id":"h","note":"caf\xe9"}')}),
    Scenario("utf8-bom", {"utf8-bom.ndjson": b"\xef\xbb\xbf" + _with_pad(b'{"id":"h","note":"bom"}', first=True)},
             lambda rows: _values(rows, "id", "note")),
    Scenario("crlf", {"crlf.ndjson": _with_pad(b'{"id":"h","note":"crlf"}\r\n{"id":"h2"}\r').replace(b"\n", b"\r\n")},
             lambda rows: _values(rows, "id", "note")),
    Scenario("trailing-blank-line", {"trailing-blank.ndjson": _with_pad(b'{"id":"h"}') + b"\n  \n"},
             lambda rows: _values(rows, "id")),
    Scenario("line-10mb", {"line-10mb.ndjson": _with_pad(b'{"id":"h","s":"' + b"x" * TEN_MB + b'"}')},
             lambda rows: "; ".join(f"id={r['id']}, s holds {len(r['s'])} characters" for r in rows)),
    Scenario("nesting-1000", {"nesting-1000.ndjson": _with_pad(_deep(1000))}),
    Scenario("nesting-1000-first-line", {"nesting-first.ndjson": _with_pad(_deep(1000), first=True)}),
    Scenario("duplicate-keys", {"duplicate-keys.ndjson": _with_pad(b'{"id":"h","a":1,"a":2}')}),
    Scenario("int-beyond-int64", {"big-int.ndjson": _with_pad(b'{"id":"h","n":18446744073709551617}')},
             lambda rows: _values(rows, "n")),
    Scenario("float-beyond-float64", {"big-float.ndjson": _with_pad(b'{"id":"h","x":1e400}')}),
    Scenario("top-level-array", {"array.ndjson": _with_pad(b'[{"id":"h"}]')}),
    Scenario("top-level-scalar", {"scalar.ndjson": _with_pad(b'42')}),
    Scenario("truncated-last-line", {"truncated.ndjson": PAD + b'{"id":"h","note":"cut'}),
    Scenario("keys-differing-by-case", {"case.ndjson": _with_pad(b'{"id":"h","k":1,"K":2}')},
             lambda rows: _values(rows, "K", "k")),
    Scenario("empty-key", {"empty-key.ndjson": _with_pad(b'{"id":"h","":"empty"}')},
             lambda rows: "; ".join(f"column ''={r['']}" for r in rows)),
    Scenario("provenance-named-keys", {"provenance.ndjson": _with_pad(b'{"id":"h","_source_file":"s","_manifest_id":"m"}')},
             lambda rows: _values(rows, "_source_file__input", "_manifest_id__input")),
    Scenario("int-then-object", {"int-f.ndjson": _with_pad(b'{"id":"h1","f":1}'),
                                 "object-f.ndjson": _with_pad(b'{"id":"h2","f":{"g":1}}')},
             lambda rows: _values(sorted(rows, key=lambda r: r["id"]), "id", "f")),
]
