"""Pipeline B benchmark: NDJSON -> Snappy Parquet, our engine vs DuckDB, side by side.

    .venv/bin/python benchmarks/ndjson_to_parquet.py [--files 200] [--out /tmp/etl-bench] [--repeat 1]

Generates (once, cached under --out) a batch of ~3.5 MB nested NDJSON files with
schema drift across files and ~1 % files with a malformed line, then converts it in
ONE run, each engine in its own subprocess (peak RSS from wait4), in typed and
all-string modes:

* ours:   etl_platform.core.ndjson_parquet.convert_manifest (mode="typed" / "string")
* DuckDB, doing the same job as ours (columns discovered from the data, as a generic
  ingester must: the batch's keys drift from file to file):
    typed:  read_json(..., format='newline_delimited', union_by_name=true, ignore_errors=true)
    string: the same with maximum_depth=1 (every top-level value kept as JSON text) and
            json_extract_string(COLUMNS(*), '$') (strings unquoted, the rest raw JSON text)
  then COPY ... (FORMAT parquet, COMPRESSION snappy, FILE_SIZE_BYTES 128MB)
* DuckDB, string mode handed the batch's column list up front (``duckdb-given``): the
  generator's top-level keys declared VARCHAR, so it skips discovery.  No ingester of
  drifting batches has that list; the row shows what knowing the schema is worth.

and runs our engine again on a quarter of the batch to show that peak RSS does not
grow with the number of files.  The machine is shared: compare the ratios, not MB/s.
DuckDB is not a drop-in equivalent: it merges keys differing only by case (the
batch avoids them), silently turns a malformed line into a row of NULLs under
ignore_errors, and keeps raw JSON text instead of canonical text in string mode.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

from _ndjson_data import ensure_batch, top_level_keys  # noqa: E402


# --------------------------------------------------------------- small self-contained helpers
# (benchmarks/_common.py belongs to another engineer and its API is still moving)

def emit(seconds: float, cpu: float, **payload) -> None:
    """Child side: the timed section, its CPU seconds (all threads) and cross-check figures."""
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, **payload}, default=str), flush=True)


def run_child(argv: list[str]) -> dict:
    """Run ``python argv...``; peak RSS of exactly that child from os.wait4."""
    proc = subprocess.Popen([sys.executable, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.stdout.read(), proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{argv} failed:\n{err.decode(errors='replace')[-3000:]}")
    return {**json.loads(out.decode().strip().splitlines()[-1]), "rss": usage.ru_maxrss / 1024}


def format_table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells):
        return "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def _dir_bytes(d: str) -> int:
    return sum(os.path.getsize(p) for p in glob.glob(os.path.join(d, "**", "*.parquet"), recursive=True))


def child_ours(mode: str, paths: list[str], out: str) -> None:
    from etl_platform.core.ndjson_parquet import SourceFile, convert_manifest
    files = [SourceFile(p, "s3://bench-input/landing/ndjson/2025-12-23/" + os.path.basename(p)) for p in paths]
    start, cpu = time.perf_counter(), time.process_time()
    r = convert_manifest(files, manifest_id="bench-manifest", output_dir=out,
                         rejects_path=os.path.join(out, "rejects.ndjson"), mode=mode)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    emit(seconds, cpu, rows_out=r.rows_out, rejected=r.rejected, parts=len(r.output_files),
         out_bytes=_dir_bytes(out), columns=len(r.schema),
         slow_files=sum(1 for s in r.file_stats if not s["fast_path"]))


def child_duckdb(mode: str, paths: list[str], out: str, given_columns: bool = False) -> None:
    import duckdb
    con = duckdb.connect()
    files = "[" + ",".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"
    opts = "format='newline_delimited', ignore_errors=true"
    if mode == "typed":
        query = f"SELECT * FROM read_json({files}, {opts}, union_by_name=true)"
    elif given_columns:
        cols = "{" + ",".join(f"'{k}': 'VARCHAR'" for k in top_level_keys()) + "}"
        query = f"SELECT * FROM read_json({files}, {opts}, columns={cols})"
    else:
        query = (f"SELECT json_extract_string(COLUMNS(*), '$') "
                 f"FROM read_json({files}, {opts}, union_by_name=true, maximum_depth=1)")
    start, cpu = time.perf_counter(), time.process_time()
    rows = con.execute(f"COPY ({query}) TO '{out}' "
                       "(FORMAT parquet, COMPRESSION snappy, FILE_SIZE_BYTES '128MB')").fetchone()[0]
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    emit(seconds, cpu, rows_out=rows, rejected=None, parts=len(glob.glob(os.path.join(out, "*.parquet"))),
         out_bytes=_dir_bytes(out), columns=None, slow_files=None)


def child_duckdb_given(mode: str, paths: list[str], out: str) -> None:
    child_duckdb(mode, paths, out, given_columns=True)


def child_spark(mode: str, paths: list[str], out: str) -> None:
    """The Glue job's conversion (glue_jobs/ndjson_to_parquet.py) with Spark local[2] on local files."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path.insert(0, os.path.join(root, "glue_jobs"))
    # Spark's Python workers import the job's functions too
    os.environ["PYTHONPATH"] = os.pathsep.join([os.path.join(root, "glue_jobs"), root, os.environ.get("PYTHONPATH", "")])
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from ndjson_to_parquet import build_spark, spark_convert
    spark = build_spark("local[2]")  # JVM start-up is outside the timed section, as on a warm Glue cluster
    start, cpu = time.perf_counter(), time.process_time()
    rows_in, _, rejected, schema, _ = spark_convert(spark, paths, "bench-manifest", mode, os.path.join(out, "parquet"),
                                                 os.path.join(out, "rejects.ndjson"), log=lambda _: None)
    seconds = time.perf_counter() - start
    cpu = float("nan")  # the work runs in the JVM and Python workers, not in this process: not measured
    parts = glob.glob(os.path.join(out, "parquet", "*.parquet"))
    spark.stop()
    emit(seconds, cpu, rows_out=rows_in - rejected, rejected=rejected, parts=len(parts),
         out_bytes=_dir_bytes(out), columns=len(schema), slow_files=None)


