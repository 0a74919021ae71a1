"""Pipeline B's engine on every hostile NDJSON input of the README table, in both modes:
the documented status and message, and every innocent row converted."""

from __future__ import annotations

import json

import orjson
import pyarrow.parquet as pq
import pytest

from etl_platform.core.ndjson_parquet import SourceFile, convert_manifest
from etl_platform_tests.hostile.documented import documented, matches
from etl_platform_tests.hostile.ndjson_inputs import SCENARIOS, Scenario, padding_ids

DOC = documented("B NDJSON")
INNOCENT = [{"id": f"ok-{i}", "n": i, "nested": {"k": [i, None]}} for i in range(5)]
UNREADABLE = Scenario("unreadable-file", {})


def as_text(value) -> str | None:
    """A value as string mode writes it, so both modes describe a row alike."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":")) if isinstance(value, (dict, list)) else str(value)


def observe(tmp_path, scenario: Scenario, mode: str) -> tuple[tuple[str, str], list[dict], object]:
    """(status, message) of the scenario's hostile lines, all output rows, the result."""
    files = []
    for name, body in {"innocent.ndjson": b"".join(orjson.dumps(r) + b"\n" for r in INNOCENT), **scenario.files}.items():
        path = tmp_path / "in" / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(body)
        files.append(SourceFile(str(path), f"s3://input/landing/2026-05-01/{name}"))
    if scenario is UNREADABLE:
        files.append(SourceFile(str(tmp_path / "in" / "gone.ndjson"), "s3://input/landing/2026-05-01/gone.ndjson"))
    rejects_path = tmp_path / "rejects.ndjson"
    result = convert_manifest(files, manifest_id="batch-0001-20260501-000000", output_dir=str(tmp_path / "out"),
                              rejects_path=str(rejects_path), mode=mode)
    rows = [{k: as_text(v) for k, v in r.items()} for p in result.output_files for r in pq.read_table(p).to_pylist()]
    rejects = [json.loads(line) for line in rejects_path.read_text().splitlines()] if result.rejected else []
    if result.failed:
        [reason] = result.failed.values()
        return ("file failed", reason), rows, result
    if rejects:
        return ("reject", "; ".join(r["error"] for r in rejects)), rows, result
    return ("row", scenario.describe([r for r in rows if r["id"].startswith("h")])), rows, result


@pytest.mark.parametrize("mode", ["string", "typed"])
@pytest.mark.parametrize("scenario", SCENARIOS + [UNREADABLE], ids=lambda s: s.id)
def test_hostile_ndjson_line(tmp_path, scenario, mode):
    (status, message), rows, result = observe(tmp_path, scenario, mode)
    documented_status, documented_message = DOC[scenario.id]
    assert status == documented_status
    assert matches(documented_message, message), message
    ids = [r["id"] for r in rows]
    assert [i for i in ids if i.startswith("ok-")] == [r["id"] for r in INNOCENT]        # the innocent file, whole
    assert sorted(i for i in ids if i.startswith("pad-")) == padding_ids(scenario)     # its good lines, once each
    assert result.rows_in == result.rows_out + result.rejected                          # the ledger


def test_every_documented_ndjson_scenario_is_generated():
    assert set(DOC) == {s.id for s in SCENARIOS} | {UNREADABLE.id}
