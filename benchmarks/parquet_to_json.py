"""Parquet -> NDJSON: our columnar encoder vs DuckDB vs pandas, one run, one process each.

    .venv/bin/python benchmarks/parquet_to_json.py [--rows N] [--out DIR]

Generates (and caches under --out) a ~200 MB mixed-type Parquet file, converts
it with each engine in its own subprocess so peak RSS is measured separately,
then converts a 4x larger file with our engine to show memory stays flat.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "benchmarks")]

from _rss import cpu_seconds, report, run_child  # noqa: E402

DEFAULT_ROWS = 3_000_000
CHUNK_ROWS = 1_000_000


def _chunk(rng, start: int, n: int):
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    L = pa.string()
    words = pa.array(["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta",
                      'say "hi"', "back\\slash", "tab\there", "line\nbreak", "café", "naïve",
                      "東京", "emoji 🚀", "plain", "text", "value", "x"], L)
    ids = np.arange(start, start + n, dtype=np.int64)
    ts = 1_700_000_000_000_000 + rng.integers(0, 400 * 86_400_000_000, n)
    valid = rng.random(n) > 0.05
    n_tags = rng.integers(0, 4, n)
    tag_pool = pa.array([f"tag{i}" for i in range(50)], L)
    comment = pc.binary_join_element_wise(
        pc.take(words, rng.integers(0, len(words), n)), pc.take(words, rng.integers(0, len(words), n)),
        pa.array(rng.integers(0, 10**9, n)).cast(L), " ")
    return pa.table({
        "id": ids,
        "user_id": rng.integers(0, 10**12, n),
        "qty": pa.array(rng.integers(-1000, 1000, n).astype(np.int32)),
        "amount": rng.normal(0, 1000, n),
        "ratio": pa.array(rng.random(n).astype(np.float32)),
        "name": pc.binary_join_element_wise("user_", pa.array(rng.integers(0, 10**7, n)).cast(L), ""),
        "comment": pc.if_else(pa.array(valid), comment, pa.scalar(None, L)),
        "event_ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
        "event_date": pa.array((ts // 86_400_000_000).astype(np.int32), pa.date32()),
        "price": _cents(rng.integers(0, 10**9, n)),
        "active": pa.array(rng.random(n) > 0.5, mask=~valid),
        "tags": pa.ListArray.from_arrays(
            pa.array(np.concatenate([[0], np.cumsum(n_tags)]).astype(np.int32)),
            pc.take(tag_pool, rng.integers(0, 50, int(n_tags.sum())))),
        "attrs": pa.StructArray.from_arrays(
            [pc.take(pa.array(["web", "ios", "android"], L), rng.integers(0, 3, n)),
             pa.array(rng.integers(1, 20, n).astype(np.int32)), pa.array(rng.random(n) > 0.1)],
            names=["source", "version", "ok"]),
    })


def _cents(values):
    """decimal128(14, 2) straight from int64 cents (little-endian 128-bit words)."""
    import numpy as np
    import pyarrow as pa

    words = np.stack([values, np.where(values < 0, -1, 0)], axis=1).astype(np.int64)
    return pa.Array.from_buffers(pa.decimal128(14, 2), len(values), [None, pa.py_buffer(words)])


def generate(path: str, rows: int) -> None:
    import numpy as np
    import pyarrow.parquet as pq

    rng = np.random.default_rng(42)
    tmp = path + ".tmp"
    writer = None
    for start in range(0, rows, CHUNK_ROWS):
        table = _chunk(rng, start, min(CHUNK_ROWS, rows - start))
        writer = writer or pq.ParquetWriter(tmp, table.schema, compression="snappy")
        writer.write_table(table, row_group_size=CHUNK_ROWS)
    writer.close()
    os.replace(tmp, path)


def dataset(out_dir: str, rows: int) -> str:
    path = os.path.join(out_dir, f"mixed_{rows}.parquet")
    if not os.path.exists(path):
        print(f"generating {path} ...", flush=True)
        generate(path, rows)
    return path


def engine_main(engine: str, src: str, dst: str) -> None:
    """Child process: one conversion, then report time and peak RSS."""
    if engine == "ours":  # first, so the job module picks Arrow's allocator as on Glue
        from glue_jobs.parquet_to_json import convert, use_system_allocator

        use_system_allocator()  # as the Glue job's main() does
    import pyarrow.parquet as pq

    rows = pq.ParquetFile(src).metadata.num_rows
    started, cpu_started = time.perf_counter(), cpu_seconds()
    if engine == "ours":
        with open(dst, "wb", buffering=0) as sink:
            rows = convert(src, sink)["rows"]
    elif engine == "duckdb":
        import duckdb

        duckdb.sql(f"COPY (SELECT * FROM read_parquet('{src}')) TO '{dst}' (FORMAT json)")
    elif engine == "pandas":
        import pandas as pd

        pd.read_parquet(src).to_json(dst, orient="records", lines=True)
    else:
        raise SystemExit(f"unknown engine {engine}")
    seconds = time.perf_counter() - started
    report({"engine": engine, "rows": rows, "seconds": seconds,
            "work_cpu_seconds": round(cpu_seconds() - cpu_started, 2),
            "bytes_in": os.path.getsize(src), "bytes_out": os.path.getsize(dst)})


def _row(label: str, r: dict, duck: dict | None) -> str:
    rate = r["rows"] / r["seconds"]
    mbps = r["bytes_in"] / r["seconds"] / 1e6
    ratio = f"{(duck['seconds'] / r['seconds']):.2f}x" if duck and r["rows"] == duck["rows"] else "-"
    return (f"{label:<22}{r['rows']:>11,}{r['seconds']:>9.2f}{r['work_cpu_seconds']:>9.2f}"
            f"{rate / 1e6:>10.2f}M{mbps:>9.1f}{r['bytes_out'] / 1e6:>10.0f}"
            f"{r['peak_rss_mb']:>10.0f}{ratio:>10}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    parser.add_argument("--out", default="/tmp/etl-bench")
    parser.add_argument("--skip", nargs="*", default=[], help="engines to skip (e.g. pandas)")
    parser.add_argument("--engine", help=argparse.SUPPRESS)
    parser.add_argument("--src", help=argparse.SUPPRESS)
    parser.add_argument("--dst", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.engine:
        return engine_main(args.engine, args.src, args.dst)

    os.makedirs(args.out, exist_ok=True)
    src = dataset(args.out, args.rows)
    script = os.path.abspath(__file__)
    load_before = os.getloadavg()[0]
    results = {}
    for engine in ("ours", "duckdb", "pandas"):
        if engine in args.skip:
            continue
        dst = os.path.join(args.out, f"out_{engine}.ndjson")
        results[engine] = run_child([script, "--engine", engine, "--src", src, "--dst", dst])
        os.remove(dst)
    big_src = dataset(args.out, args.rows * 4)
    dst = os.path.join(args.out, "out_ours_4x.ndjson")
    results["ours_4x"] = run_child([script, "--engine", "ours", "--src", big_src, "--dst", dst])
    os.remove(dst)

    duck = results.get("duckdb")
    print(f"\ninput: {src} ({os.path.getsize(src) / 1e6:.0f} MB, {args.rows:,} rows, "
          f"{os.cpu_count()} cores; 1-min load average {load_before:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after: other work on the machine slows wall times)")
    print(f"{'engine':<22}{'rows':>11}{'seconds':>9}{'CPU s':>9}{'rows/s':>11}{'MB/s in':>9}"
          f"{'MB out':>10}{'peak RSS':>10}{'vs DuckDB':>10}")
    labels = {"ours": "ours (arrow_json)", "duckdb": "duckdb COPY json",
              "pandas": "pandas to_json", "ours_4x": "ours, 4x larger file"}
    for key, r in results.items():
        print(_row(labels[key], r, duck))
    ours, big = results.get("ours"), results["ours_4x"]
    if ours:
        print(f"\npeak RSS 4x file / 1x file: {big['peak_rss_mb'] / ours['peak_rss_mb']:.2f}x "
              f"(target <= 1.5x); ours peak RSS {ours['peak_rss_mb']:.0f} MB (target < 300 MB)")
    if ours and duck:
        print(f"ours vs DuckDB throughput: {duck['seconds'] / ours['seconds']:.2f}x wall, "
              f"{duck['work_cpu_seconds'] / ours['work_cpu_seconds']:.2f}x CPU (target >= 1.0x)")


if __name__ == "__main__":
    main()
