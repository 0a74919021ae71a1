"""Pipeline B's dashboard and health check in Dagster (seed 003's CloudWatch dashboard and
alarms, seed 002's scheduled health checks of the state manager).

- `pipeline_healthy`, an asset check on the landing asset, run by `ndjson_health_check_job`
  on `ETL_HEALTH_CHECK_CRON` (every 15 minutes): a health snapshot (health_reads.py) judged
  by core/ingestion/health.py. Its metadata is the snapshot in numbers (the check's history
  plots them) and the same text `etl-platform ops health` prints. Unhealthy, it fails (ERROR
  when work is stopped, WARN when it waits) and, with `ETL_HEALTH_ALERTS` on (the default in
  prod), publishes the problems to the alerts topic; the schedule runs by default only then.
- `pipeline_health`, one partition per day: that day's metrics items (manifests completed
  and failed, files, MB, rows, throughput, reconciliation passes) as numeric metadata,
  which Dagster plots across the days. `pipeline_health_schedule` refreshes today's partition
  every hour, and yesterday's once more in the first hour of a day; any other day is a
  backfill away.
"""


from datetime import datetime, timedelta, timezone

from dagster import (
    AssetCheckExecutionContext, AssetCheckResult, AssetCheckSeverity, AssetExecutionContext, AssetSelection,
    DefaultScheduleStatus, Definitions, MaterializeResult, MetadataValue, RunRequest, ScheduleDefinition,
    ScheduleEvaluationContext, asset, asset_check, define_asset_job, schedule,
)

from etl_platform.config import Settings
from etl_platform.core.ingestion.health import numbers, problems, render
from etl_platform.core.ingestion.metrics_summary import summarise_day
from etl_platform.pipelines.ndjson_to_parquet.assets import GROUP
from etl_platform.pipelines.ndjson_to_parquet.health_reads import health_thresholds, take_snapshot
from etl_platform.pipelines.ndjson_to_parquet.partitions import ndjson_dates_partitions
from etl_platform.pipelines.ndjson_to_parquet.validation import LANDING_ASSET
from etl_platform.resources.dynamodb import DynamoTable
from etl_platform.resources.sns import AlertsTopic
from etl_platform.resources.sqs import SqsQueue
from etl_platform.resources.tracking import FileTrackingTable
from etl_platform.console_log import CONSOLE_RUN_CONFIG

HEALTH_CHECK_JOB = "ndjson_health_check_job"
HEALTH_JOB = "pipeline_health_job"


def _numeric(values: dict[str, int | float]) -> dict[str, MetadataValue]:
    return {name: MetadataValue.float(float(v)) if isinstance(v, float) else MetadataValue.int(int(v))
            for name, v in values.items()}


def build_health_check(settings: Settings):
    thresholds = health_thresholds(settings)

    @asset_check(asset=LANDING_ASSET, name="pipeline_healthy",
                 description="Pipeline B's health: dead letters, pending files older than "
                             f"{thresholds.pending_age_seconds} s, manifests stuck without a live run, the circuit "
                             "breaker (`etl-platform ops health` prints the same)")
    def pipeline_healthy(context: AssetCheckExecutionContext, tracking_table: FileTrackingTable,
                         file_events_queue: SqsQueue, dead_letter_queue: SqsQueue, alerts: AlertsTopic) -> AssetCheckResult:
        snapshot = take_snapshot(settings, context.instance, tracking_table, file_events_queue, dead_letter_queue)
        found = problems(snapshot, thresholds)
        figures = numbers(snapshot, thresholds)
        for problem in found:
            context.log.warning(f"{problem.code}: {problem.message}")
        alerted = bool(found) and settings.health_alerts
        if alerted:
            alerts.publish_alert(f"NDJSON pipeline unhealthy ({settings.env}): {', '.join(p.code for p in found)}", {
                "check": "pipeline_healthy", "env": settings.env,
                "problems": [{"code": p.code, "message": p.message, "severe": p.severe} for p in found],
                "figures": figures,
            })
        return AssetCheckResult(
            passed=not found,
            severity=AssetCheckSeverity.ERROR if any(p.severe for p in found) else AssetCheckSeverity.WARN,
            metadata={**_numeric(figures), "alerted": MetadataValue.bool(alerted),
                      "report": MetadataValue.md(f"```\n{render(snapshot, thresholds)}\n```")},
            description="; ".join(p.message for p in found) or "healthy",
        )

    job = define_asset_job(HEALTH_CHECK_JOB, selection=AssetSelection.checks(pipeline_healthy), config=CONSOLE_RUN_CONFIG,
                           description="Checks pipeline B's health; alerts through SNS when ETL_HEALTH_ALERTS is on")
    check_schedule = ScheduleDefinition(
        name="ndjson_health_check_schedule", job=job, cron_schedule=settings.health.check_cron,
        default_status=DefaultScheduleStatus.RUNNING if settings.health_alerts else DefaultScheduleStatus.STOPPED)
    return pipeline_healthy, job, check_schedule


def build_pipeline_health(settings: Settings):
    names = settings.names

    @asset(name="pipeline_health", partitions_def=ndjson_dates_partitions, deps=["merged_parquet"], group_name=GROUP,
           kinds={"dynamodb"},
           description=f"One day of {names.metrics_table} (manifests of files landed that day): manifests completed "
                       "and failed, files, MB, rows, throughput, reconciliation passes, as numbers Dagster plots")
    def pipeline_health(context: AssetExecutionContext, metrics_table: DynamoTable) -> MaterializeResult:
        # one day's items: one per manifest of the day and one per reconciliation pass
        items = list(metrics_table.query(key_condition="date_prefix = :d", values={":d": context.partition_key}))
        summary = summarise_day(items)
        context.log.info(f"{context.partition_key}: {summary['manifests_completed']} manifests completed, "
                         f"{summary['manifests_failed']} failed, {summary['files_converted']} files converted")
        return MaterializeResult(metadata=_numeric(summary))

    job = define_asset_job(HEALTH_JOB, selection=[pipeline_health], config=CONSOLE_RUN_CONFIG, description=f"Summarises a day of {names.metrics_table}")

    @schedule(name="pipeline_health_schedule", job=job, cron_schedule="5 * * * *",
              default_status=DefaultScheduleStatus.RUNNING,
              description="Refreshes today's pipeline_health partition every hour (and yesterday's in the first hour)")
    def pipeline_health_schedule(context: ScheduleEvaluationContext):
        moment = (context.scheduled_execution_time or datetime.now(timezone.utc)).astimezone(timezone.utc)
        days = [moment.date()] + ([moment.date() - timedelta(days=1)] if moment.hour == 0 else [])
        return [RunRequest(run_key=f"{day.isoformat()}@{moment:%Y-%m-%dT%H}", partition_key=day.isoformat())
                for day in days]

    return pipeline_health, job, pipeline_health_schedule


def health_definitions(settings: Settings) -> Definitions:
    check, check_job, check_schedule = build_health_check(settings)
    summary, summary_job, summary_schedule = build_pipeline_health(settings)
    return Definitions(assets=[summary], asset_checks=[check], jobs=[check_job, summary_job],
                       schedules=[check_schedule, summary_schedule])
