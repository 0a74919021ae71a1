"""The vectorised profiler against independent computations on generated files:
pandas for the seed's figures, and a slow row-by-row rendering of the documented
rules (Python csv + re + datetime) for everything, messy cells included."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import random
import re

import numpy as np
import pandas as pd
import pytest

from etl_platform.core.csv_profile import profile_csv, profiler

TOKENS = ["NA", "N/A", "n/a", "null", "NULL", "None", "NaN", "#N/A", "-"]


# --------------------------------------------------------------------------- pandas
def realistic_csv(rows: int, seed: int = 7) -> bytes:
    rng = np.random.default_rng(seed)
    first = np.array(["Anna", "Bob", "Chloé", "Dmitri", "Eve", "José"])
    last = np.array(["Smith", "Müller", "O'Neil", "García"])
    age = rng.integers(18, 80, rows).astype(str).astype(object)
    age[rng.random(rows) < 0.05] = ""
    salary = np.round(rng.normal(75_000, 20_000, rows), 2).astype(str).astype(object)
    salary[rng.random(rows) < 0.03] = "n/a"
    salary[rng.random(rows) < 0.02] = "NULL"
    days = rng.integers(0, 15_000, rows)
    join = np.array([str(dt.date(1990, 1, 1) + dt.timedelta(days=int(d))) for d in days], dtype=object)
    join[rng.random(rows) < 0.02] = ""
    score = np.round(rng.random(rows) * 10, 3).astype(str).astype(object)
    score[rng.random(rows) < 0.04] = "NaN"
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["name", "age", "salary", "join_date", "score"])
    names = [f"{a} {b}" for a, b in zip(first[rng.integers(0, 6, rows)], last[rng.integers(0, 4, rows)])]
    w.writerows(zip(names, age, salary, join, score))
    return out.getvalue().encode()


def test_matches_pandas_on_a_realistic_file():
    data = realistic_csv(4000)
    got = profile_csv(io.BytesIO(data))
    df = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False).astype(object)
    n = len(df)
    assert got["row_count"] == n == 4000
    assert got["schema"] == {"name": "string", "age": "int", "salary": "float", "join_date": "date",
                             "score": "float"}
    for col in df.columns:
        cells = df[col].str.strip()
        missing = int(cells.isin(TOKENS + [""]).sum())
        reported = got["quality_issues"]["missing_values"].get(col, {"count": 0})
        assert reported["count"] == missing, col
        if missing:
            assert reported["percentage"] == round(100 * missing / n, 2)
    for col in ["age", "salary", "score"]:
        num = pd.to_numeric(df[col].where(~df[col].isin(TOKENS + [""])), errors="coerce").dropna()
        stats = got["statistics"][col]
        assert stats["count"] == len(num)
        assert stats["min"] == num.min() and stats["max"] == num.max()
        assert stats["avg"] == pytest.approx(num.mean(), rel=1e-12)
    dates = pd.to_datetime(df["join_date"], format="%Y-%m-%d", errors="coerce").dropna()
    assert got["statistics"]["join_date"] == {
        "min": dates.min().strftime("%Y-%m-%d"), "max": dates.max().strftime("%Y-%m-%d"), "count": len(dates)}
    assert type(got["statistics"]["age"]["min"]) is int
    assert got["quality_issues"]["invalid_values"] == {}


# --------------------------------------------------------------------------- reference rules
_A = re.ASCII
INT_RE = re.compile(r"[+-]?\d{1,18}", _A)
FLOAT_RE = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", _A)
TIME = r"(?:[T ](?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?)?"
DATE_RES = [  # pattern, order of (year, month, day) groups
    (re.compile(r"(\d{4})-(\d\d)-(\d\d)" + TIME, _A), (0, 1, 2)),
    (re.compile(r"(\d{4})/(\d\d)/(\d\d)", _A), (0, 1, 2)),
    (re.compile(r"(\d\d)\.(\d\d)\.(\d{4})", _A), (2, 1, 0)),
    (re.compile(r"(\d\d)/(\d\d)/(\d{4})", _A), (2, 0, 1)),
]


def ref_kind(cell: str):
    s = cell.strip(" \t\n\r\x0b\x0c")
    if s == "" or s in TOKENS:
        return "missing", None
    if INT_RE.fullmatch(s):
        return "int", int(s)
    if FLOAT_RE.fullmatch(s):
        v = float(s)
        return ("float", v) if math.isfinite(v) else ("other", None)
    for pattern, (yi, mi, di) in DATE_RES:
        m = pattern.fullmatch(s)
        if m:
            g = [int(x) for x in m.groups()]
            try:
                return "date", dt.date(g[yi], g[mi], g[di])
            except ValueError:
                return "other", None
    return "other", None


def ref_profile(text: str, delimiter: str, max_examples: int = 5) -> dict:
    records = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) if r]
    header, rows = records[0], records[1:]
    width = len(header)
    ragged = [i for i, r in enumerate(rows, 1) if len(r) != width]
    n = len(rows)
    schema, stats, missing, invalid = {}, {}, {}, {}
    for c, name in enumerate(header):
        kinds = [ref_kind(r[c] if c < len(r) else "") for r in rows]
        count = {k: sum(1 for kd, _ in kinds if kd == k) for k in ("missing", "int", "float", "date", "other")}
        present = n - count["missing"]
        if present and count["int"] * 100 >= 90 * present:
            t, valid = "int", {"int"}
        elif present and (count["int"] + count["float"]) * 100 >= 90 * present:
            t, valid = "float", {"int", "float"}
        elif present and count["date"] * 100 >= 90 * present:
            t, valid = "date", {"date"}
        else:
            t, valid = "string", {"int", "float", "date", "other"}
        schema[name] = t
        values = [v for kd, v in kinds if kd in valid]
        if t in ("int", "float"):
            conv = int if t == "int" else float
            stats[name] = {"min": conv(min(values)), "max": conv(max(values)),
                           "avg": sum(values) / len(values), "count": len(values)}
        elif t == "date":
            stats[name] = {"min": min(values).isoformat(), "max": max(values).isoformat(), "count": len(values)}
        if count["missing"]:
            missing[name] = {"count": count["missing"], "percentage": round(100 * count["missing"] / n, 2)}
        bad = [{"row": i, "value": r[c]} for i, ((kd, _), r) in enumerate(zip(kinds, rows), 1)
               if kd != "missing" and kd not in valid]
        if bad:
            invalid[name] = {"count": len(bad), "percentage": round(100 * len(bad) / n, 2),
                             "examples": bad[:max_examples]}
    quality = {"total_rows": n, "has_issues": bool(missing or invalid or ragged),
               "missing_values": missing, "invalid_values": invalid}
    if ragged:
        quality["ragged_rows"] = {"count": len(ragged), "examples": ragged[:max_examples]}
    return {"row_count": n, "columns": header, "schema": schema, "statistics": stats, "quality_issues": quality}


def messy_csv(rows: int, delimiter: str, seed: int) -> str:
    rnd = random.Random(seed)
    pick = rnd.choice

    def date_cell() -> str:
        d = dt.date(1950, 1, 1) + dt.timedelta(days=rnd.randrange(40_000))
        return pick([d.isoformat(), d.strftime("%Y/%m/%d"), d.strftime("%d.%m.%Y"), d.strftime("%m/%d/%Y"),
                     d.isoformat() + "T12:34:56", d.isoformat() + " 01:02:03.5Z"])

    generators = {
        "id": lambda i: str(i),
        "name": lambda i: pick(["Ann", 'Bo "B" Smith', "a, b; c | d", "multi\nline", "Zoë", " padded ", "Eve",
                                "Max", "1.2.3", "42", "-7.5e3", "+8"]),  # few number-like: packed path
        "age": lambda i: pick([str(rnd.randrange(18, 90))] * 40 + ["", " ", "NA", "n/a", "42.5", "x", " 33 "]),
        "salary": lambda i: pick([f"{rnd.uniform(-1e3, 2e5):.2f}"] * 100
                                 + [str(rnd.randrange(10**5)), "1,000", "1e3", "-.5", "inf", "NaN", "", "#N/A",
                                    "1.2.3", "1-2", "1e", "+-1", "+", "."]),  # float alphabet, not floats
        "when": lambda i: pick([date_cell()] * 100 + ["2023-02-29", "31/12/2023", "2024-13-01", "-", "soon",
                                                      "2024-01-01T24:00:00", "12345"]),
        "code": lambda i: pick([str(rnd.randrange(-10**6, 10**6))] * 20
                               + ["+17", "007", "1234567890123456789", "9" * 18, "-"]),
        "mixed": lambda i: pick(["1", "2.5", "2024-01-01", "text", "None", ""]),
    }
    out = io.StringIO()
    w = csv.writer(out, delimiter=delimiter, lineterminator=pick(["\n", "\r\n"]))
    w.writerow(generators)
    for i in range(1, rows + 1):
        row = [g(i) for g in generators.values()]
        roll = rnd.random()
        if roll < 0.01:
            row = row[: rnd.randrange(1, len(row))]  # too few fields
        elif roll < 0.02:
            row += ["extra"] * rnd.randrange(1, 3)  # too many
        w.writerow(row)
    return out.getvalue()


def _approx_avgs(profile: dict) -> dict:
    for s in profile["statistics"].values():
        if "avg" in s:
            s["avg"] = pytest.approx(s["avg"], rel=1e-9)
    return profile


@pytest.mark.parametrize("delimiter, seed, block, group", [(",", 1, 1 << 20, 4), (";", 2, 8192, 1),
                                                            ("\t", 3, 4096, 3), ("|", 4, 16384, 2)])
def test_matches_reference_rules_on_a_messy_file(monkeypatch, delimiter, seed, block, group):
    monkeypatch.setattr(profiler, "BLOCK_SIZE", block)  # small blocks: many batches
    monkeypatch.setattr(profiler, "GROUP_BATCHES", group)
    monkeypatch.setattr(profiler, "RAGGED_FLUSH_ROWS", 5)
    text = messy_csv(3000, delimiter, seed)
    got = profile_csv(io.BytesIO(text.encode()))
    expected = ref_profile(text, delimiter)
    assert got["dialect"]["delimiter"] == delimiter
    got.pop("dialect")
    assert got == _approx_avgs(expected)
    # The file is meant to exercise every rule; make sure it did.
    q = got["quality_issues"]
    assert q["ragged_rows"]["count"] > 0
    assert set(q["invalid_values"]) >= {"age", "salary", "when"}
    assert got["schema"]["when"] == "date" and got["schema"]["mixed"] == "string"
    assert got["schema"]["code"] == "int" and got["schema"]["salary"] == "float"


def test_profile_does_not_depend_on_batch_boundaries(monkeypatch):
    data = messy_csv(2000, ",", 5).encode()
    whole = profile_csv(io.BytesIO(data))
    monkeypatch.setattr(profiler, "BLOCK_SIZE", 2048)
    monkeypatch.setattr(profiler, "RAGGED_FLUSH_ROWS", 3)
    # Per-batch float sums round differently with other batch sizes: averages may
    # differ in the last bits, everything else must be identical.
    assert profile_csv(io.BytesIO(data)) == _approx_avgs(whole)
