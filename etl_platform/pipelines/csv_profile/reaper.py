"""Pipeline C's reaper: end profile runs whose worker died, so they are settled and re-run.

A profile run whose worker is SIGKILLed (OOM, lost host) stays STARTED for ever with
Dagster's default run launcher, which cannot check its workers, so no run-status sensor
fires and the file keeps its stale profile. The step beats on its run
(etl_platform/run_heartbeat.py); this sensor reports a run silent for `silent_run_seconds`
as FAILURE, and `csv_profile_failed_runs` (settlement.py) then records the error and
profiles the file again. Runs that ended are the settlement sensors' business; runs that
never start are failed by Dagster's run monitoring (`start_timeout_seconds`).
"""

from __future__ import annotations

import time

from dagster import DefaultSensorStatus, SensorEvaluationContext, SkipReason, sensor

from etl_platform.config import Settings
from etl_platform.run_heartbeat import end_silent_runs


def build_reaper(settings: Settings, job):
    recovery = settings.recovery

    @sensor(minimum_interval_seconds=recovery.reaper_interval_seconds, default_status=DefaultSensorStatus.RUNNING,
            description=f"Ends runs of {job.name} whose worker died (silent {recovery.silent_run_seconds:.0f} s)")
    def csv_profile_reaper(context: SensorEvaluationContext):
        ended = end_silent_runs(context.instance, job.name, time.time(), recovery.silent_run_seconds)
        for run_id, verdict in ended:
            context.log.info(f"run {run_id}: reported FAILURE ({verdict.reason})")
        return SkipReason(f"ended {len(ended)} runs whose worker died" if ended else "no profile run is silent")

    return csv_profile_reaper
