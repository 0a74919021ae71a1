"""Pipeline A in Dagster: Parquet files (external) -> `parquet_to_json`, partitioned by day, one run per job (partitions.py).

The asset owns the job's status: it moves the job RUNNING, runs the Glue job
glue_jobs/parquet_to_json.py (PipesGlueClient on AWS, a subprocess locally), and ends it
COMPLETED or FAILED. Bad input fails the run without retries; anything else is marked
FAILED too and retried, and a retry may move a FAILED job back to RUNNING. What a run that
dies or is cancelled leaves RUNNING is settled outside it (settlement.py, reaper.py).
"""

import time
from typing import Any

from dagster import (
    AssetExecutionContext, AssetSpec, Backoff, Failure, MaterializeResult, MetadataValue, RetryPolicy,
    TableColumn, TableSchema, asset,
)

from etl_platform.concurrency import glue_pool
from etl_platform.config import Settings
from etl_platform.core.parquet_jobs import output_key
from etl_platform.faults import fault_point
from etl_platform.pipelines.parquet_to_json.partitions import job_of, parquet_jobs_partitions
from etl_platform.resources.glue import GlueJobRunner
from etl_platform.resources.jobs_table import INPUT_VERSION, JobsTable
from etl_platform.run_heartbeat import run_heartbeat

GROUP = "parquet_to_json"


def build_parquet_to_json_assets(settings: Settings) -> tuple[AssetSpec, Any]:
    names, jobs = settings.names, settings.jobs
    in_bucket, out_bucket = names.jobs_input_bucket, names.jobs_output_bucket

    parquet_uploads = AssetSpec(
        "parquet_uploads",
        # Descriptions render as Markdown: a bare <jobId> is an HTML tag to it, and vanishes.
        description=(f"Parquet files in `s3://{in_bucket}`: uploaded through the API under `{jobs.upload_prefix}<jobId>/` "
                     f"or dropped under `{jobs.drop_prefix}` (written outside Dagster)."),
        group_name=GROUP,
        kinds={"s3", "parquet"},
    )

    @asset(
        partitions_def=parquet_jobs_partitions,
        deps=[parquet_uploads],
        group_name=GROUP,
        kinds={"python", "glue", "s3", "dynamodb"},
        pool=glue_pool(names.parquet_to_json_glue_job),
        retry_policy=RetryPolicy(max_retries=2, delay=5, backoff=Backoff.EXPONENTIAL),
        description=(f"Each job's Parquet file as NDJSON at `s3://{out_bucket}/{jobs.output_prefix}<jobId>/<name>.ndjson`; "
                     f"its status in `{names.jobs_table}`."),
    )
    def parquet_to_json(context: AssetExecutionContext, glue: GlueJobRunner, jobs_table: JobsTable) -> MaterializeResult:
        job_id = job_of(context)
        job = jobs_table.mark_running(job_id, context.run.run_id)
        if job is None:
            current = jobs_table.get_job(job_id)
            state = current["status"] if current else "unknown"
            raise Failure(description=f"job {job_id} cannot start: it is {state}", allow_retries=False)
        fault_point("parquet_to_json.job_running")
        target = output_key(jobs.output_prefix, job_id, job["fileName"])
        source = f"s3://{in_bucket}/{job['inputS3Key']}"
        started = time.monotonic()
        try:
            # the version its trigger (or the drop sensor) pinned; none only for older jobs: the current one
            # The run beats while the Glue job works: if this worker dies, a reaper sees the
            # silence and ends the run (reaper.py); the default launcher cannot see it.
            with run_heartbeat(context, settings.recovery.heartbeat_seconds):
                outcome = _run_glue(context, glue, settings, source, f"s3://{out_bucket}/{target}",
                                    job.get(INPUT_VERSION, ""))
        except Exception as exc:
            jobs_table.mark_failed(job_id, f"conversion did not finish: {type(exc).__name__}: {exc}")
            raise
        if outcome["status"] != "SUCCEEDED":
            jobs_table.mark_failed(job_id, outcome["message"])
            raise Failure(description=f"job {job_id}: {outcome['message']}", allow_retries=False,
                          metadata={"job_id": job_id, "source": MetadataValue.url(source), "error": outcome["message"]})
        fault_point("parquet_to_json.output_written")
        elapsed = time.monotonic() - started
        jobs_table.mark_completed(job_id, processing_time=elapsed, output_key=target)
        context.log.info("job %s: %d rows, %s -> s3://%s/%s", job_id, outcome["rows"], source, out_bucket, target)
        return MaterializeResult(metadata=_metadata(job_id, outcome, source, f"s3://{out_bucket}/{target}", elapsed))

    return parquet_uploads, parquet_to_json


def _run_glue(context, glue: GlueJobRunner, settings: Settings, source: str, target: str, version: str) -> dict:
    """The Glue job's outcome, as it reported it through Pipes."""
    job_name = settings.names.parquet_to_json_glue_job
    arguments = {"input_path": source, "output_path": target, "output_format": "ndjson"}
    if version and version != "null":
        arguments["input_version"] = version
    invocation = glue.run(context, job_name=job_name, script="parquet_to_json.py", arguments=arguments)
    reports = invocation.get_custom_messages()
    if not reports:
        raise RuntimeError(f"Glue job {job_name} ended without reporting its outcome")
    return reports[-1]


def _metadata(job_id: str, outcome: dict, source: str, target: str, elapsed: float) -> dict[str, Any]:
    return {
        "job_id": job_id,
        "rows": MetadataValue.int(outcome["rows"]),
        "bytes_in": MetadataValue.int(outcome["bytes_in"]),
        "bytes_out": MetadataValue.int(outcome["bytes_out"]),
        "schema": MetadataValue.table_schema(
            TableSchema(columns=[TableColumn(c["name"], c["type"]) for c in outcome["columns"]])),
        "preview": MetadataValue.md(outcome["preview_markdown"]),
        "source": MetadataValue.url(source),
        "output": MetadataValue.url(target),
        "processing_time_s": round(elapsed, 3),
    }