def run_engine(engine: str, mode: str, n_files: int, args) -> dict:
    out = os.path.join(args.out, "ndjson_to_parquet-out", f"{engine}-{mode}-{n_files}")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    if engine in ("ours", "spark"):
        os.makedirs(out, exist_ok=True)
    r = run_child([os.path.abspath(__file__), "--child", engine, "--mode", mode,
                   "--files", str(n_files), "--out", args.out, "--child-out", out])
    shutil.rmtree(out, ignore_errors=True)
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--out", default="/tmp/etl-bench")
    ap.add_argument("--repeat", type=int, default=1, help="runs per engine/mode; the median is shown")
    ap.add_argument("--child", choices=["ours", "duckdb", "duckdb-given", "spark"])
    ap.add_argument("--no-spark", action="store_true", help="skip the Spark engine (JVM start, slow)")
    ap.add_argument("--mode", choices=["typed", "string"])
    ap.add_argument("--child-out")
    args = ap.parse_args()

    paths = ensure_batch(args.out, args.files)
    if args.child:
        {"ours": child_ours, "duckdb": child_duckdb, "duckdb-given": child_duckdb_given,
         "spark": child_spark}[args.child](args.mode, paths, args.child_out)
        return

    small = max(1, args.files // 4)
    size = {n: sum(os.path.getsize(p) for p in paths[:n]) for n in (args.files, small)}
    print(f"batch: {args.files} files, {size[args.files] / 1e6:.1f} MB NDJSON under {args.out}/ndjson "
          f"(cpu count {os.cpu_count()}, load avg {os.getloadavg()[0]:.2f})")
    configs = [(e, m, args.files) for m in ("typed", "string") for e in ("ours", "duckdb")]
    configs.append(("duckdb-given", "string", args.files))
    configs += [("ours", m, small) for m in ("typed", "string")]
    if not args.no_spark:
        configs += [("spark", m, args.files) for m in ("typed", "string")]
    runs: dict[tuple, list[dict]] = {c: [] for c in configs}
    for _ in range(args.repeat):            # interleaved, so load drift hits every engine alike
        for c in configs:
            runs[c].append(run_engine(*c, args))
            r = runs[c][-1]
            print(f"  ran {c[0]:12s} {c[1]:6s} {c[2]:4d} files: {r['seconds']:6.2f} s wall, "
                  f"{r['cpu_seconds']:6.2f} s CPU, peak RSS {r['rss']:7.1f} MB", flush=True)

    def med(c, key):
        return statistics.median(r[key] for r in runs[c])

    rows = []
    for c in configs:
        engine, mode, n = c
        secs, cpu, rss = med(c, "seconds"), med(c, "cpu_seconds"), med(c, "rss")
        last = runs[c][-1]
        mbps = size[n] / 1e6 / secs
        if n == args.files:
            d = ("duckdb", mode, n)
            tput = f"{med(d, 'seconds') / secs:.2f}x"
            cpur = f"{med(d, 'cpu_seconds') / cpu:.2f}x"
            rssr = f"{rss / med(d, 'rss'):.2f}x"
            if engine == "spark":   # its work runs in the JVM and Python workers: not measured
                cpur = rssr = "-"
        else:
            tput = cpur = rssr = "-"
        rows.append([engine, mode, str(n), f"{size[n] / 1e6:.0f}", f"{secs:.2f}", f"{mbps:.0f}",
                     f"{size[n] / 1e6 / cpu:.0f}", f"{rss:.0f}", str(last["rows_out"]),
                     str(last["rejected"]), str(last["parts"]), f"{last['out_bytes'] / 1e6:.0f}",
                     tput, cpur, rssr])
    print()
    print(format_table(["engine", "mode", "files", "MB in", "wall s", "MB/s", "MB/cpu-s", "peak RSS MB",
                        "rows out", "rejected", "parts", "MB out", "MB/s vs duckdb",
                        "MB/cpu-s vs duckdb", "RSS vs duckdb"], rows))
    if not args.no_spark:
        print("spark: Spark local[2]; its peak RSS is the Python driver's only (the JVM and the Python "
              "workers are not measured), JVM start-up excluded")
    print()
    for mode in ("typed", "string"):
        big, sm = med(("ours", mode, args.files), "rss"), med(("ours", mode, small), "rss")
        t = (size[args.files] / med(("ours", mode, args.files), "seconds")) / \
            (size[args.files] / med(("duckdb", mode, args.files), "seconds"))
        r = big / med(("duckdb", mode, args.files), "rss")
        print(f"{mode:6s}: throughput {t:.2f}x DuckDB doing the same job (target >= 1.0: {'met' if t >= 1 else 'MISSED'}), "
              f"peak RSS {r:.2f}x DuckDB (target <= 0.5: {'met' if r <= 0.5 else 'MISSED'}), "
              f"ours peak RSS {sm:.0f} MB at {small} files vs {big:.0f} MB at {args.files} files "
              f"({'flat' if big <= sm * 1.15 else 'GROWS'})")
    given = ("duckdb-given", "string", args.files)
    print(f"string: against DuckDB handed the column list up front (no discovery pass), throughput "
          f"{med(given, 'seconds') / med(('ours', 'string', args.files), 'seconds'):.2f}x, "
          f"peak RSS {med(('ours', 'string', args.files), 'rss') / med(given, 'rss'):.2f}x")


if __name__ == "__main__":
    main()
