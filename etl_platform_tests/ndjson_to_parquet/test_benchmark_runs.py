"""The pipeline-B benchmark still runs end to end (tiny batch; no timing is asserted).

Benchmarks are not otherwise exercised by the suite, so an API change in the engine
or in DuckDB would only surface when someone needs the figures.
"""

from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_benchmark_compares_every_engine_on_the_same_rows(tmp_path):
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "benchmarks", "ndjson_to_parquet.py"),
         "--files", "4", "--no-spark", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = {}
    for line in proc.stdout.splitlines():
        cells = line.split()
        if len(cells) > 10 and cells[0] in ("ours", "duckdb", "duckdb-given") and cells[2] == "4":
            rows[(cells[0], cells[1])] = {"rows_out": int(cells[8]), "rejected": cells[9]}
    assert set(rows) == {("ours", "typed"), ("ours", "string"), ("duckdb", "typed"),
                         ("duckdb", "string"), ("duckdb-given", "string")}
    ours = rows[("ours", "string")]
    assert rows[("ours", "typed")] == ours
    # DuckDB (ignore_errors) turns a malformed line into a row of NULLs; ours rejects it
    expected = ours["rows_out"] + int(ours["rejected"])
    assert {r["rows_out"] for k, r in rows.items() if k[0] != "ours"} == {expected}
    assert "string: throughput" in proc.stdout and "typed : throughput" in proc.stdout
