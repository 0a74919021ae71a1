"""Sample inputs dropped by `etl-platform dev`, so each pipeline runs on first start.

Deterministic, generated here (no data files to ship), and put only when absent so a
restart does not trigger the pipelines again.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from botocore.exceptions import ClientError

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


def sample_objects(settings: Settings) -> dict[tuple[str, str], bytes]:
    names = settings.names
    return {
        (names.csv_data_bucket, f"{settings.profiling.upload_prefix}sales_data.csv"): sales_data_csv(),
    }


def drop_samples(settings: Settings) -> list[str]:
    """Put each sample that is not there yet; returns the URIs put."""
    s3 = client_for(settings, "s3")
    put = []
    for (bucket, key), body in sample_objects(settings).items():
        try:
            s3.head_object(Bucket=bucket, Key=key)
            continue
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in ("404", "NoSuchKey", "NotFound"):
                raise
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        put.append(f"s3://{bucket}/{key}")
    return put
