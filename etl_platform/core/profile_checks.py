"""Pipeline C's quality checks of one profile, and the verdict they give its metadata item. Pure.

Each check gives a `CheckVerdict`; the asset reports it as the asset check result of the
file's partition, and the service writes the verdict into the metadata item, so a reader
of the table (or of the summary JSON) sees what the checks page shows:

`quality_status`
    ``passed``                every check passed
    ``passed_with_warnings``  a WARN-level check failed (e.g. 5-20% of a column missing),
                              none at ERROR level
    ``failed_checks``         at least one ERROR-level check failed (e.g. over 5% of a
                              column invalid, or a quote left open)
`failed_checks`
    {check name: "WARN" | "ERROR"} of every check that failed ({} when all passed).

`status` keeps seed 004's meaning and values: ``success`` the file was profiled (its checks
then say how good it is), ``error`` it could not be (no profile, so no checks and no
`quality_status`). A consumer filtering on ``status = success`` keeps working; one that
wants only clean files adds ``quality_status <> failed_checks``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Sequence

from etl_platform.core.profile_records import profile_drift, rate_severity, worst_rates

Level = Literal["WARN", "ERROR"]

CHECKS = {
    "missing_values": "Share of missing cells per column, against the WARN/ERROR thresholds of the settings",
    "invalid_values": "Share of cells that do not parse as their column's type; examples give the first bad values and their rows",
    "profile_drift": "Missing rate or mean moved against the previous profile of the same file name",
    "unterminated_quote": "No quote left open to the end of the file (it swallows the lines after it into one cell)",
}

PASSED, PASSED_WITH_WARNINGS, FAILED_CHECKS = "passed", "passed_with_warnings", "failed_checks"


@dataclass(frozen=True)
class QualityThresholds:
    """Percentages of a column's rows (missing, invalid) and drift limits (settings.profiling)."""

    missing_warn_pct: float
    missing_error_pct: float
    invalid_warn_pct: float
    invalid_error_pct: float
    drift_null_rate_points: float
    drift_mean_relative: float


@dataclass(frozen=True)
class CheckVerdict:
    name: str
    passed: bool
    level: Level  # the severity it reports (a failed ERROR-level check fails the file)
    details: dict[str, Any] = field(default_factory=dict)  # plain JSON values, by what they say


def evaluate_checks(item: dict[str, Any], previous: dict[str, Any] | None,
                    thresholds: QualityThresholds) -> list[CheckVerdict]:
    """The verdict of every check in CHECKS on a `success` item; `previous` is the file's
    last stored profile (drift is compared only against a `success` one)."""
    t = thresholds
    issues = item["quality_issues"]
    unclosed = issues.get("unterminated_quote")
    baseline = previous if previous and previous.get("status") == "success" else None
    findings = profile_drift(baseline, item, null_rate_points=t.drift_null_rate_points,
                             mean_relative=t.drift_mean_relative) if baseline else []
    return [
        _rate_verdict("missing_values", issues, t.missing_warn_pct, t.missing_error_pct),
        _rate_verdict("invalid_values", issues, t.invalid_warn_pct, t.invalid_error_pct),
        CheckVerdict("profile_drift", not findings, "WARN", {
            "previous_profile": baseline["processed_timestamp"] if baseline else "none (first profile)",
            "findings": findings,
        }),
        # ERROR: the row count and every statistic miss the swallowed lines
        CheckVerdict("unterminated_quote", not unclosed, "ERROR", {
            "row": int(unclosed["row"]) if unclosed else None,
            "lines_swallowed": int(unclosed["lines_swallowed"]) if unclosed else 0,
        }),
    ]


def _rate_verdict(name: str, issues: dict[str, Any], warn: float, error: float) -> CheckVerdict:
    rates = worst_rates(issues, name)
    severities = {column: rate_severity(rate, warn, error) for column, rate in rates.items()}
    failing = {column: rates[column] for column, s in severities.items() if s != "ok"}
    details: dict[str, Any] = {
        "worst_column_pct": max(rates.values(), default=0.0),
        "failing_columns_pct": failing,
        "all_columns_pct": rates,
        "thresholds_pct": {"warn": warn, "error": error},
    }
    if name == "invalid_values":
        details["examples"] = {column: entry.get("examples", []) for column, entry in issues.get(name, {}).items()}
    return CheckVerdict(name, not failing, "ERROR" if "error" in severities.values() else "WARN", details)


def quality_verdict(verdicts: Sequence[CheckVerdict]) -> dict[str, Any]:
    """The item's `quality_status` and `failed_checks` (see the module docstring)."""
    failed = {v.name: v.level for v in verdicts if not v.passed}
    status = FAILED_CHECKS if "ERROR" in failed.values() else PASSED_WITH_WARNINGS if failed else PASSED
    return {"quality_status": status, "failed_checks": failed}


def quality_rates(item: dict[str, Any]) -> dict[str, float]:
    """Percentages to plot over time: missing and invalid cells of the whole file, and of
    its worst column."""
    issues = item["quality_issues"]
    cells = item["row_count"] * len(item["schema"])

    def share(kind: str) -> float:
        bad = sum(int(entry["count"]) for entry in issues.get(kind, {}).values())
        return round(100.0 * bad / cells, 4) if cells else 0.0

    return {
        "missing_cells_pct": share("missing_values"),
        "invalid_cells_pct": share("invalid_values"),
        "worst_column_missing_pct": max(worst_rates(issues, "missing_values").values(), default=0.0),
        "worst_column_invalid_pct": max(worst_rates(issues, "invalid_values").values(), default=0.0),
    }
