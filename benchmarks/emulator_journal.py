"""What the emulator's write-ahead journal (etl_platform/local/journal.py) costs a request.

Starts the emulator as a real process three times (journal off, journal without fsync,
journal with fsync per request group) and measures small writes per second from a few
client threads: S3 put_object of 1 KiB objects into the versioned landing bucket (each
also sends an S3 event to SQS), and DynamoDB put_item into the tracking table.

    .venv/bin/python benchmarks/emulator_journal.py [--seconds 10] [--threads 4]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from etl_platform.aws import make_client  # noqa: E402
from etl_platform_tests.helpers import free_port, wait_for_http  # noqa: E402

LANDING = "ndjson-parquet-input-dev-123456789012"
TRACKING = "ndjson-parquet-sqs-file-tracking-dev"


def start(state: Path, port: int, env: dict[str, str]) -> subprocess.Popen:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ETL_")}
    environment.update(ETL_STATE_DIR=str(state), ETL_MODE="local", **env)
    process = subprocess.Popen(
        [sys.executable, "-m", "etl_platform.local.server", "--state-dir", str(state), "--port", str(port),
         "--snapshot-interval", "3600"],
        env=environment, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while not (state / "emulator.json").exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the emulator did not start")
        time.sleep(0.2)
    wait_for_http(f"http://127.0.0.1:{port}/moto-api/", timeout=30)
    return process


def rate(port: int, seconds: float, threads: int, op: str) -> float:
    stop, counts = threading.Event(), [0] * threads

    def work(index: int) -> None:
        endpoint = f"http://127.0.0.1:{port}"
        s3 = make_client("s3", region="us-east-1", endpoint_url=endpoint)
        dynamodb = make_client("dynamodb", region="us-east-1", endpoint_url=endpoint)
        n = 0
        while not stop.is_set():
            n += 1
            if op == "s3":
                s3.put_object(Bucket=LANDING, Key=f"landing/ndjson/2026-04-01/t{index}-{n % 50}.ndjson", Body=b"x" * 1024)
            else:
                dynamodb.put_item(TableName=TRACKING, Item={"date_prefix": {"S": "2026-04-01"},
                                                             "file_key": {"S": f"t{index}-{n}"}, "status": {"S": "pending"}})
            counts[index] += 1

    pool = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in pool:
        thread.join()
    return sum(counts) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    modes = {"off": {"ETL_EMULATOR_JOURNAL": "0"}, "no-fsync": {"ETL_EMULATOR_JOURNAL_FSYNC": "0"}, "fsync": {}}
    results = {}
    for name, env in modes.items():
        with tempfile.TemporaryDirectory() as tmp:
            port = free_port()
            process = start(Path(tmp) / "state", port, env)
            try:
                results[name] = {op: round(rate(port, args.seconds, args.threads, op), 1) for op in ("s3", "dynamodb")}
            finally:
                process.terminate()
                process.wait(timeout=120)
        print(f"{name:9} put_object/s {results[name]['s3']:8}   put_item/s {results[name]['dynamodb']:8}", flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
