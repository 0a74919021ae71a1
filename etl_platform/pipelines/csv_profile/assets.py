"""Pipeline C in Dagster: uploaded CSVs (external) -> `csv_profile`, one partition per file."""

from typing import Any

from dagster import (
    AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetExecutionContext, AssetSpec, Backoff, Failure,
    MaterializeResult, MetadataValue, RetryPolicy, TableColumn, TableRecord, TableSchema, asset,
)

from etl_platform.config import Settings
from etl_platform.core.profile_records import profile_drift, rate_severity, worst_rates
from etl_platform.pipelines.csv_profile.partitions import csv_files_partitions
from etl_platform.pipelines.csv_profile.sensors import VERSION_TAG
from etl_platform.pipelines.csv_profile.service import ProfileOutcome, profile_upload
from etl_platform.pipelines.csv_profile.settlement import OUTCOME_TAG
from etl_platform.resources.connection import PlatformS3Resource
from etl_platform.resources.file_metadata import FileMetadataTable
from etl_platform.run_heartbeat import run_heartbeat

GROUP = "csv_profile"

CHECKS = {
    "missing_values": "Share of missing cells per column, against the WARN/ERROR thresholds of the settings",
    "invalid_values": "Share of cells that do not parse as their column's type",
    "profile_drift": "Missing rate or mean moved against the previous profile of the same file name",
    "unterminated_quote": "No quote left open to the end of the file (it swallows the lines after it into one cell)",
}

_TABLE_SCHEMA = TableSchema(columns=[
    TableColumn("column", "string"), TableColumn("type", "string"), TableColumn("missing", "int"),
    TableColumn("invalid", "int"), TableColumn("min", "string"), TableColumn("max", "string"), TableColumn("avg", "float"),
])


def build_csv_profile_assets(settings: Settings) -> tuple[AssetSpec, Any]:
    bucket = settings.names.csv_data_bucket
    profiling = settings.profiling

    csv_uploads = AssetSpec(
        "csv_uploads",
        description=f"CSV files uploaded to s3://{bucket}/{profiling.upload_prefix} (written outside Dagster).",
        group_name=GROUP,
        kinds={"s3", "csv"},
    )

    @asset(
        partitions_def=csv_files_partitions,
        deps=[csv_uploads],
        group_name=GROUP,
        kinds={"python", "dynamodb", "s3"},
        check_specs=[AssetCheckSpec(name, asset="csv_profile", description=text) for name, text in CHECKS.items()],
        retry_policy=RetryPolicy(max_retries=3, delay=2, backoff=Backoff.EXPONENTIAL),
        description=(
            f"Schema, statistics and quality issues of each uploaded CSV: the summary JSON under "
            f"s3://{bucket}/{profiling.processed_prefix} and the item in {settings.names.file_metadata_table}."
        ),
    )
    def csv_profile(context: AssetExecutionContext, s3: PlatformS3Resource,
                    file_metadata_table: FileMetadataTable) -> MaterializeResult:
        key = profiling.upload_prefix + context.partition_key
        context.log.info("profiling s3://%s/%s", bucket, key)
        # No in-progress record to beat on: the run itself beats, so the reaper can tell a
        # dead worker from a long profile (reaper.py).
        with run_heartbeat(context, settings.recovery.heartbeat_seconds):
            outcome = profile_upload(
                s3.get_client(), file_metadata_table, bucket=bucket, key=key,
                upload_prefix=profiling.upload_prefix, processed_prefix=profiling.processed_prefix,
                version_id=context.run.tags.get(VERSION_TAG),
            )
        if not outcome.succeeded:
            # Recorded as status=error; retrying cannot fix the file, so no retries, and the
            # settlement sensor must neither overwrite the reason nor profile it again.
            context.instance.add_run_tags(context.run.run_id, {OUTCOME_TAG: "error"})
            raise Failure(
                description=f"{context.partition_key}: {outcome.item['error_message']}",
                metadata={"status": "error", "error_message": outcome.item["error_message"], "source": f"s3://{bucket}/{key}"},
                allow_retries=False,
            )
        context.log.info("%s: %d rows, summary at %s", outcome.file_name, outcome.item["row_count"], outcome.summary_key)
        return MaterializeResult(metadata=_metadata(outcome, bucket, key), check_results=_checks(outcome, settings))

    return csv_uploads, csv_profile


