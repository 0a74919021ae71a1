"""Synthetic NDJSON batch for the pipeline-B benchmark (cached on disk).

Each file holds ~3.5 MB of nested event records (~1.7 KB each) with the drift seen
in real batches: key order shuffled per file, optional fields present in some files
only, ``quantity`` int in most files but float or string in others, nested
``user.geo`` / ``device`` structs with extra or missing keys, ISO timestamps, arrays
of structs, and now and then a malformed line.  Generation is orjson-based and
deterministic (seeded per file), so a cached batch is reused across runs.
"""

from __future__ import annotations

import json
import os
import random

import orjson

TARGET_FILE_BYTES = 3_500_000
_EVENTS = ["page_view", "click", "add_to_cart", "purchase", "refund", "login", "logout", "search"]
_COUNTRIES = ["DE", "FR", "US", "GB", "ES", "IT", "NL", "PL", "SE", "JP", "BR", "IN"]
_OS = ["ios", "android", "windows", "macos", "linux"]
_WORDS = ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi "
          "rho sigma tau upsilon phi chi psi omega").split()


def _record(rng: random.Random, file_idx: int, i: int, variant: dict) -> dict:
    qty = rng.randint(1, 20)
    if variant["qty"] == "float":
        qty = qty + rng.choice([0.0, 0.5, 0.25])
    elif variant["qty"] == "string":
        qty = str(qty)
    geo = {"country": rng.choice(_COUNTRIES), "lat": round(rng.uniform(-80, 80), 6),
           "lon": round(rng.uniform(-180, 180), 6)}
    if variant["geo_city"]:
        geo["city"] = rng.choice(_WORDS).title()
    if variant["geo_no_lon"]:
        del geo["lon"]
    items = [{"sku": f"SKU-{rng.randint(0, 99999):05d}", "qty": rng.randint(1, 5),
              "price": round(rng.uniform(1, 500), 2)} for _ in range(rng.randint(0, 4))]
    rec = {
        "event_id": f"{file_idx:04d}-{i:06d}-{rng.getrandbits(48):012x}",
        "event_type": rng.choice(_EVENTS),
        "ts": f"2025-12-23T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}.{rng.randint(0, 999):03d}Z",
        "user": {"id": rng.randint(1, 10_000_000), "name": f"{rng.choice(_WORDS)} {rng.choice(_WORDS)}",
                 "email": f"user{rng.randint(1, 10**6)}@example.com", "geo": geo,
                 "segments": rng.sample(_WORDS, rng.randint(0, 3))},
        "amount": round(rng.uniform(0, 1000), 2),
        "quantity": qty,
        "currency": rng.choice(["EUR", "USD", "GBP"]),
        "is_test": rng.random() < 0.02,
        "items": items,
        "device": {"os": rng.choice(_OS), "version": f"{rng.randint(1, 17)}.{rng.randint(0, 9)}",
                   "screen": {"w": rng.choice([390, 1080, 1920]), "h": rng.choice([844, 1920, 1080])}},
        "session": {"id": f"s-{rng.getrandbits(40):010x}", "page_count": rng.randint(1, 50),
                    "referrer": rng.choice([None, "google", "newsletter", "direct"])},
        "message": " ".join(rng.choices(_WORDS, k=rng.randint(5, 40))),
        "score": None if rng.random() < 0.3 else round(rng.gauss(50, 15), 3),
    }
    if variant["device_model"]:
        rec["device"]["model"] = f"M{rng.randint(100, 999)}"
    if variant["coupon"]:
        rec["coupon"] = {"code": f"C{rng.randint(1000, 9999)}", "discount_pct": rng.choice([5, 10, 15.5])}
    if variant["experiment"]:
        rec["experiment"] = {"name": rng.choice(_WORDS), "arm": rng.choice(["a", "b"])}
    if variant["labels"]:
        rec["labels"] = {w: rng.randint(0, 9) for w in rng.sample(_WORDS, 3)}
    keys = list(rec)
    if variant["shuffle"]:
        rng.shuffle(keys)
    return {k: rec[k] for k in keys}


def _variant(rng: random.Random) -> dict:
    return {
        "qty": rng.choices(["int", "float", "string"], [0.8, 0.12, 0.08])[0],
        "geo_city": rng.random() < 0.5, "geo_no_lon": rng.random() < 0.1,
        "device_model": rng.random() < 0.4, "coupon": rng.random() < 0.3,
        "experiment": rng.random() < 0.2, "labels": rng.random() < 0.15,
        "shuffle": rng.random() < 0.7,
    }


def write_file(path: str, file_idx: int, target_bytes: int = TARGET_FILE_BYTES) -> int:
    rng = random.Random(1_000_003 * file_idx + 17)
    variant = _variant(rng)
    parts, size, i = [], 0, 0
    lines = max(2, target_bytes // 1700)  # records are ~1.7 KB
    bad_at = rng.randint(min(50, lines - 1), min(1500, lines - 1)) if file_idx % 100 == 7 else -1  # ~1% of files: one bad line
    while size < target_bytes:
        if i == bad_at:
            line = b'{"event_id": "truncated-' + str(file_idx).encode() + b'", "user": {"id": 1'
        else:
            line = orjson.dumps(_record(rng, file_idx, i, variant))
        parts.append(line)
        size += len(line) + 1
        i += 1
    data = b"\n".join(parts) + b"\n"
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    return len(data)


def ensure_batch(out_dir: str, n_files: int) -> list[str]:
    """Create (or reuse) ``n_files`` NDJSON files under ``out_dir/ndjson``; return their paths."""
    d = os.path.join(out_dir, "ndjson")
    os.makedirs(d, exist_ok=True)
    paths = []
    for k in range(n_files):
        p = os.path.join(d, f"data-{k:05d}.ndjson")
        if not os.path.exists(p):
            write_file(p, k)
        paths.append(p)
    return paths


def top_level_keys() -> list[str]:
    """Every top-level key the generator can emit (for DuckDB's all-VARCHAR ``columns``)."""
    return ["event_id", "event_type", "ts", "user", "amount", "quantity", "currency", "is_test",
            "items", "device", "session", "message", "score", "coupon", "experiment", "labels"]


if __name__ == "__main__":  # pragma: no cover
    import sys
    paths = ensure_batch(sys.argv[1] if len(sys.argv) > 1 else "/tmp/etl-bench", int(sys.argv[2]) if len(sys.argv) > 2 else 4)
    print(json.dumps({"files": len(paths), "bytes": sum(os.path.getsize(p) for p in paths)}))
