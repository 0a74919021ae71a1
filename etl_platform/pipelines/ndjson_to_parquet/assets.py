"""Pipeline B in Dagster: landing files (external) -> ndjson_manifest -> merged_parquet.

Both assets are partitioned by the manifest's date, the manifest named by a run tag
(partitions.py). `ndjson_manifest` claims the files atomically
(or, on a re-run, reuses exactly the files it claimed before) and writes the manifest JSON;
`merged_parquet` is seed 003's Step Functions flow: MANIFEST processing -> engine ->
MANIFEST completed -> files completed#N, or on failure MANIFEST failed, files failed#N,
an SNS alert, and the circuit breaker counts it. Running a failed manifest again (the UI's
re-execute, or `etl-platform ingest replay`) converts the same files again and overwrites the same
output paths, so nothing is duplicated. A file overwritten since its claim is left out
of the manifest with the reason (see sources.py), not allowed to fail it for ever.
"""

import json
import time

from dagster import (
    AssetCheckResult, AssetCheckSpec, AssetExecutionContext, AssetSpec, Failure, MaterializeResult, MetadataValue,
    TableColumn, TableSchema, asset,
)

from etl_platform.concurrency import glue_pool
from etl_platform.config import Settings
from etl_platform.core.ingestion.manifests import (
    date_of_manifest, exclude_files, manifest_document, manifest_key, output_prefix, rejects_key,
)
from etl_platform.core.timestamps import iso_utc
from etl_platform.faults import fault_point
from etl_platform.pipelines.ndjson_to_parquet.engines import choose_engine, run_arrow
from etl_platform.pipelines.ndjson_to_parquet.partitions import manifest_of, ndjson_dates_partitions
from etl_platform.pipelines.ndjson_to_parquet.planning import ClaimTakenOver, claim_files, thresholds_from
from etl_platform.pipelines.ndjson_to_parquet.settlement import record_manifest_failure, record_metrics
from etl_platform.pipelines.ndjson_to_parquet.sources import mark_ingested, overwritten_sources
from etl_platform.pipelines.ndjson_to_parquet.validation import LANDING_ASSET
from etl_platform.resources.connection import PlatformS3Resource
from etl_platform.resources.dynamodb import DynamoTable
from etl_platform.resources.glue import GlueJobRunner, glue_start_retry
from etl_platform.resources.sns import AlertsTopic
from etl_platform.resources.tracking import FileTrackingTable, as_pending, file_order
from etl_platform.run_heartbeat import run_heartbeat

GROUP = "ndjson_to_parquet"
ENGINE_TAG = "ndjson/engine"  # run tag that forces an engine: arrow | spark