def _metadata(outcome: ProfileOutcome, bucket: str, key: str) -> dict[str, Any]:
    item = outcome.item
    issues = item["quality_issues"]
    missing = issues.get("missing_values", {})
    invalid = issues.get("invalid_values", {})
    records = []
    for column, kind in item["schema"].items():
        stats = item["statistics"].get(column, {})
        records.append(TableRecord({
            "column": column, "type": kind,
            "missing": int(missing.get(column, {}).get("count", 0)),
            "invalid": int(invalid.get(column, {}).get("count", 0)),
            "min": "" if stats.get("min") is None else str(stats["min"]),
            "max": "" if stats.get("max") is None else str(stats["max"]),
            "avg": float(stats["avg"]) if stats.get("avg") is not None else None,
        }))
    return {
        "row_count": MetadataValue.int(item["row_count"]),
        "columns": MetadataValue.table(records=records, schema=_TABLE_SCHEMA),
        "source": MetadataValue.url(f"s3://{bucket}/{key}"),
        "source_bytes": MetadataValue.int(outcome.source_bytes),
        "summary": MetadataValue.url(f"s3://{bucket}/{outcome.summary_key}"),
        "dialect": MetadataValue.json(outcome.dialect or {}),
        "has_issues": MetadataValue.bool(bool(issues.get("has_issues"))),
        "ragged_rows": MetadataValue.int(int(issues.get("ragged_rows", {}).get("count", 0))),
        "unterminated_quote": MetadataValue.json(issues.get("unterminated_quote", {})),
    }


def _rate_check(name: str, rates: dict[str, float], warn: float, error: float) -> AssetCheckResult:
    severities = {column: rate_severity(rate, warn, error) for column, rate in rates.items()}
    failing = {c: rates[c] for c, s in severities.items() if s != "ok"}
    return AssetCheckResult(
        check_name=name,
        passed=not failing,
        severity=AssetCheckSeverity.ERROR if "error" in severities.values() else AssetCheckSeverity.WARN,
        metadata={
            "failing_columns": MetadataValue.json(failing),
            "all_columns_pct": MetadataValue.json(rates),
            "thresholds_pct": MetadataValue.json({"warn": warn, "error": error}),
        },
    )


def _checks(outcome: ProfileOutcome, settings: Settings) -> list[AssetCheckResult]:
    p = settings.profiling
    issues = outcome.item["quality_issues"]
    results = [
        _rate_check("missing_values", worst_rates(issues, "missing_values"), p.missing_warn_pct, p.missing_error_pct),
        _rate_check("invalid_values", worst_rates(issues, "invalid_values"), p.invalid_warn_pct, p.invalid_error_pct),
    ]
    unclosed = issues.get("unterminated_quote")
    results.append(AssetCheckResult(
        check_name="unterminated_quote",
        passed=not unclosed,
        severity=AssetCheckSeverity.ERROR,  # the row count and every statistic miss the swallowed lines
        metadata={"row": MetadataValue.int(int(unclosed["row"])) if unclosed else MetadataValue.text("none"),
                  "lines_swallowed": MetadataValue.int(int(unclosed["lines_swallowed"]) if unclosed else 0)},
    ))
    previous = outcome.previous if outcome.previous and outcome.previous.get("status") == "success" else None
    findings = (
        profile_drift(previous, outcome.item, null_rate_points=p.drift_null_rate_points, mean_relative=p.drift_mean_relative)
        if previous else []
    )
    results.append(AssetCheckResult(
        check_name="profile_drift",
        passed=not findings,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "previous_profile": MetadataValue.text(previous["processed_timestamp"] if previous else "none (first profile)"),
            "findings": MetadataValue.json(findings),
        },
    ))
    return results
