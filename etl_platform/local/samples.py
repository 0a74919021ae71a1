"""Sample inputs dropped by `etl-platform dev`, so each pipeline runs on first start.

Deterministic, generated here (no data files to ship), and put only when absent so a
restart does not trigger the pipelines again.
"""

from __future__ import annotations

import io
import json
import os
import random
from datetime import date, timedelta
from functools import partial
from typing import Callable

import pyarrow as pa
import pyarrow.parquet as pq

from etl_platform.aws import client_for
from etl_platform.config import Settings

FIRST_NAMES = ["Ana", "Bruno", "Chloé", "Dmitri", "Emeka", "Fatima", "Giulia", "Hiro", "Ines", "Jonas"]


def sales_data_csv(rows: int = 200) -> bytes:
    """Seed 004's example columns, with a few missing salaries and one invalid age."""
    rng = random.Random(4)
    lines = ["name,age,salary,join_date"]
    for i in range(rows):
        age = str(rng.randint(22, 65)) if i != 17 else "forty"
        salary = "" if i % 50 == 7 else f"{rng.uniform(40_000, 150_000):.2f}"
        joined = date(2015, 1, 1) + timedelta(days=rng.randint(0, 3650))
        lines.append(f"{FIRST_NAMES[i % len(FIRST_NAMES)]} {i},{age},{salary},{joined.isoformat()}")
    return ("\n".join(lines) + "\n").encode()


def orders_parquet(rows: int = 100) -> bytes:
    """Flat and nested columns, for pipeline A's first conversion job."""
    rng = random.Random(1)
    table = pa.table({
        "order_id": pa.array(range(1, rows + 1), pa.int64()),
        "customer": [FIRST_NAMES[i % len(FIRST_NAMES)] for i in range(rows)],
        "ordered_on": [date(2024, 1, 1) + timedelta(days=rng.randint(0, 365)) for _ in range(rows)],
        "total": [round(rng.uniform(5, 500), 2) for _ in range(rows)],
        "items": [[{"sku": f"SKU-{rng.randint(1, 50):03d}", "quantity": rng.randint(1, 4)}
                   for _ in range(rng.randint(1, 3))] for _ in range(rows)],
    })
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


SAMPLE_LANDING_DATE = "2025-12-23"


def landing_ndjson(index: int, min_bytes: int) -> bytes:
    """One landed NDJSON file of pipeline B: nested events, just above the minimum size."""
    rng = random.Random(index)
    lines, size = [], 0
    while size < min_bytes + 1024:
        event = {
            "event_id": f"evt-{index:03d}-{len(lines):05d}",
            "type": rng.choice(["view", "click", "purchase"]),
            "user": {"id": rng.randint(1, 5000), "country": rng.choice(["DE", "FR", "US", "JP"])},
            "amount": round(rng.uniform(1, 300), 2) if rng.random() < 0.3 else None,
            "tags": [rng.choice("abcdef") for _ in range(rng.randint(0, 3))],
        }
        line = json.dumps(event)
        lines.append(line)
        size += len(line) + 1
    return ("\n".join(lines) + "\n").encode()


def sample_objects(settings: Settings) -> dict[tuple[str, str], Callable[[], bytes]]:
    """(bucket, key) -> body factory; bodies are built only for samples that are missing."""
    names = settings.names
    samples: dict[tuple[str, str], Callable[[], bytes]] = {
        (names.csv_data_bucket, f"{settings.profiling.upload_prefix}sales_data.csv"): sales_data_csv,
        (names.jobs_input_bucket, f"{settings.jobs.drop_prefix}sample_orders.parquet"): orders_parquet,
    }
    # A full manifest's worth of files, so pipeline B converts one batch right away.
    landing = f"{settings.ingestion.landing_prefix}{SAMPLE_LANDING_DATE}/"
    for index in range(settings.ingestion.manifest_max_files):
        samples[(names.ndjson_input_bucket, f"{landing}sample-{index:03d}.ndjson")] = partial(
            landing_ndjson, index, settings.ingestion.file_min_bytes)
    return samples


def drop_samples(settings: Settings) -> list[str]:
    """Put each sample that is not there yet; returns the URIs put."""
    s3 = client_for(settings, "s3")
    samples = sample_objects(settings)
    present = set()
    for bucket in {bucket for bucket, _ in samples}:  # one listing per bucket, not a HEAD per sample
        keys = [key for b, key in samples if b == bucket]
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=os.path.commonprefix(keys))
        present |= {(bucket, o["Key"]) for page in pages for o in page.get("Contents", [])}
    put = []
    for (bucket, key), body in samples.items():
        if (bucket, key) not in present:
            s3.put_object(Bucket=bucket, Key=key, Body=body())
            put.append(f"s3://{bucket}/{key}")
    return put
