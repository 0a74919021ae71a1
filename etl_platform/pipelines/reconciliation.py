"""What the three reconciliation sensors share: how a reconciliation shows in Dagster, and
whether a run key was used by any sensor.

Each pipeline has a reconciliation sensor (`<pipeline>/reconciliation.py`, every
RECONCILE_INTERVAL_SECONDS, in the daemon) that hands landed objects tracking lacks to its
pipeline's own path (core/reconciliation.py says which objects and why). Each pass is
reported on the pipeline's landing asset as an observation (the sensor observes the
landing prefix, it does not produce it) whose `recovered` count Dagster plots, and as an
evaluation of that asset's `landing_reconciled` check: WARN, with the keys, when the pass
had to recover anything. Executing the check by hand from the UI lists the objects
tracking lacks now, without handing them over.
"""

from __future__ import annotations

from typing import Any, Callable

from dagster import (
    AssetCheckEvaluation, AssetCheckResult, AssetCheckSeverity, AssetKey, AssetObservation, DagsterInstance,
    DynamicPartitionsDefinition, MetadataValue, RunRequest, RunsFilter, SensorResult, asset_check,
)

RECONCILE_INTERVAL_SECONDS = 15 * 60
CHECK_NAME = "landing_reconciled"
RUN_KEY_TAG = "dagster/run_key"  # the tag the daemon puts on a sensor's runs
SHOWN_KEYS = 50


def run_key_taken(instance: DagsterInstance, run_key: str) -> bool:
    """Whether any run (of any sensor, in any state) carries `run_key`. Dagster skips a run
    key only per sensor; a reconciliation asks across sensors, so it never starts a second
    run for an object version its upload sensor started one for."""
    return bool(instance.get_run_records(filters=RunsFilter(tags={RUN_KEY_TAG: run_key}), limit=1))


def reconciliation_events(landing: str, *, listed: int, recovered: list[str], **counts: Any) -> list:
    """The observation and check evaluation of one reconciliation pass."""
    metadata = {"listed": MetadataValue.int(listed), "recovered": MetadataValue.int(len(recovered)),
                **{name: MetadataValue.int(value) if isinstance(value, int) else MetadataValue.json(value)
                   for name, value in counts.items()}}
    return [
        AssetObservation(landing, metadata=metadata, description="reconciliation of the landing prefix"),
        AssetCheckEvaluation(
            asset_key=AssetKey(landing), check_name=CHECK_NAME, passed=not recovered,
            severity=AssetCheckSeverity.WARN,
            metadata={"recovered": MetadataValue.int(len(recovered)),
                      "recovered_keys": MetadataValue.json(recovered[:SHOWN_KEYS]), "listed": MetadataValue.int(listed)},
            description=(f"recovered {len(recovered)} landed object(s) whose event or upload was missed"
                         if recovered else "every landed object was tracked"),
        ),
    ]


def recovery_runs(context: Any, landing: str, partitions: DynamicPartitionsDefinition | None, requests: list[RunRequest],
                  *, listed: int, untracked: int, what: str) -> SensorResult:
    """A reconciliation sensor's answer when it hands objects over as runs (A and C): the
    run requests (each `s3_key` tagged) with their dynamic `partitions` if any, and the pass as events;
    `untracked` counts the objects it found, some left to runs already holding them."""
    recovered = [r.tags["s3_key"] for r in requests]
    if recovered:
        context.log.warning(f"{what}: {len(recovered)}: {recovered[:20]}")
    return SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[partitions.build_add_request(
            sorted({r.partition_key for r in requests}))] if requests and partitions else [],
        asset_events=reconciliation_events(landing, listed=listed, recovered=recovered,
                                           in_flight=untracked - len(requests)),
    )


def landing_reconciled_check(landing: str, resource_keys: set[str],
                             untracked: Callable[[Any], tuple[int, list[str]]]):
    """The `landing_reconciled` check of `landing`, declared so the sensor's evaluations show
    on the asset; executed by hand it reports what tracking lacks now (`untracked` gets the
    resources, `s3` as the boto3 client its resource provides, and answers (objects listed,
    keys untracked)), handing nothing over."""

    @asset_check(asset=landing, name=CHECK_NAME, required_resource_keys=resource_keys,
                 description="Every landed object is tracked: WARN when the reconciliation sensor had to recover "
                             "objects whose event or upload was missed (executed by hand: what is untracked now)")
    def landing_reconciled(context) -> AssetCheckResult:
        listed, keys = untracked(context.resources)
        return AssetCheckResult(
            passed=not keys, severity=AssetCheckSeverity.WARN,
            metadata={"untracked": MetadataValue.int(len(keys)), "untracked_keys": MetadataValue.json(keys[:SHOWN_KEYS]),
                      "listed": MetadataValue.int(listed)},
            description=(f"{len(keys)} landed object(s) not tracked; the reconciliation sensor hands them over"
                         if keys else "every landed object is tracked"),
        )

    return landing_reconciled
