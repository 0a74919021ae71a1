"""Pipeline B under load: land N files into the running local stack and time them to Parquet.

    .venv/bin/python benchmarks/ingest_load.py                      # 5,000 files of ~110 KB
    .venv/bin/python benchmarks/ingest_load.py --files 400 --kb 3500  # the seeds' 3-4 MB files
    .venv/bin/python benchmarks/ingest_load.py --files 1000 --files 5000  # flatness in N

Each scenario starts its own stack, as `etl-platform dev` does, with the default
thresholds (200 files or 700 MB per manifest): the embedded AWS as a real process
(journal on), and the real `dagster-daemon` (sensors, run queue, run workers). Files are
landed by a thread pool as fast as the emulator takes them; each goes S3 -> event ->
SQS -> validation -> tracking -> manifest run -> Parquet. The benchmark watches the
tracking table and reports:

- files/s and MB/s from the first landing to the last file in Parquet (sustained rate);
- p50/p95 latency from a file's landing to its `completed` record;
- DynamoDB, S3 and SQS requests per file, and DynamoDB items read/written per file as
  AWS bills them (the emulator's counters, `/_etl/requests`, reset after provisioning);
- the file-events sensor's tick durations (from Dagster's tick history);
- peak RSS of the whole stack (emulator + daemon + every run and step process), sampled;
- exactly once: every landed file completed, every input row in Parquet once (the
  outputs' `_source_file` column), rejected lines counted.

Side by side, in the same run: DuckDB converting the same files from local disk into
Parquet in one statement (no S3, no tracking, no orchestration): the upper bound of the
conversion alone on this machine. The platform's rate is reported as a ratio to it.
The data is benchmarks/_ndjson_data.py's nested, drifting event records (not the tests'
data), ~1 % of files with a malformed line. Never a timing assertion in a test: this is
the place for times.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from _ndjson_data import write_file  # noqa: E402
from etl_platform.aws import client_for  # noqa: E402
from etl_platform.config import Settings  # noqa: E402
from etl_platform.local import emulator  # noqa: E402
from etl_platform.local.devstack import dagster_commands, dagster_environment  # noqa: E402
from etl_platform.local.request_counts import BY_TARGET, dynamodb_totals  # noqa: E402
from etl_platform_tests.helpers import free_port  # noqa: E402

DATE = datetime.now(timezone.utc).date().isoformat()
SENSOR = "ndjson_file_events_sensor"


def make_files(cache: Path, count: int, kb: int) -> list[Path]:
    """`count` NDJSON files of about `kb` KB (cached: generated once per size)."""
    folder = cache / f"{kb}kb"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        path = folder / f"event-{index:05d}.ndjson"
        if not path.exists():
            write_file(str(path), index, target_bytes=kb * 1024)
        paths.append(path)
    return paths


class RssSampler(threading.Thread):
    """Peak of the summed RSS of the processes under `roots` (and their children)."""

    def __init__(self, roots: list[int], interval: float = 0.5):
        super().__init__(daemon=True)
        self.roots, self.interval, self.peak_mb, self._done = roots, interval, 0.0, threading.Event()

    def run(self) -> None:
        while not self._done.wait(self.interval):
            total = 0
            for pid in self.roots:
                try:
                    root = psutil.Process(pid)
                    for process in [root, *root.children(recursive=True)]:
                        total += process.memory_info().rss
                except psutil.Error:
                    continue
            self.peak_mb = max(self.peak_mb, total / 2**20)

    def stop(self) -> float:
        self._done.set()
        self.join()
        return self.peak_mb


class CpuMeter:
    """CPU seconds the emulator used, and the machine's CPU busy share, from now to `stop`:
    the emulator is one Python process (one interpreter lock), so 1 s / its CPU time per
    file bounds the rate this machine can reach whatever the pipeline does."""

    def __init__(self, emulator_pid: int) -> None:
        self.process = psutil.Process(emulator_pid)
        self.start_emulator = sum(self.process.cpu_times()[:2])
        self.start_machine = psutil.cpu_times()
        self.load: list[float] = []
        self._done = threading.Event()
        threading.Thread(target=self._sample_load, daemon=True).start()

    def _sample_load(self) -> None:
        while not self._done.wait(5):
            self.load.append(psutil.getloadavg()[0])

    def stop(self) -> dict[str, float]:
        self._done.set()
        machine = psutil.cpu_times()
        busy = sum(getattr(machine, f) - getattr(self.start_machine, f) for f in ("user", "system", "nice", "irq", "softirq"))
        idle = sum(getattr(machine, f) - getattr(self.start_machine, f) for f in ("idle", "iowait"))
        return {"emulator_cpu_s": sum(self.process.cpu_times()[:2]) - self.start_emulator,
                "machine_busy": busy / max(busy + idle, 1e-6),
                "load_avg_max": max(self.load, default=psutil.getloadavg()[0])}


def cpu_figures(used: dict[str, float], files: int) -> dict[str, float]:
    per_file_ms = 1000 * used["emulator_cpu_s"] / max(files, 1)
    return {"emulator_cpu_s": round(used["emulator_cpu_s"], 1), "emulator_cpu_ms_per_file": round(per_file_ms, 1),
            "emulator_bound_files_per_s": round(1000 / per_file_ms, 1) if per_file_ms else None,
            "machine_cpu_busy_pct": round(100 * used["machine_busy"]), "load_avg_1m_max": round(used["load_avg_max"], 1)}


def set_glue_pool(settings: Settings, limit: int) -> None:
    """B's Glue pool (the limit on concurrent manifest runs, 1 in dev) set to `limit`: how the
    rate moves when manifests may convert side by side."""
    from dagster import DagsterInstance

    from etl_platform.concurrency import glue_pool
    with DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        instance.event_log_storage.set_concurrency_slots(glue_pool(settings.names.ndjson_glue_job), limit)


def land(settings: Settings, paths: list[Path], threads: int) -> dict[str, float]:
    """Put every file under today's landing prefix; file key -> time its PUT was answered."""
    s3 = client_for(settings, "s3")
    bucket = settings.names.ndjson_input_bucket
    landed: dict[str, float] = {}

    def put(path: Path) -> None:
        s3.put_object(Bucket=bucket, Key=f"{settings.ingestion.landing_prefix}{DATE}/{path.name}",
                      Body=path.read_bytes())
        landed[path.name] = time.time()

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(put, paths))
    return landed


