"""Pipeline C in Dagster: uploaded CSVs (external) -> `csv_profile`, one partition per file.

Quality per file: the asset checks are partitioned like the asset (`AssetCheckSpec(...,
partitions_def=csv_files_partitions)`, a preview feature of Dagster 1.13), so each result
belongs to the file's partition. The checks page then lists the files that passed and
failed, and each file's results stay visible when the next file is profiled. Without it
(the default, and all Dagster offered before 1.13) a check has one latest result
per asset: the last file profiled hides every other. The alternatives were worse: one
unpartitioned check per file name is unbounded, and per-partition materialization metadata
alone gives no pass/fail or severity. Pruning a file's partition (pruning.py) removes it
from the checks page; its evaluations stay in the event log (and in its runs).

Over time: the materialization carries the file's missing and invalid rates as numbers
(`missing_cells_pct`, `invalid_cells_pct`, `worst_column_*_pct`), which the asset's metadata
plots draw by partition or, across files (and past pruning), by time; a rate check's
`worst_column_pct` is plotted in the check's overview.
"""

import json
import warnings
from typing import Any

from dagster import (
    AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetExecutionContext, AssetSpec, Backoff, Failure,
    MaterializeResult, MetadataValue, PreviewWarning, RetryPolicy, TableColumn, TableRecord, TableSchema, asset,
)

from etl_platform.config import Settings
from etl_platform.core.profile_checks import CHECKS, CheckVerdict, quality_rates
from etl_platform.pipelines.csv_profile.partitions import csv_files_partitions
from etl_platform.pipelines.csv_profile.sensors import VERSION_TAG
from etl_platform.pipelines.csv_profile.service import ProfileOutcome, profile_upload
from etl_platform.pipelines.csv_profile.settlement import OUTCOME_TAG
from etl_platform.resources.connection import PlatformS3Resource
from etl_platform.resources.file_metadata import FileMetadataTable
from etl_platform.run_heartbeat import run_heartbeat

GROUP = "csv_profile"
TEXT_COLUMNS = 20  # columns named in a check's text entries (all of them are in its JSON entries)

_TABLE_SCHEMA = TableSchema(columns=[
    TableColumn("column", "string"), TableColumn("type", "string"), TableColumn("missing", "int"),
    TableColumn("invalid", "int"), TableColumn("invalid_examples", "string"), TableColumn("min", "string"),
    TableColumn("max", "string"), TableColumn("avg", "float"),
])


def check_specs() -> list[AssetCheckSpec]:
    with warnings.catch_warnings():
        # once per code-location load, in every process: the preview is chosen (module docstring)
        warnings.simplefilter("ignore", PreviewWarning)
        return [AssetCheckSpec(name, asset="csv_profile", description=text, partitions_def=csv_files_partitions)
                for name, text in CHECKS.items()]


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
        check_specs=check_specs(),
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
            outcome = profile_upload(s3.get_client(), file_metadata_table, bucket=bucket, key=key,
                                     profiling=profiling, version_id=context.run.tags.get(VERSION_TAG))
        if not outcome.succeeded:
            # Recorded as status=error; retrying cannot fix the file, so no retries, and the
            # settlement sensor must neither overwrite the reason nor profile it again.
            context.instance.add_run_tags(context.run.run_id, {OUTCOME_TAG: "error"})
            raise Failure(
                description=f"{context.partition_key}: {outcome.item['error_message']}",
                metadata={"status": "error", "error_message": outcome.item["error_message"], "source": f"s3://{bucket}/{key}"},
                allow_retries=False,
            )
        context.log.info("%s: %d rows, %s, summary at %s", outcome.file_name, outcome.item["row_count"],
                         outcome.item["quality_status"], outcome.summary_key)
        return MaterializeResult(metadata=_metadata(outcome, bucket, key),
                                 check_results=[_check_result(v) for v in outcome.checks])

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
            "invalid_examples": _examples_text(invalid.get(column, {}).get("examples", [])),
            "min": "" if stats.get("min") is None else str(stats["min"]),
            "max": "" if stats.get("max") is None else str(stats["max"]),
            "avg": float(stats["avg"]) if stats.get("avg") is not None else None,
        }))
    return {
        "quality_status": MetadataValue.text(item["quality_status"]),
        "failed_checks": MetadataValue.json(item["failed_checks"]),
        **{name: MetadataValue.float(value) for name, value in quality_rates(item).items()},
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


def _check_result(verdict: CheckVerdict) -> AssetCheckResult:
    metadata = {name: _metadata_value(value) for name, value in verdict.details.items()}
    # JSON opens on a click; text shows at once on the check's page
    if failing := verdict.details.get("failing_columns_pct"):
        metadata["failing_columns"] = MetadataValue.text(_first_columns([f"{c} {pct:g}%" for c, pct in failing.items()]))
    if examples := verdict.details.get("examples"):
        metadata["bad_values"] = MetadataValue.text(_first_columns([f"{c}: {_examples_text(e)}" for c, e in examples.items()]))
    return AssetCheckResult(check_name=verdict.name, passed=verdict.passed,
                            severity=AssetCheckSeverity(verdict.level), metadata=metadata)


def _metadata_value(value: Any) -> MetadataValue:
    if isinstance(value, bool):
        return MetadataValue.bool(value)
    if isinstance(value, int):
        return MetadataValue.int(value)
    if isinstance(value, float):
        return MetadataValue.float(value)  # numbers: the check's history plots them
    if isinstance(value, str):
        return MetadataValue.text(value)
    if value is None:
        return MetadataValue.text("none")
    return MetadataValue.json(value)


def _first_columns(parts: list[str], most: int = TEXT_COLUMNS) -> str:
    return "; ".join(parts[:most]) + (f"; and {len(parts) - most} more columns" if len(parts) > most else "")


def _examples_text(entries: list[dict[str, Any]]) -> str:
    """`row 3 "abc", row 7 " "`: values JSON-quoted, so blanks and empty cells show."""
    return ", ".join(f"row {e['row']} {json.dumps(e['value'], ensure_ascii=False)}" for e in entries)