def build_ndjson_assets(settings: Settings):
    names = settings.names
    ingestion = settings.ingestion

    landing = AssetSpec(
        LANDING_ASSET,
        description=f"NDJSON files landed in s3://{names.ndjson_input_bucket}/{ingestion.landing_prefix}YYYY-MM-DD/. "
                    "Its observations say, per date, the files pending, their bytes, the oldest one's age and when "
                    "the next manifest forms (the file-events sensor), and what each validation run did.",
        group_name=GROUP, kinds={"s3", "json"},
    )

    @asset(partitions_def=ndjson_dates_partitions, deps=[landing], group_name=GROUP, kinds={"dynamodb", "s3"},
           description="The files of one manifest, claimed atomically in the tracking table, and its manifest JSON.")
    def ndjson_manifest(context: AssetExecutionContext, tracking_table: FileTrackingTable,
                        s3: PlatformS3Resource) -> MaterializeResult:
        # the reapers judge this run by its heartbeat: it beats for the whole step, however long
        with run_heartbeat(context, settings.recovery.heartbeat_seconds):
            manifest = manifest_of(context)
            record = tracking_table.manifest(manifest)
            if record is None:  # materialized by hand for a partition the sensor did not mint
                tracking_table.create_manifest(manifest, reason="manual")
                record = tracking_table.manifest(manifest)
            run_id = context.run.run_id
            # Record first: the MANIFEST names this run before any file is claimed, so a crash
            # mid-claim leaves a pending MANIFEST that says whose claim was cut short (the
            # reaper re-runs it and this asset resumes the claim).
            if not record.get("claimed") and tracking_table.begin_claim(manifest, run_id) is None:
                record = tracking_table.manifest(manifest)  # claimed (or finished) since it was read
            reused = bool(record.get("claimed"))
            # A consistent read of what this manifest holds already (a re-run, or a run that
            # crashed after claiming), plus what this run's claims return: the GSI that nominates
            # candidates lags writes, so nothing is built from it directly.
            items = {i["file_key"]: i for i in tracking_table.files_of_manifest(manifest)}
            if not reused:
                try:
                    won = claim_files(tracking_table, manifest, run_id, thresholds_from(settings), items,
                                      warn=context.log.warning)
                except ClaimTakenOver as exc:
                    raise Failure(description=f"{exc}; that run completes it") from exc
                items.update((i["file_key"], i) for i in won)
                context.log.info(f"{manifest}: claimed {len(won)} files")
            files = [as_pending(i) for i in sorted(items.values(), key=file_order)]
            document = manifest_document(manifest, files, record.get("created_at", iso_utc()))
            key = manifest_key(manifest)
            s3.get_client().put_object(Bucket=names.manifest_bucket, Key=key, Body=json.dumps(document, indent=1).encode(),
                                       ContentType="application/json")
            fault_point("ndjson.manifest_written")
            if tracking_table.finish_claim(manifest, run_id, None if reused else sorted(items), file_count=len(files),
                                           total_bytes=document["total_bytes"],
                                           manifest_path=f"s3://{names.manifest_bucket}/{key}") is None:
                raise Failure(description=f"{manifest}: another run took the claim over from run {run_id}; "
                                          "that run completes it")
            return MaterializeResult(metadata={
                "files": len(files),
                "input_bytes": document["total_bytes"],
                "date_prefix": date_of_manifest(manifest),
                "manifest_path": MetadataValue.url(f"s3://{names.manifest_bucket}/{key}"),
                "reused_claim": reused,
                "trigger": record.get("reason", ""),
            })

    @asset(partitions_def=ndjson_dates_partitions, deps=[ndjson_manifest], group_name=GROUP,
           kinds={"parquet", "s3", "spark"}, pool=glue_pool(names.ndjson_glue_job),
           check_specs=[AssetCheckSpec("exactly_once_ledger", asset="merged_parquet",
                                       description="rows in = rows out + rejected lines")],
           description=f"Snappy Parquet of one manifest under s3://{names.parquet_output_bucket}/output/merged-parquet-YYYY-MM-DD/")
    def merged_parquet(context: AssetExecutionContext, tracking_table: FileTrackingTable, s3: PlatformS3Resource,
                       glue: GlueJobRunner, alerts: AlertsTopic, metrics_table: DynamoTable) -> MaterializeResult:
        # the reapers judge this run by its heartbeat: it beats for the whole step, however long
        with run_heartbeat(context, settings.recovery.heartbeat_seconds):
            manifest = manifest_of(context)
            client = s3.get_client()
            document = json.loads(client.get_object(Bucket=names.manifest_bucket, Key=manifest_key(manifest))["Body"].read())
            files = tracking_table.files_of_manifest(manifest)
            started = time.time()
            # failures counted so far: this run's success resets the streak only if none is counted meanwhile
            breaker_mark = tracking_table.breaker().failures_total
            try:
                document = _leave_out_overwritten(context, document, files, client, tracking_table, alerts,
                                                  names.manifest_bucket)
                in_manifest = {f["file_key"] for f in document["files"]}
                files = [f for f in files if f["file_key"] in in_manifest]
                engine = choose_engine(ingestion.engine, document["total_bytes"], ingestion.arrow_engine_max_bytes,
                                       context.run.tags.get(ENGINE_TAG))
                tracking_table.start_manifest(manifest, context.run.run_id, engine=engine)
                if not document["files"]:
                    stats = {"engine": engine, "files": 0, "bytes_in": 0, "rows_in": 0, "rows_out": 0, "rejected": 0,
                             "output_paths": [], "rejects_path": None, "schema": [], "duration_s": 0.0}
                elif engine == "arrow":
                    stats = run_arrow(client, document, output_bucket=names.parquet_output_bucket,
                                      mode=ingestion.conversion_mode, log=context.log)
                else:
                    stats = _run_spark(context, glue, manifest, settings)
            except Exception as exc:
                retry = glue_start_retry(exc, context.retry_number, ingestion)
                if retry is not None:  # Dagster runs the step again in this run: the MANIFEST stays processing by it
                    raise retry from exc
                record_manifest_failure(context.log, context.run.run_id, manifest, files, f"{type(exc).__name__}: {exc}",
                                        tracking_table, alerts, metrics_table, time.time() - started, settings)
                raise Failure(description=f"{manifest} failed: {exc}", metadata={"manifest_id": manifest, "error": str(exc)}) from exc
            fault_point("ndjson.outputs_written")
            duration = max(time.time() - started, 1e-6)
            # the files the engine could not convert are failed before the MANIFEST completes: a
            # run killed in between leaves it processing (re-run), never completed with files the
            # reaper would then complete without their rows
            files = _settle_failed_files(context, stats.get("failed_files", {}), files, tracking_table, alerts, manifest)
            if tracking_table.complete_manifest(manifest, context.run.run_id, rows_in=stats["rows_in"], rows_out=stats["rows_out"],
                                                rejected=stats["rejected"], output_paths=stats["output_paths"],
                                                failed_files=sorted(stats.get("failed_files", {}))) is None:
                raise Failure(description=f"{manifest}: another run took this manifest over while this one converted it; "
                                          "its outputs are the same paths, the other run settles it")
            tracking_table.settle_files(files, "completed", manifest, completed_by=context.run.run_id, engine=engine)
            untagged = mark_ingested(client, files)
            if untagged:
                context.log.warning(f"{manifest}: {len(untagged)} landing file(s) not tagged as ingested (they will not "
                                    f"expire by lifecycle): {untagged[:5]}")
            tracking_table.record_breaker_success(breaker_mark)
            mb_per_s = stats["bytes_in"] / 1024 / 1024 / duration
            record_metrics(metrics_table, manifest, "completed", stats, duration, settings)
            context.log.info(f"{manifest}: {stats['rows_out']} rows from {stats['files']} files in {duration:.1f} s ({mb_per_s:.1f} MB/s)")
            ledger_ok = stats["rows_in"] == stats["rows_out"] + stats["rejected"]
            return MaterializeResult(
                metadata={
                    "engine": engine,
                    "files": stats["files"],
                    "input_bytes": stats["bytes_in"],
                    "rows_in": stats["rows_in"],
                    "rows_out": stats["rows_out"],
                    "rejected_lines": stats["rejected"],
                    "output_paths": MetadataValue.json(stats["output_paths"]),
                    "output_prefix": MetadataValue.url(f"s3://{names.parquet_output_bucket}/{output_prefix(manifest)}"),
                    "rejects_path": MetadataValue.url(stats["rejects_path"] or f"s3://{names.parquet_output_bucket}/{rejects_key(manifest)} (none)"),
                    "duration_s": round(duration, 3),
                    "mb_per_s": round(mb_per_s, 2),
                    "excluded_files": MetadataValue.json(document.get("excluded_files", [])),
                    "failed_files": MetadataValue.json(stats.get("failed_files", {})),
                    "schema": MetadataValue.table_schema(TableSchema(columns=[TableColumn(c["name"], c["type"]) for c in stats["schema"]])),
                },
                check_results=[AssetCheckResult(
                    check_name="exactly_once_ledger", passed=ledger_ok,
                    metadata={"rows_in": stats["rows_in"], "rows_out": stats["rows_out"], "rejected": stats["rejected"]},
                )],
            )

    return landing, ndjson_manifest, merged_parquet