def completed_at(settings: Settings) -> dict[str, float]:
    """File key -> when its record says it completed (tracking table, consistent reads).
    Read once, after the counters were taken."""
    done: dict[str, float] = {}
    for page in _date_pages(settings):
        for item in page["Items"]:
            if item.get("status", {}).get("S", "").startswith("completed#"):
                stamp = item["updated_at"]["S"].replace("Z", "+00:00")
                done[item["file_key"]["S"]] = datetime.fromisoformat(stamp).timestamp()
    return done


class CompletionWatch:
    """How many files have completed, polled while the pipeline runs. A COUNT query: the
    emulator serializes no items (a full read of a 5,000-file date every 2 s was a third of
    the emulator's time, and most of the items read per file in the first report), and the
    watch's own requests and items are taken out of the counters (`own_cost`)."""

    def __init__(self, settings: Settings) -> None:
        self.settings, self.requests, self.items_read = settings, 0, 0

    def completed(self) -> int:
        count = 0
        for page in _date_pages(self.settings, Select="COUNT", FilterExpression="begins_with(#s, :c)",
                                ExpressionAttributeNames={"#s": "status"}, completed={"S": "completed#"}):
            self.requests += 1
            self.items_read += int(page["ScannedCount"])
            count += int(page["Count"])
        return count

    def own_cost(self, counts: dict) -> dict:
        """`counts` (the emulator's) without this watch's queries."""
        counts = json.loads(json.dumps(counts))
        table = self.settings.names.tracking_table
        for entry in (counts.get("dynamodb", {}).get("Query"), counts.get(BY_TARGET, {}).get(f"Query {table}")):
            if entry:
                entry["requests"] -= self.requests
                entry["items_read"] -= self.items_read
        return counts


