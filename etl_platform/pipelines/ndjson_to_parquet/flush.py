"""Form manifests now, whatever the thresholds: `ndjson_flush_job` (launch it from the UI's
Launchpad, a date or none in its config) and `etl-platform ingest flush [--date D]`, both
through `flush_now`.

The flush mints the manifests as the file-events sensor does (planning.py, `minted_by`
flush); the sensor's next tick requests their runs (run key the manifest id, so one run
each however many ticks see them), and those runs claim the files with the same conditional
writes as any run: exactly once, whatever a concurrent tick or flush does. A flush run
that never comes (no daemon) is the reaper's, as for any manifest no run took.
"""


import time
from datetime import datetime

from dagster import Config, Failure, OpExecutionContext, job, op
from pydantic import Field

from etl_platform.config import Settings
from etl_platform.core.ingestion.breaker import blocking_reason
from etl_platform.pipelines.ndjson_to_parquet.planning import flush
from etl_platform.resources.tracking import FileTrackingTable
from etl_platform.console_log import CONSOLE_RUN_CONFIG

FLUSH_JOB = "ndjson_flush_job"


class FlushRefused(RuntimeError):
    """Nothing flushed: a bad date, or the circuit breaker holds new manifests back."""


def flush_now(tracking: FileTrackingTable, settings: Settings, date_prefix: str | None,
              now: float | None = None) -> tuple[list[tuple[str, str, str]], list[str]]:
    """The manifests minted (id, date, reason) and one line per date (planning.flush)."""
    now = time.time() if now is None else now
    if date_prefix:
        try:
            datetime.strptime(date_prefix, "%Y-%m-%d")
        except ValueError:
            raise FlushRefused(f"date {date_prefix!r} is not YYYY-MM-DD") from None
    ingestion = settings.ingestion
    paused = blocking_reason(tracking.breaker(), now, ingestion.circuit_breaker_failures,
                             ingestion.circuit_breaker_cooldown_seconds)
    if paused:
        raise FlushRefused(f"nothing flushed: {paused}")
    return flush(tracking, settings, now, date_prefix or None)


class FlushConfig(Config):
    date_prefix: str = Field(default="", description="The date (YYYY-MM-DD) whose pending files to flush; "
                                                     "empty: every date with pending files")


def build_flush_job(settings: Settings):
    @op(description="Mints manifests now from the pending files of a date (or of every date); the file-events "
                    "sensor requests their runs at its next tick")
    def flush_pending_files(context: OpExecutionContext, config: FlushConfig, tracking_table: FileTrackingTable) -> None:
        try:
            minted, lines = flush_now(tracking_table, settings, config.date_prefix)
        except FlushRefused as exc:
            raise Failure(description=str(exc), allow_retries=False) from exc
        for line in lines:
            context.log.info(line)
        if minted:
            context.log.info(f"the file-events sensor requests the runs of {len(minted)} manifest(s) at its next tick")

    @job(name=FLUSH_JOB, config=CONSOLE_RUN_CONFIG, description="Form manifests now from a date's pending files (config date_prefix; empty: "
                                     "every date), without waiting for the count, size or orphan-flush thresholds")
    def ndjson_flush_job():
        flush_pending_files()

    return ndjson_flush_job