def _leave_out_overwritten(context, document: dict, files: list[dict], client, tracking_table: FileTrackingTable,
                           alerts: AlertsTopic, manifest_bucket: str) -> dict:
    """The manifest without files overwritten since their claim: each ends failed#N with
    the reason, the manifest JSON is rewritten (the Glue job reads it) and an alert is sent."""
    manifest = document["manifest_id"]
    reasons = overwritten_sources(client, tracking_table, document)
    if not reasons:
        return document
    document = exclude_files(document, reasons)
    client.put_object(Bucket=manifest_bucket, Key=manifest_key(manifest), Body=json.dumps(document, indent=1).encode(),
                      ContentType="application/json")
    tracking_table.settle_files([f for f in files if f["file_key"] in reasons], "failed", manifest, errors=reasons)
    tracking_table.update_manifest(manifest, file_count=document["file_count"], total_bytes=document["total_bytes"],
                                   excluded_files=sorted(reasons))
    for key, reason in sorted(reasons.items()):
        context.log.warning(f"{manifest}: left out {key}: {reason}")
    alerts.publish_alert(f"NDJSON manifest {manifest}: {len(reasons)} file(s) overwritten after their claim", {
        "manifest_id": manifest, "date_prefix": document["date_prefix"], "excluded_files": reasons,
        "run_id": context.run.run_id,
    })
    return document


def _settle_failed_files(context, failed: dict[str, str], files: list[dict], tracking_table: FileTrackingTable,
                         alerts: AlertsTopic, manifest: str) -> list[dict]:
    """The engine could not convert the files in `failed` (file key -> why): each ends
    failed#N with its reason, an alert names them, and the manifest's other files are
    returned to be completed. They stay in the manifest: a replay converts all its files
    again into the same output paths (parts are named by manifest), so a file that then
    converts is added and the others are written once more, never twice."""
    if not failed:
        return files
    tracking_table.settle_files([f for f in files if f["file_key"] in failed], "failed", manifest, errors=failed)
    for key, reason in sorted(failed.items()):
        context.log.warning(f"{manifest}: {key} failed: {reason}")
    alerts.publish_alert(f"NDJSON manifest {manifest}: {len(failed)} file(s) could not be converted", {
        "manifest_id": manifest, "date_prefix": date_of_manifest(manifest), "failed_files": failed,
        "run_id": context.run.run_id,
    })
    return [f for f in files if f["file_key"] not in failed]


def _run_spark(context, glue: GlueJobRunner, manifest: str, settings: Settings) -> dict:
    """The Glue job glue_jobs/ndjson_to_parquet.py; it reports its statistics through Pipes."""
    names = settings.names
    invocation = glue.run(
        context,
        job_name=names.ndjson_glue_job,
        script="ndjson_to_parquet.py",
        arguments={
            "manifest_path": f"s3://{names.manifest_bucket}/{manifest_key(manifest)}",
            "output_bucket": names.parquet_output_bucket,
            "mode": settings.ingestion.conversion_mode,
        },
        # Spark cannot reach an emulator's S3: stage Parquet on local disk, in local mode.
        local_arguments={"stage_locally": "true", "spark_master": "local[2]"},
    )
    reports = invocation.get_custom_messages()
    if not reports:
        raise RuntimeError(f"Glue job {names.ndjson_glue_job} ended without reporting its result")
    return reports[-1]