def _date_pages(settings: Settings, completed: dict | None = None, **extra):  # type: ignore[no-untyped-def]
    table = client_for(settings, "dynamodb")
    values = {":d": {"S": DATE}, **({":c": completed} if completed else {})}
    kwargs = {"TableName": settings.names.tracking_table, "ConsistentRead": True,
              "KeyConditionExpression": "date_prefix = :d", "ExpressionAttributeValues": values, **extra}
    while True:
        page = table.query(**kwargs)
        yield page
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def output_rows(settings: Settings) -> tuple[int, int]:
    """(rows in today's Parquet outputs, distinct source files among them): footers and
    one column only."""
    s3 = client_for(settings, "s3")
    bucket = settings.names.parquet_output_bucket
    rows, sources = 0, set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"output/merged-parquet-{DATE}/"):
        for obj in page.get("Contents", []):
            body = io.BytesIO(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read())
            column = pq.read_table(body, columns=["_source_file"]).column(0)
            rows += len(column)
            sources.update(column.unique().to_pylist())
    return rows, len(sources)


def rejected_lines(settings: Settings) -> int:
    table = client_for(settings, "dynamodb")
    items = table.query(TableName=settings.names.tracking_table, ConsistentRead=True,
                        KeyConditionExpression="date_prefix = :d AND begins_with(file_key, :m)",
                        ExpressionAttributeValues={":d": {"S": DATE}, ":m": {"S": "MANIFEST#"}})["Items"]
    return sum(int(i.get("rejected", {}).get("N", "0")) for i in items)


def tick_durations(dagster_home: Path) -> list[float]:
    from dagster import DagsterInstance

    os.environ["DAGSTER_HOME"] = str(dagster_home)
    with DagsterInstance.get() as instance:
        durations = []
        for state in instance.all_instigator_state():
            if state.name != SENSOR:
                continue
            for tick in instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=100_000):
                if tick.end_timestamp:
                    durations.append(tick.end_timestamp - tick.timestamp)
        return durations


def duckdb_rate(paths: list[Path], scratch: Path) -> float:
    """Files/s of DuckDB converting the same files from local disk in one statement."""
    code = (
        "import duckdb, sys, time; files = sys.argv[1:-1]; duckdb.sql('SET enable_progress_bar = false');"
        "t = time.perf_counter();"
        "duckdb.sql(f\"COPY (SELECT * FROM read_json({files!r}, format='newline_delimited', union_by_name=true,"
        " ignore_errors=true, maximum_depth=1)) TO '{sys.argv[-1]}' (FORMAT parquet, COMPRESSION snappy)\");"
        "print(time.perf_counter() - t)")
    target = scratch / "duckdb.parquet"
    seconds = float(subprocess.run([sys.executable, "-c", code, *map(str, paths), str(target)],
                                   check=True, capture_output=True, text=True).stdout.split()[-1])
    return len(paths) / seconds


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def scenario(files: int, kb: int, threads: int, cache: Path, timeout: float, glue_runs: int | None = None) -> dict:
    paths = make_files(cache, files, kb)
    total_mb = sum(p.stat().st_size for p in paths) / 2**20
    lines = sum(p.read_bytes().count(b"\n") for p in paths)
    root = Path(tempfile.mkdtemp(prefix="ingest-load-"))
    settings = Settings(state_dir=root / "state")
    state = emulator.up(settings, port=free_port(), snapshot_interval=3600)
    live = state.live_settings(settings)
    daemon = None
    try:
        env = dagster_environment(live, state.endpoint)
        if glue_runs:
            set_glue_pool(live, glue_runs)
        daemon = subprocess.Popen(dagster_commands(live)["dagster-daemon"], env=env, cwd=ROOT,
                                  stdout=open(root / "daemon.log", "wb"), stderr=subprocess.STDOUT,
                                  start_new_session=True)
        sampler = RssSampler([state.pid, daemon.pid])
        sampler.start()
        emulator.request_counts(state.endpoint, reset=True)  # provisioning is not the pipeline's cost
        cpu = CpuMeter(state.pid)
        started = time.time()
        landed = land(live, paths, threads)
        landing_seconds = time.time() - started
        watch = CompletionWatch(live)
        while time.time() - started < timeout and watch.completed() < files:
            time.sleep(5)  # moto reads a whole table per Query: the watch polls gently
        counts = watch.own_cost(emulator.request_counts(state.endpoint))
        used = cpu.stop()
        peak_rss = sampler.stop()
        done = completed_at(live)
        finished = max(done.values()) if done else time.time()
        rows, sources = output_rows(live)
        rejected = rejected_lines(live)
        latencies = [done[k] - landed[k] for k in done if k in landed]
        seconds = max(finished - started, 1e-6)
        return {
            "files": files, "file_kb": kb, "input_mb": round(total_mb, 1), "completed": len(done),
            "landing_s": round(landing_seconds, 1), "seconds": round(seconds, 1),
            "files_per_s": round(len(done) / seconds, 1), "mb_per_s": round(total_mb * len(done) / files / seconds, 1),
            "latency_p50_s": round(percentile(latencies, 0.5), 1) if latencies else None,
            "latency_p95_s": round(percentile(latencies, 0.95), 1) if latencies else None,
            "requests_per_file": per_file(counts, max(len(done), 1)),
            "ticks": tick_summary(tick_durations(live.dagster_home)),
            "peak_rss_mb": round(peak_rss),
            "glue_pool": glue_runs or live.ingestion.max_concurrent_glue_runs,
            **cpu_figures(used, len(done)),
            "input_lines": lines, "output_rows": rows, "distinct_sources": sources, "rejected_lines": rejected,
            "exactly_once": len(done) == files and sources == files and rows + rejected == lines,
            "duckdb_files_per_s": round(duckdb_rate(paths, root), 1),
        }
    finally:
        if daemon is not None:
            daemon.terminate()
            try:
                daemon.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(daemon.pid, 9)
        emulator.down(settings)
        shutil.rmtree(root, ignore_errors=True)


