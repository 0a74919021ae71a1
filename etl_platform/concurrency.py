"""Concurrency from the settings: one Dagster pool per Glue job, at run granularity.

What is limited, per env (Settings):
- each Glue job's runs. The step that may start a Glue job is in the job's pool
  (`glue_pool`): pipeline B's `merged_parquet` in `glue-ndjson-parquet-batch-job-<env>`,
  limit `ingestion.max_concurrent_glue_runs` (seed 002: 1 dev, 30 prod); pipeline A's
  `parquet_to_json` in `glue-etl-parquet-to-json-processor`, limit
  `jobs.max_concurrent_glue_runs` (10). Each limit is the job's MaxConcurrentRuns in
  infra/template.yaml, the number AWS enforces per job (a test checks they agree), so
  Dagster never asks Glue for a run Glue would refuse; a refusal still possible (runs
  started outside Dagster) is retried by Dagster (RetryRequested, resources/glue.py).
- manifest runs. Every run of pipeline B's job contains `merged_parquet`, so at run
  granularity B's Glue pool is also the limit on concurrent manifest runs: 1 dev, 30 prod.
  This follows the seeds: a manifest is one Step Functions execution that waits on its Glue
  job, so manifests in flight are bounded by the Glue limit. The seed's Lambda concurrency
  (2 dev, 50 prod) is the validator's (the SQS-triggered Lambda), not the manifests'; a
  separate, larger manifest limit would let runs start only to wait for a Glue slot.

Why run granularity (`concurrency: pools: granularity: run` in dagster.yaml): a run that
needs a full pool waits QUEUED in the daemon's run queue, holding no worker process. At op
granularity it would be launched and wait inside, STARTED but with no step beating its
heartbeat, and the reapers (run_heartbeat.py) would take it for dead after
`recovery.silent_run_seconds`; the run queue also only checks op-granularity pools of a
run's root steps, and `merged_parquet` is not one. The cost: an arrow-engine manifest
(no Glue) waits for a Glue slot too, and in dev manifests run one at a time, as on AWS dev.
In-process execution (`materialize`, `etl-platform ingest replay`) does not pass the run
queue, so the limits apply to runs the daemon launches (sensors, reapers, UI, API).

Where the limits live: the granularity and the run queue in the instance's dagster.yaml
(`dagster_instance_config`, written by `etl-platform dev`); pool limits in the instance's
storage (`apply_pool_limits`, as `dagster instance concurrency set` does), applied by
`etl-platform dev` at start and by `etl-platform concurrency apply` on a deployed instance.
"""

from __future__ import annotations

from typing import Any

from etl_platform.config import Settings

POOL_GRANULARITY = "run"
MAX_CONCURRENT_RUNS = 4  # all runs of the local stack at once (2 cores)


def glue_pool(job_name: str) -> str:
    """The Dagster pool of the steps that start Glue job `job_name`."""
    return f"glue-{job_name}"


def pool_limits(settings: Settings) -> dict[str, int]:
    """Pool -> limit, for `settings.env`."""
    names = settings.names
    return {
        glue_pool(names.ndjson_glue_job): settings.ingestion.max_concurrent_glue_runs,
        glue_pool(names.parquet_to_json_glue_job): settings.jobs.max_concurrent_glue_runs,
    }


def dagster_instance_config(max_concurrent_runs: int = MAX_CONCURRENT_RUNS) -> dict[str, Any]:
    """The `concurrency:` section of the instance's dagster.yaml."""
    return {"concurrency": {"pools": {"granularity": POOL_GRANULARITY},
                            "runs": {"max_concurrent_runs": max_concurrent_runs}}}


def apply_pool_limits(instance: Any, settings: Settings) -> dict[str, tuple[int | None, int]]:
    """Set each pool's limit in `instance` (a DagsterInstance) to the settings'; the pools
    whose limit changed, with (before, after). Raises if the instance cannot hold limits or
    does not apply them per run (its dagster.yaml lacks `dagster_instance_config`)."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        raise RuntimeError("this Dagster instance's storage cannot hold pool limits (an in-memory instance?)")
    granularity = instance.get_concurrency_config().pool_config.pool_granularity
    if granularity is None or granularity.value != POOL_GRANULARITY:
        raise RuntimeError(
            f"the instance applies pools per {granularity.value if granularity else 'op'}: add to its dagster.yaml\n"
            f"concurrency:\n  pools:\n    granularity: {POOL_GRANULARITY}")
    current = {pool.name: pool.limit for pool in storage.get_pool_limits()}
    changed = {}
    for pool, limit in pool_limits(settings).items():
        if current.get(pool) != limit:
            storage.set_concurrency_slots(pool, limit)
            changed[pool] = (current.get(pool), limit)
    return changed


def applied_pool_limits(instance: Any) -> dict[str, int]:
    """Every pool limit the instance holds."""
    return {pool.name: pool.limit for pool in instance.event_log_storage.get_pool_limits()}
