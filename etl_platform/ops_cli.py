"""`etl-platform ops ...`: seed 002's state manager for pipeline B (registered by cli.py).

Run liveness (is a manifest's run alive?) is read from the Dagster instance of DAGSTER_HOME,
else the project's (`etl-platform local env` exports it): the one the daemon records runs in.
Settings come from cli's `_aws_settings` (one line at once when the stack is down), imported
in each command: cli.py registers this module's group after defining it.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict

import click


def _instance(settings):
    from etl_platform.local.devstack import dagster_instance

    return dagster_instance(settings)


@click.group()
def ops() -> None:
    """Pipeline B's state manager: health, a manifest's files, stuck and failed work."""


@ops.command("health")
@click.option("--json", "as_json", is_flag=True, help="Print the snapshot and its problems as JSON.")
def ops_health(as_json: bool) -> None:
    """Queue and DLQ depth, pending files per date and shard with their ages, open and stuck
    manifests, failed manifests, the circuit breaker. Exits 1 when unhealthy."""
    from etl_platform.core.ingestion.health import numbers, problems, render
    from etl_platform.cli import _aws_settings
    from etl_platform.pipelines.ndjson_to_parquet.maintenance import health

    settings = _aws_settings()
    snapshot, thresholds = health(settings, _instance(settings))
    found = problems(snapshot, thresholds)
    if as_json:
        click.echo(json.dumps({"healthy": not found, "problems": [asdict(p) for p in found],
                               "figures": numbers(snapshot, thresholds), "snapshot": asdict(snapshot),
                               "thresholds": asdict(thresholds)}, indent=2))
    else:
        click.echo(render(snapshot, thresholds))
    sys.exit(1 if found else 0)


@ops.command("manifest")
@click.argument("manifest_id")
@click.option("--json", "as_json", is_flag=True, help="Print the record and its files as JSON.")
def ops_manifest(manifest_id: str, as_json: bool) -> None:
    """A manifest's record and its files with their states."""
    from etl_platform.core.ingestion.manifest_view import render_manifest
    from etl_platform.cli import _aws_settings
    from etl_platform.pipelines.ndjson_to_parquet.maintenance import manifest_report

    try:
        view = manifest_report(_aws_settings(), manifest_id)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(view, indent=2, default=str) if as_json else render_manifest(view))


@ops.command("reset-stuck")
@click.option("--older-than", type=float, default=None,
              help="Seconds an open manifest without a live run must be unchanged (default ETL_HEALTH_STUCK_MANIFEST_SECONDS).")
@click.option("--dry-run", is_flag=True, help="Say what would be reset; change nothing.")
def ops_reset_stuck(older_than: float | None, dry_run: bool) -> None:
    """Fail stuck manifests the way the reaper does after its last attempt (files failed,
    breaker count, SNS alert), and settle files a dead run left behind a settled manifest;
    `ops requeue-failed` then replays them."""
    from etl_platform.cli import _aws_settings
    from etl_platform.pipelines.ndjson_to_parquet.maintenance import reset_stuck

    settings = _aws_settings()
    outcomes, stranded = reset_stuck(settings, _instance(settings), older_than, dry_run)
    for manifest, count in sorted(stranded.items()):
        click.echo(f"{manifest}: settled {count} stranded file(s)")
    for outcome in outcomes:
        click.echo(f"{outcome.manifest_id}: {outcome.why}")
    reset = sum(o.reset for o in outcomes)
    click.echo(f"{reset} stuck manifest(s) reset, {len(outcomes) - reset} left" + (" (dry run)" if dry_run else ""))


@ops.command("requeue-failed")
@click.option("--date", "date_prefix", default=None, help="Only manifests of this date (YYYY-MM-DD).")
@click.option("--limit", default=20, show_default=True, help="Manifests replayed at most.")
@click.option("--dry-run", is_flag=True, help="List what would be replayed; replay nothing.")
def ops_requeue_failed(date_prefix: str | None, limit: int, dry_run: bool) -> None:
    """Replay manifests that failed, or have files that failed (`ingest replay` for each, one
    after the other): the same files into the same output paths. Exits 1 if one fails again."""
    from etl_platform.cli import _aws_settings
    from etl_platform.pipelines.ndjson_to_parquet.maintenance import requeue_failed

    settings = _aws_settings()
    results, more = requeue_failed(settings, _instance(settings), date_prefix, limit, dry_run)
    for failed, ok in results:
        outcome = "would be replayed" if ok is None else "completed" if ok else "failed again (see its run in the Dagster UI)"
        click.echo(f"{failed.manifest_id}: {failed.status}, {failed.failed_files} failed file(s): {outcome}")
    click.echo(f"{len(results)} manifest(s) {'listed' if dry_run else 'replayed'}"
               + ("; more wait (run it again)" if more else ""))
    sys.exit(1 if any(ok is False for _, ok in results) else 0)