def per_file(counts: dict, files: int) -> dict:
    """The emulator's counters (`/_etl/requests`) per completed file: requests per service and
    per operation, and DynamoDB items read and written as AWS bills them."""
    figures: dict = {}
    for service, operations in sorted(counts.items()):
        if not isinstance(operations, dict) or service == BY_TARGET:
            continue
        total = sum(entry.get("requests", 0) for entry in operations.values())
        figures[f"{service}_requests"] = round(total / files, 3)
        figures[f"{service}_by_operation"] = {name: round(entry.get("requests", 0) / files, 3)
                                              for name, entry in sorted(operations.items()) if entry.get("requests")}
    dynamo = dynamodb_totals(counts)
    figures["dynamodb_items_read"] = round(dynamo["items_read"] / files, 3)
    figures["dynamodb_items_read_by_target"] = {name: round(entry.get("items_read", 0) / files, 3)
                                                for name, entry in sorted(counts.get(BY_TARGET, {}).items())}
    figures["dynamodb_items_written"] = round(dynamo["items_written"] / files, 3)
    return figures


def tick_summary(durations: list[float]) -> dict[str, float]:
    if not durations:
        return {"count": 0}
    return {"count": len(durations), "p50_s": round(statistics.median(durations), 2),
            "p95_s": round(percentile(durations, 0.95), 2), "max_s": round(max(durations), 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, action="append", help="files per scenario (repeat for several)")
    parser.add_argument("--kb", type=int, default=110, help="size of each file in KB (>= 100: the seed's minimum)")
    parser.add_argument("--threads", type=int, default=16, help="landing threads")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "etl-bench-load")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait for every file")
    parser.add_argument("--glue-runs", type=int, help="B's Glue pool (concurrent manifest runs; dev default 1)")
    args = parser.parse_args()
    for files in args.files or [5000]:
        result = scenario(files, args.kb, args.threads, args.cache, args.timeout, args.glue_runs)
        result["ratio_to_duckdb"] = round(result["files_per_s"] / result["duckdb_files_per_s"], 3)
        print(json.dumps(result, indent=1), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
