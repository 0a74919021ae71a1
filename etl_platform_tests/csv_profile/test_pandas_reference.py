"""The profiler against an independent pandas computation, on several realistic CSVs
(different delimiters, encodings, date formats, missing tokens and invalid cells)."""

import csv
import datetime as dt
import io

import numpy as np
import pandas as pd
import pytest

from etl_platform.core.csv_profile import profile_csv

TOKENS = ["NA", "N/A", "n/a", "null", "NULL", "None", "NaN", "#N/A", "-"]


def _write(header, rows, delimiter, encoding):
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows([header, *rows])
    return out.getvalue().encode(encoding)


def sensor_readings(n, rng):
    start = dt.datetime(2025, 1, 1)
    rows = []
    for i in range(n):
        temperature = f"{rng.normal(12, 9):.2f}" if rng.random() > 0.03 else "NaN"
        humidity = str(int(rng.integers(20, 100))) if rng.random() > 0.05 else ""
        battery = f"{rng.random() * 100:.1f}"
        rows.append([f"dev-{rng.integers(0, 50):03d}", (start + dt.timedelta(minutes=7 * i)).isoformat(), temperature, humidity, battery])
    return _write(["device_id", "ts", "temperature", "humidity", "battery"], rows, "\t", "utf-8"), "\t", "utf-8", "%Y-%m-%dT%H:%M:%S", "ts"


def european_orders(n, rng):
    customers = ["Müller GmbH", "Société Générale", "Ærø Fisk", "Nuñez y Cía", "Øresund A/S"]
    rows = []
    for i in range(n):
        day = dt.date(2024, 1, 1) + dt.timedelta(days=int(rng.integers(0, 700)))
        amount = f"{rng.gamma(2, 150):.2f}" if rng.random() > 0.02 else "-"
        qty = str(int(rng.integers(1, 40))) if rng.random() > 0.04 else "N/A"
        rows.append([str(10_000 + i), customers[int(rng.integers(0, 5))], amount, day.strftime("%d.%m.%Y"), qty])
    return _write(["order_no", "customer", "amount", "order_date", "qty"], rows, ";", "latin-1"), ";", "latin-1", "%d.%m.%Y", "order_date"


def web_events(n, rng):
    pages = ["/", "/pricing", "/docs/a|b", "/signup"]
    rows = []
    for _ in range(n):
        duration = str(int(rng.integers(5, 90_000))) if rng.random() > 0.04 else rng.choice(["abc", "12.5s", ""])
        signup = (dt.date(2020, 1, 1) + dt.timedelta(days=int(rng.integers(0, 2000)))).strftime("%m/%d/%Y")
        rows.append([str(int(rng.integers(1, 10_000))), pages[int(rng.integers(0, 4))], duration, signup])
    return _write(["user_id", "page", "duration_ms", "signup"], rows, "|", "utf-8"), "|", "utf-8", "%m/%d/%Y", "signup"


def _pandas_reference(data, delimiter, encoding):
    frame = pd.read_csv(io.BytesIO(data), sep=delimiter, encoding=encoding, dtype=str, keep_default_na=False)
    stripped = frame.apply(lambda column: column.str.strip())
    missing = stripped.isin(TOKENS + [""])
    return frame, stripped, missing


@pytest.mark.parametrize("make", [sensor_readings, european_orders, web_events], ids=lambda f: f.__name__)
def test_profile_equals_pandas(make):
    data, delimiter, encoding, date_format, date_column = make(3000, np.random.default_rng(11))
    got = profile_csv(io.BytesIO(data))
    frame, stripped, missing = _pandas_reference(data, delimiter, encoding)
    n = len(frame)
    assert got["row_count"] == n
    assert got["dialect"]["delimiter"] == delimiter
    assert list(got["schema"]) == list(frame.columns)
    for column in frame.columns:
        expected = int(missing[column].sum())
        assert got["quality_issues"]["missing_values"].get(column, {"count": 0})["count"] == expected, column
    for column, kind in got["schema"].items():
        present = stripped[column][~missing[column]]
        if kind in ("int", "float"):
            values = pd.to_numeric(present, errors="coerce")
            if kind == "int":
                values = values[values == values.round()]
            valid = values.dropna()
            stats = got["statistics"][column]
            assert stats["count"] == len(valid), column
            assert stats["min"] == valid.min() and stats["max"] == valid.max(), column
            assert stats["avg"] == pytest.approx(valid.mean(), rel=1e-9), column
            invalid = len(present) - len(valid)
            assert got["quality_issues"]["invalid_values"].get(column, {"count": 0})["count"] == invalid, column
    dates = pd.to_datetime(stripped[date_column][~missing[date_column]], format=date_format, errors="coerce").dropna()
    assert got["schema"][date_column] == "date"
    assert got["statistics"][date_column] == {
        "min": dates.min().strftime("%Y-%m-%d"), "max": dates.max().strftime("%Y-%m-%d"), "count": len(dates)}
