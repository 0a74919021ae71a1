"""Pipeline B's Glue job before and after its stages were spread over every core (issue 11).

    .venv/bin/python benchmarks/spark_scale_out.py [--files 24] [--master local[2]] [--repeat 3] [--before main]

Converts the same cached batch of ~3.5 MB NDJSON files (benchmarks/_ndjson_data.py) with
`spark_convert` of two versions of glue_jobs/ndjson_to_parquet.py: this checkout's and the
one at git revision --before. Each run is a child process with its own Spark session on
--master; JVM start-up and the Python workers' (a warm-up conversion of two files) are
outside the timed section. Runs are interleaved so that load drift on a shared machine hits
both alike; the median is shown, with the task count of every stage that ran (from Spark's
status tracker) and the output.
Files are local paths: what is measured is the Spark work, not S3.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from _ndjson_data import ensure_batch  # noqa: E402


def stages_since(tracker, first_job: int) -> tuple[list[int], int]:
    """Task counts of the stages that ran in jobs first_job..., and the next job id."""
    stages, job_id = {}, first_job
    while (info := tracker.getJobInfo(job_id)) is not None:
        for stage_id in info.stageIds:
            stage = tracker.getStageInfo(stage_id)
            if stage is not None and stage.numCompletedTasks:
                stages[stage_id] = stage.numTasks
        job_id += 1
    return [tasks for _, tasks in sorted(stages.items())], job_id


def child(script_dir: str, master: str, mode: str, paths: list[str], out: str) -> None:
    sys.path.insert(0, script_dir)
    import ndjson_to_parquet as job

    spark = job.build_spark(master)
    tracker = spark.sparkContext.statusTracker()
    # warm-up: Spark starts its Python workers (they import pyarrow and pandas) on first use
    job.spark_convert(spark, paths[:2], "warm-up", mode, os.path.join(out, "warm-up"), os.path.join(out, "warm-up.ndjson"),
                      log=lambda _: None)
    time.sleep(1)  # the status tracker is fed asynchronously
    _, first_job = stages_since(tracker, 0)
    logged = []  # both versions log once, when the files are parsed and the schema is known
    start = time.perf_counter()
    rows_in, bytes_in, rejected, schema, failed = job.spark_convert(
        spark, paths, "bench-manifest", mode, os.path.join(out, "parquet"), os.path.join(out, "rejects.ndjson"),
        log=lambda _: logged.append(time.perf_counter()))
    seconds = time.perf_counter() - start
    time.sleep(1)
    stages, _ = stages_since(tracker, first_job)
    parts = glob.glob(os.path.join(out, "parquet", "*.parquet"))
    spark.stop()
    print(json.dumps({"seconds": seconds, "parse_seconds": logged[0] - start, "rows_out": rows_in - rejected,
                      "rejected": rejected, "failed": len(failed), "stages": stages, "parts": len(parts),
                      "mb_out": sum(os.path.getsize(p) for p in parts) / 1e6}))


def run(version: str, script_dir: str, args, paths: list[str]) -> dict:
    with tempfile.TemporaryDirectory(prefix="spark-scale-out-") as out:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([script_dir, ROOT]), "PYSPARK_PYTHON": sys.executable,
               "SPARK_LOCAL_IP": "127.0.0.1"}
        done = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", script_dir, "--master", args.master,
                               "--mode", args.mode, "--files", str(args.files), "--out", args.out, "--child-out", out],
                              env=env, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"{version} failed:\n{done.stderr[-3000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=24)
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--mode", choices=["string", "typed"], default="string")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--before", default="main", help="git revision of the version to compare with")
    ap.add_argument("--out", default="/tmp/etl-bench")
    ap.add_argument("--child")
    ap.add_argument("--child-out")
    args = ap.parse_args()
    paths = ensure_batch(args.out, args.files)
    if args.child:
        child(args.child, args.master, args.mode, paths, args.child_out)
        return

    with tempfile.TemporaryDirectory(prefix="spark-before-") as before_dir:
        script = subprocess.run(["git", "-C", ROOT, "show", f"{args.before}:glue_jobs/ndjson_to_parquet.py"],
                                capture_output=True, text=True, check=True).stdout
        with open(os.path.join(before_dir, "ndjson_to_parquet.py"), "w") as handle:
            handle.write(script)
        versions = {f"before ({args.before})": before_dir, "after (this checkout)": os.path.join(ROOT, "glue_jobs")}
        mb_in = sum(os.path.getsize(p) for p in paths) / 1e6
        print(f"{args.files} files, {mb_in:.0f} MB NDJSON, {args.mode} mode, Spark {args.master}, "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
        runs: dict[str, list[dict]] = {v: [] for v in versions}
        for _ in range(args.repeat):
            for version, script_dir in versions.items():
                runs[version].append(run(version, script_dir, args, paths))
                print(f"  {version}: {runs[version][-1]['seconds']:.1f} s", flush=True)
    print()
    for version, results in runs.items():
        seconds = statistics.median(r["seconds"] for r in results)
        parse = statistics.median(r["parse_seconds"] for r in results)
        last = results[-1]
        print(f"{version:24s} {seconds:6.1f} s (schema known after {parse:5.1f} s)  {mb_in / seconds:5.1f} MB/s  "
              f"tasks per stage {last['stages']}  "
              f"rows {last['rows_out']} rejected {last['rejected']}  parts {last['parts']} ({last['mb_out']:.0f} MB)")


if __name__ == "__main__":
    main()
