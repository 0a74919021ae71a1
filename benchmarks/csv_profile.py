"""Benchmark pipeline C's CSV profiler against DuckDB and pandas.

    .venv/bin/python benchmarks/csv_profile.py [--rows N] [--out DIR] [--repeat N] [--scale-check]

Generates (once, cached under --out) a messy CSV with the seed's columns (name, age,
salary, join_date) plus dirty ones, then profiles it with each engine in its own
subprocess so every engine's peak RSS is measured separately. Rounds interleave the
engines and the fastest round counts (the machine is shared). ``--scale-check`` also
profiles files 4x smaller and 4x larger with ours, to show peak RSS does not grow.

What each engine computes (comparable work: a full pass, per-column missing counts,
numeric min/max/avg and invalid-cell counts):
- ours: ``etl_platform.core.csv_profile.profile_csv`` (the full profile).
- duckdb (1 query): ``read_csv(all_varchar)`` + one aggregate query of ``TRY_CAST``
  counts and min/max/avg (the fastest DuckDB formulation we found).
- duckdb (summarize): ``SUMMARIZE`` over the auto-typed ``read_csv`` plus the
  ``TRY_CAST`` query above for invalid counts (two scans).
- pandas: ``read_csv`` + ``to_numeric(errors="coerce")`` per column for invalid counts.
Ratios are against the faster DuckDB formulation.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import ChildResult, cpu_seconds, emit, format_table, run_child  # noqa: E402

GENERATOR_VERSION = 1
MISSING_TOKENS = ["", "NA", "N/A", "n/a", "null", "NULL", "None", "NaN", "#N/A", "-"]
NUMERIC_COLUMNS = ["id", "age", "salary", "score", "qty"]
COLUMNS = ["id", "name", "age", "salary", "join_date", "event_date", "score", "qty", "city", "comment"]


# --------------------------------------------------------------------------- data
def generate(rows: int, out_dir: Path, seed: int = 42) -> Path:
    """Write the benchmark CSV (vectorised, ~1 s per 1M rows) unless already cached."""
    path = out_dir / f"profile_bench_v{GENERATOR_VERSION}_{rows}.csv"
    if path.exists():
        return path
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    tmp = path.with_suffix(".tmp")
    firsts = np.array(["Anna", "Bob", "Chloé", "Dmitri", "Eve", "Farah", "Günter", "Hiro", "Ines", "José"])
    lasts = np.array(["Smith", "Müller", "García", "O'Neil", "Nakamura", "Dubois", "Kowalski", "Rossi"])
    cities = np.array(["Zürich", "São Paulo", "Kraków", "New York", "Montréal", "Berlin", "Tōkyō", "Lyon"])
    phrases = np.array([
        "plain text", 'said "hello", then left', "a;b|c\td", "ok", "x, y and z",
        "multi\nline note", "50% off; limited", "naïve café",
    ])

    def s(values) -> pa.Array:
        return pa.array(values).cast(pa.string())

    def dirty(col: pa.Array, n: int, tokens: list[tuple[str, float]]) -> pa.Array:
        # Replace a random share of cells by each token; later tokens win on overlap.
        u = rng.random(n)
        lo = 0.0
        for token, share in tokens:
            mask = pa.array((u >= lo) & (u < lo + share))
            col = pc.if_else(mask, pa.scalar(token), col)
            lo += share
        return col

    chunk = 250_000
    with open(tmp, "wb") as f:
        f.write((",".join(COLUMNS) + "\n").encode())
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            ids = s(np.arange(start + 1, start + n + 1))
            name = pc.binary_join_element_wise(
                pa.array(firsts[rng.integers(0, len(firsts), n)]),
                pa.array(lasts[rng.integers(0, len(lasts), n)]), " ")
            name = pc.if_else(pa.array(rng.random(n) < 0.001), pa.scalar("O'Neil, Jr."), name)
            name = pc.binary_join_element_wise('"', pc.replace_substring(name, '"', '""'), '"', "")
            age = dirty(s(rng.integers(18, 81, n)), n, [("", 0.03), ("unknown", 0.0005), ("42.5", 0.0005)])
            salary = s(np.round(rng.normal(75_000, 20_000, n), 2))
            salary = dirty(salary, n, [("n/a", 0.02), ("", 0.005), ('"45,000"', 0.0005), ("tbd", 0.0005)])
            days = pa.array(rng.integers(0, 20_000, n).astype("int32")).cast(pa.date32())
            join_date = dirty(days.cast(pa.string()), n, [("", 0.01), ("2023-02-30", 0.0002)])
            ts = pc.cast(days, pa.timestamp("s"))
            ts = pc.add(ts, pa.array(rng.integers(0, 86_400, n), pa.duration("s")))
            fmt = rng.integers(0, 5, n)
            event = pc.strftime(ts, format="%Y-%m-%d")
            for code, f_ in [(1, "%Y/%m/%d"), (2, "%d.%m.%Y"), (3, "%m/%d/%Y"), (4, "%Y-%m-%dT%H:%M:%S")]:
                event = pc.if_else(pa.array(fmt == code), pc.strftime(ts, format=f_), event)
            event = dirty(event, n, [("N/A", 0.01), ("31.02.2020", 0.0003), ("soon", 0.0003)])
            score = dirty(s(np.round(rng.random(n) * 100, 3)), n, [("NaN", 0.03), ("null", 0.02), ("abc", 0.001)])
            qty = s(rng.integers(0, 1_000, n))
            city = pa.array(cities[rng.integers(0, len(cities), n)])
            comment = pc.binary_join_element_wise(pa.array(phrases[rng.integers(0, len(phrases), n)]), ids, " #")
            comment = pc.binary_join_element_wise('"', pc.replace_substring(comment, '"', '""'), '"', "")
            comment = dirty(comment, n, [("", 0.1)])
            cols = [ids, name, age, salary, join_date, event, score, qty, city, comment]
            lines = pc.binary_join_element_wise(*cols, ",")
            lines = pc.binary_join_element_wise(lines, "\n", "")
            # The joined lines' value buffer is exactly the file content of this chunk.
            off = np.frombuffer(lines.buffers()[1], dtype=np.int32)[lines.offset:lines.offset + n + 1]
            f.write(memoryview(lines.buffers()[2])[off[0]:off[-1]])
    os.replace(tmp, path)
    return path


# --------------------------------------------------------------------------- engines
def engine_ours(path: str) -> dict:
    from etl_platform.core.csv_profile import profile_csv

    t0, c0 = time.perf_counter(), cpu_seconds()
    prof = profile_csv(path)
    secs, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    q = prof["quality_issues"]
    return {
        "seconds": secs,
        "cpu": cpu,
        "rows": prof["row_count"],
        "schema": prof["schema"],
        "missing": {c: v["count"] for c, v in q["missing_values"].items()},
        "invalid": {c: v["count"] for c, v in q["invalid_values"].items()},
        "salary": prof["statistics"].get("salary"),
    }


def _duckdb_try_cast_query(src: str) -> str:
    nulls = ", ".join("'" + t.replace("'", "''") + "'" for t in MISSING_TOKENS)
    parts = ["count(*) AS n"]
    for c in COLUMNS:
        v = f"nullif(trim(\"{c}\"), '')"
        parts.append(f"count({v}) AS \"{c}__present\"")
        if c in NUMERIC_COLUMNS:
            parts += [f"count(TRY_CAST({v} AS DOUBLE)) AS \"{c}__num\"",
                      f"min(TRY_CAST({v} AS DOUBLE)) AS \"{c}__min\"",
                      f"max(TRY_CAST({v} AS DOUBLE)) AS \"{c}__max\"",
                      f"avg(TRY_CAST({v} AS DOUBLE)) AS \"{c}__avg\""]
        if c.endswith("date"):
            parts += [f"count(TRY_CAST({v} AS DATE)) AS \"{c}__date\""]
    return (f"SELECT {', '.join(parts)} FROM read_csv('{src}', all_varchar=true, header=true, "
            f"nullstr=[{nulls}])")


def _duckdb_figures(row: dict) -> dict:
    n = row["n"]
    missing = {c: n - row[f"{c}__present"] for c in COLUMNS if n - row[f"{c}__present"]}
    invalid = {c: row[f"{c}__present"] - row[f"{c}__num"] for c in NUMERIC_COLUMNS
               if row[f"{c}__present"] - row[f"{c}__num"]}
    sal = {"min": row["salary__min"], "max": row["salary__max"], "avg": row["salary__avg"],
           "count": row["salary__num"]}
    return {"rows": n, "missing": missing, "invalid": invalid, "salary": sal}


def engine_duckdb(path: str) -> dict:
    import duckdb

    con = duckdb.connect()
    t0, c0 = time.perf_counter(), cpu_seconds()
    cur = con.execute(_duckdb_try_cast_query(path))
    row = dict(zip([d[0] for d in cur.description], cur.fetchone()))
    return {"seconds": time.perf_counter() - t0, "cpu": cpu_seconds() - c0, **_duckdb_figures(row)}


def engine_duckdb_summarize(path: str) -> dict:
    import duckdb

    con = duckdb.connect()
    t0, c0 = time.perf_counter(), cpu_seconds()
    summary = con.execute(f"SUMMARIZE SELECT * FROM read_csv('{path}')").fetchall()
    cur = con.execute(_duckdb_try_cast_query(path))
    row = dict(zip([d[0] for d in cur.description], cur.fetchone()))
    secs, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    return {"seconds": secs, "cpu": cpu, "summarized_columns": len(summary), **_duckdb_figures(row)}


def engine_pandas(path: str) -> dict:
    import pandas as pd

    t0, c0 = time.perf_counter(), cpu_seconds()
    df = pd.read_csv(path, na_values=MISSING_TOKENS, keep_default_na=False)
    n = len(df)
    missing, invalid = {}, {}
    salary = None
    for c in COLUMNS:
        col = df[c]
        if col.dtype == object or str(col.dtype).startswith(("str", "string")):
            col = col.str.strip().replace("", None)
        present = int(col.notna().sum())
        if n - present:
            missing[c] = n - present
        if c in NUMERIC_COLUMNS:
            num = pd.to_numeric(col, errors="coerce")
            bad = present - int(num.notna().sum())
            if bad:
                invalid[c] = bad
            if c == "salary":
                salary = {"min": float(num.min()), "max": float(num.max()), "avg": float(num.mean()),
                          "count": int(num.notna().sum())}
    return {"seconds": time.perf_counter() - t0, "cpu": cpu_seconds() - c0, "rows": n, "missing": missing,
            "invalid": invalid, "salary": salary}


ENGINES = {"ours": engine_ours, "duckdb": engine_duckdb,
           "duckdb_summarize": engine_duckdb_summarize, "pandas": engine_pandas}
LABELS = {"ours": "ours (pyarrow, profile_csv)", "duckdb": "duckdb (all_varchar, 1 query)",
          "duckdb_summarize": "duckdb (SUMMARIZE + TRY_CAST)", "pandas": "pandas (read_csv+to_numeric)"}


# --------------------------------------------------------------------------- driver
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_100_000)
    ap.add_argument("--out", type=Path, default=Path("/tmp/etl-bench"))
    ap.add_argument("--engines", default="ours,duckdb,duckdb_summarize,pandas")
    ap.add_argument("--repeat", type=int, default=3, help="rounds per engine; the fastest counts")
    ap.add_argument("--scale-check", action="store_true",
                    help="also profile files 4x smaller and 4x larger with ours (peak RSS must stay flat)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--file", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child:
        res = ENGINES[args.child](args.file)
        emit(res.pop("seconds"), res.pop("cpu"), **res)
        return

    t0 = time.perf_counter()
    path = generate(args.rows, args.out)
    size_mb = path.stat().st_size / 1e6
    print(f"data: {path} ({size_mb:.1f} MB, {args.rows:,} rows; ready in {time.perf_counter() - t0:.1f} s)")
    me = str(Path(__file__).resolve())
    # Rounds interleave the engines so that load from elsewhere hits all of them alike;
    # each engine keeps its fastest round (and the largest peak RSS seen).
    results: dict[str, ChildResult] = {}
    for rnd in range(1, args.repeat + 1):
        for name in args.engines.split(","):
            r = run_child([me, "--child", name, "--file", str(path)])
            print(f"  round {rnd} {name}: {r.seconds:.2f} s, cpu {r.cpu_seconds:.2f} s, "
                  f"peak RSS {r.peak_rss_mb:.0f} MB", flush=True)
            best = results.get(name)
            if best is None or r.seconds < best.seconds:
                r.peak_rss_mb = max(r.peak_rss_mb, best.peak_rss_mb if best else 0)
                results[name] = r
            else:
                best.peak_rss_mb = max(best.peak_rss_mb, r.peak_rss_mb)

    base = min((results[k] for k in ("duckdb", "duckdb_summarize") if k in results),
               key=lambda r: r.seconds, default=None)
    rows = []
    for name, r in results.items():
        rows.append([LABELS[name], f"{r.seconds:.2f}", f"{r.cpu_seconds:.2f}", f"{size_mb / r.seconds:.0f}",
                     f"{r.peak_rss_mb:.0f}",
                     f"{base.seconds / r.seconds:.2f}x" if base else "-",
                     f"{r.peak_rss_mb / base.peak_rss_mb:.2f}x" if base else "-"])
    print()
    print(format_table(["engine", "seconds", "cpu s", "MB/s", "peak RSS MB", "speed vs duckdb",
                        "RSS vs duckdb"], rows))
    print()
    for name, r in results.items():
        print(f"{name:17s} rows={r.payload['rows']} invalid={r.payload['invalid']}")
        print(f"{'':17s} missing={r.payload['missing']}")
        print(f"{'':17s} salary={r.payload['salary']}")

    if args.scale_check and "ours" in results:
        table = []
        for factor in (0.25, 1, 4):
            n = int(args.rows * factor)
            f = generate(n, args.out)
            r = results["ours"] if factor == 1 else run_child([me, "--child", "ours", "--file", str(f)])
            mb = f.stat().st_size / 1e6
            table.append([f.name, f"{n:,}", f"{mb:.1f}", f"{r.seconds:.2f}", f"{mb / r.seconds:.0f}",
                          f"{r.peak_rss_mb:.0f}"])
        print()
        print("scale check (ours): peak RSS must not grow with file size")
        print(format_table(["file", "rows", "MB", "seconds", "MB/s", "peak RSS MB"], table))


if __name__ == "__main__":
    main()
