"""Pipeline C's records: the metadata item and summary document of seed 004, the quality
severities of the asset checks, and drift between two profiles of the same file. Pure."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from etl_platform.core.dynamodb_item_size import python_item_size
from etl_platform.core.s3_uri import contained_key
from etl_platform.core.timestamps import iso_utc

Severity = Literal["ok", "warn", "error"]

CSV_SUFFIX = ".csv"
# A profile item larger than this (a CSV with thousands of columns) keeps its per-column
# attributes in the summary JSON only: DynamoDB refuses items over 400 KB, and the rest of
# the item must fit beside them.
ITEM_BUDGET_BYTES = 300 * 1024
PER_COLUMN_ATTRIBUTES = ("schema", "statistics", "quality_issues")


def file_name_for(key: str, upload_prefix: str) -> str:
    """`uploads/team/sales.csv` -> `team/sales.csv`: the table key and the partition key."""
    return key[len(upload_prefix):] if key.startswith(upload_prefix) else key


def upload_name_problem(key: str, upload_prefix: str) -> str | None:
    """Why an upload is refused by its name alone (the upload prefix takes `*.csv`), or None."""
    if key.lower().endswith(CSV_SUFFIX):
        return None
    return f"not a {CSV_SUFFIX} file: {upload_prefix} takes CSV files only; upload it again as <name>{CSV_SUFFIX}"


def summary_key(file_name: str, processed_prefix: str) -> str:
    """`sales.csv` -> `processed/sales_summary.json` (seed 004); a `..` in the name never
    leaves `processed/` (`contained_key`)."""
    stem = file_name[: -len(CSV_SUFFIX)] if file_name.lower().endswith(CSV_SUFFIX) else file_name
    return contained_key(processed_prefix, f"{stem}_summary.json")


def success_item(file_name: str, profile: dict[str, Any], *, uploaded: datetime, processed: datetime) -> dict[str, Any]:
    return {
        "file_name": file_name,
        "upload_timestamp": iso_utc(uploaded),
        "processed_timestamp": iso_utc(processed),
        "status": "success",
        "row_count": profile["row_count"],
        "schema": profile["schema"],
        "statistics": profile["statistics"],
        "quality_issues": profile["quality_issues"],
    }


def error_item(file_name: str, message: str, *, uploaded: datetime, processed: datetime) -> dict[str, Any]:
    """Seed 004's error path: status error, the message, row_count 0, empty schema and statistics."""
    return {
        "file_name": file_name,
        "upload_timestamp": iso_utc(uploaded),
        "processed_timestamp": iso_utc(processed),
        "status": "error",
        "row_count": 0,
        "schema": {},
        "statistics": {},
        "quality_issues": {},
        "error_message": message,
    }


def stored_item(item: dict[str, Any], summary_uri: str) -> dict[str, Any]:
    """The item as written to the table: whole when it fits ITEM_BUDGET_BYTES; otherwise
    without the per-column attributes, with the column count, whether there are quality
    issues, and `profile_uri`, the summary JSON that holds the whole profile."""
    if python_item_size(item) <= ITEM_BUDGET_BYTES:
        return item
    bounded = {k: v for k, v in item.items() if k not in PER_COLUMN_ATTRIBUTES}
    return {**bounded, "column_count": len(item["schema"]), "profile_uri": summary_uri,
            "has_quality_issues": bool(item["quality_issues"].get("has_issues"))}


def summary_document(item: dict[str, Any], profile: dict[str, Any], source_uri: str) -> dict[str, Any]:
    """The processed/<name>_summary.json body: the item plus how the file was read."""
    return {**item, "source": source_uri, "columns": profile["columns"], "dialect": profile["dialect"]}


def rate_severity(percentage: float, warn: float, error: float) -> Severity:
    if percentage >= error:
        return "error"
    if percentage >= warn:
        return "warn"
    return "ok"


def worst_rates(quality_issues: dict[str, Any], kind: str) -> dict[str, float]:
    """{column: percentage} of `missing_values` or `invalid_values`."""
    return {column: float(entry["percentage"]) for column, entry in quality_issues.get(kind, {}).items()}


def profile_drift(previous: dict[str, Any], current: dict[str, Any], *, null_rate_points: float,
                  mean_relative: float) -> list[str]:
    """Columns whose missing rate moved by >= `null_rate_points` percentage points, or whose
    mean moved by >= `mean_relative` of the previous mean, between two success profiles."""
    findings: list[str] = []
    before_missing = worst_rates(previous.get("quality_issues", {}), "missing_values")
    after_missing = worst_rates(current.get("quality_issues", {}), "missing_values")
    for column in sorted(set(previous.get("schema", {})) & set(current.get("schema", {}))):
        was, now = before_missing.get(column, 0.0), after_missing.get(column, 0.0)
        if abs(now - was) >= null_rate_points:
            findings.append(f"{column}: missing rate {was:.2f}% -> {now:.2f}%")
        old_avg = previous.get("statistics", {}).get(column, {}).get("avg")
        new_avg = current.get("statistics", {}).get(column, {}).get("avg")
        if old_avg is not None and new_avg is not None:
            scale = abs(old_avg) if old_avg else 1.0
            if abs(new_avg - old_avg) / scale >= mean_relative:
                findings.append(f"{column}: mean {old_avg:g} -> {new_avg:g}")
    return findings
