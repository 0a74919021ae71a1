"""Pipeline B's partitions: one per date_prefix (the day a manifest's files landed under),
its manifest id carried by the run tag `etl/manifest` (see pipelines/daily_runs.py).

Several manifests of a date run side by side in its partition; each run is found by its
manifest tag (the reapers and settlement sensors), and replayed by `etl-platform ingest
replay <manifest id>` or by re-executing the failed run in the UI (the tag is copied).
Runs from before this scheme carry the manifest id as their partition key instead: they
are still recognised (`manifest_of_run`), and their old dynamic partitions stay in the
instance, unused, until deleted.
"""

from __future__ import annotations

from dagster import Failure, RunRequest

from etl_platform.core.ingestion.manifests import date_of_manifest
from etl_platform.pipelines.daily_runs import daily_partitions, tagged_unit

ndjson_dates_partitions = daily_partitions()
MANIFEST_TAG = "etl/manifest"
LEGACY_PARTITION_TAG = "dagster/partition"  # a manifest id, on runs from before daily partitions


def manifest_run_request(manifest: str, run_key: str, tags: dict[str, str], job_name: str | None = None) -> RunRequest:
    """The run of `manifest`: in the partition of its date, naming it by tag (`job_name`:
    for a sensor that targets more than one job)."""
    return RunRequest(run_key=run_key, job_name=job_name, partition_key=date_of_manifest(manifest),
                      tags={**tags, MANIFEST_TAG: manifest})


def manifest_of(context) -> str:
    """The manifest this run converts (its run tag), which must be of the run's date."""
    manifest = tagged_unit(context, MANIFEST_TAG, "manifest")
    if not manifest.startswith("batch-") or manifest.count("-") != 3 or date_of_manifest(manifest) != context.partition_key:
        raise Failure(description=f"manifest {manifest!r} is not of partition {context.partition_key}",
                      allow_retries=False)
    return manifest


def manifest_of_run(tags) -> str | None:
    """The manifest a run (its tags) was for; None for a run that names none."""
    legacy = tags.get(LEGACY_PARTITION_TAG, "")
    return tags.get(MANIFEST_TAG) or (legacy if legacy.startswith("batch-") else None)
