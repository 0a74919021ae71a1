"""Pipeline C's check verdicts and the item's quality_status (pure: plain dicts in, plain values out)."""

from etl_platform.core.profile_checks import (
    CHECKS, QualityThresholds, evaluate_checks, quality_rates, quality_verdict,
)

THRESHOLDS = QualityThresholds(missing_warn_pct=5, missing_error_pct=20, invalid_warn_pct=1, invalid_error_pct=5,
                               drift_null_rate_points=10, drift_mean_relative=0.25)


def _item(missing=None, invalid=None, unclosed=None, rows=100, avg=10.0):
    issues = {"total_rows": rows, "has_issues": bool(missing or invalid or unclosed),
              "missing_values": missing or {}, "invalid_values": invalid or {}}
    if unclosed:
        issues["unterminated_quote"] = unclosed
    return {"status": "success", "processed_timestamp": "2026-12-01T00:00:00Z", "row_count": rows,
            "schema": {"a": "int", "b": "float"}, "statistics": {"b": {"avg": avg}}, "quality_issues": issues}


def _verdicts(item, previous=None):
    return {v.name: v for v in evaluate_checks(item, previous, THRESHOLDS)}


def test_a_clean_file_passes_every_check():
    verdicts = _verdicts(_item())
    assert set(verdicts) == set(CHECKS) and all(v.passed for v in verdicts.values())
    assert quality_verdict(list(verdicts.values())) == {"quality_status": "passed", "failed_checks": {}}


def test_a_warn_level_failure_is_a_pass_with_warnings():
    verdicts = _verdicts(_item(missing={"b": {"count": 7, "percentage": 7.0}}))
    assert (verdicts["missing_values"].passed, verdicts["missing_values"].level) == (False, "WARN")
    assert verdicts["missing_values"].details["failing_columns_pct"] == {"b": 7.0}
    assert quality_verdict(list(verdicts.values())) == {
        "quality_status": "passed_with_warnings", "failed_checks": {"missing_values": "WARN"}}


def test_an_error_level_failure_fails_the_file_and_names_its_values():
    examples = [{"row": 4, "value": "abc"}, {"row": 9, "value": "1,5"}]
    verdicts = _verdicts(_item(invalid={"a": {"count": 6, "percentage": 6.0, "examples": examples}},
                               missing={"b": {"count": 7, "percentage": 7.0}}))
    invalid = verdicts["invalid_values"]
    assert (invalid.passed, invalid.level) == (False, "ERROR")
    assert invalid.details["examples"] == {"a": examples}
    assert invalid.details["worst_column_pct"] == 6.0
    assert quality_verdict(list(verdicts.values())) == {
        "quality_status": "failed_checks", "failed_checks": {"invalid_values": "ERROR", "missing_values": "WARN"}}


def test_an_open_quote_fails_at_error_level():
    verdicts = _verdicts(_item(unclosed={"row": 3, "lines_swallowed": 12}))
    quote = verdicts["unterminated_quote"]
    assert (quote.passed, quote.level, quote.details) == (False, "ERROR", {"row": 3, "lines_swallowed": 12})
    assert quality_verdict(list(verdicts.values()))["quality_status"] == "failed_checks"


def test_drift_compares_with_the_previous_success_only():
    shifted = _item(avg=20.0)
    assert _verdicts(shifted, _item())["profile_drift"].details["findings"] == ["b: mean 10 -> 20"]
    assert _verdicts(shifted, {"status": "error", "schema": {}})["profile_drift"].passed
    drifted = quality_verdict(list(_verdicts(shifted, _item()).values()))
    assert drifted == {"quality_status": "passed_with_warnings", "failed_checks": {"profile_drift": "WARN"}}


def test_rates_to_plot_count_cells_of_the_whole_file():
    item = _item(missing={"a": {"count": 10, "percentage": 10.0}, "b": {"count": 30, "percentage": 30.0}},
                 invalid={"a": {"count": 2, "percentage": 2.0, "examples": []}})
    assert quality_rates(item) == {"missing_cells_pct": 20.0, "invalid_cells_pct": 1.0,
                                   "worst_column_missing_pct": 30.0, "worst_column_invalid_pct": 2.0}
    assert quality_rates({**_item(rows=0)}) == {"missing_cells_pct": 0.0, "invalid_cells_pct": 0.0,
                                               "worst_column_missing_pct": 0.0, "worst_column_invalid_pct": 0.0}
