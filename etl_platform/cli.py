"""The `etl-platform` command."""

from __future__ import annotations

import json
import logging
import signal
import sys
from dataclasses import replace
from pathlib import Path

import click

from etl_platform.config import Settings


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


def _stack_down(endpoint: str | None) -> str:
    return (f"the embedded AWS is not running (nothing answers at {endpoint}): "
            "start the stack with `make up` (or `etl-platform local up`)")


def _aws_settings() -> Settings:
    """Settings of a command that reads AWS; locally, one line at once if the emulator is down
    (boto3 would retry for seconds first)."""
    from etl_platform.local.ports import answers

    settings = _settings()
    if settings.is_local and not answers(settings.endpoint_url):
        raise click.ClickException(_stack_down(settings.endpoint_url))
    return settings


class _OneLineErrors(click.Group):
    """An AWS endpoint that does not answer is one line on stderr and exit code 1, whatever
    the command, never a traceback."""

    def invoke(self, ctx: click.Context):
        from botocore.exceptions import ConnectionError as AwsConnectionError, HTTPClientError

        try:
            return super().invoke(ctx)
        except (AwsConnectionError, HTTPClientError) as exc:
            settings = _settings()
            if settings.is_local:
                raise click.ClickException(_stack_down(settings.endpoint_url)) from exc
            raise click.ClickException(f"AWS did not answer: {exc}") from exc


@click.group(cls=_OneLineErrors)
@click.option("-v", "--verbose", is_flag=True, help="Log progress.")
def main(verbose: bool) -> None:
    """etl-platform: Parquet->JSON jobs, NDJSON->Parquet ingestion and CSV profiling on Dagster."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(message)s")


@main.group()
def local() -> None:
    """The embedded AWS (a moto server that keeps its state under .etl-platform/)."""


@local.command("up")
@click.option("--port", type=int, help="Port on 127.0.0.1 (default ETL_LOCAL_PORT or 4566; 0 = any free port).")
@click.option("--read-lag", type=float, help="Eventually consistent DynamoDB reads lag writes by this many seconds.")
@click.option("--expiry/--no-expiry", default=None, help="Enforce DynamoDB TTL and S3 lifecycle expiration.")
@click.option("--strict-limits/--no-strict-limits", default=None, help="Refuse what AWS's limits refuse.")
def local_up(port: int | None, read_lag: float | None, expiry: bool | None, strict_limits: bool | None) -> None:
    """Start the emulator in the background, provision it and restore its last state.

    Strict modes (README, "Strict modes of the embedded AWS") default to the ETL_EMULATOR_*
    variables; they apply when this starts the emulator, not to one already running."""
    from etl_platform.local import emulator

    settings = _settings()
    wanted = {"read_lag": read_lag, "expiry": expiry, "strict_limits": strict_limits}
    try:
        state = emulator.up(settings, port=port, strict={k: v for k, v in wanted.items() if v is not None})
    except emulator.EmulatorError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"embedded AWS running on {state.endpoint} (pid {state.pid})")


@local.command("down")
def local_down() -> None:
    """Save a snapshot and stop the emulator."""
    from etl_platform.local import emulator

    settings = _settings()
    click.echo("stopped; state saved under " + str(settings.snapshot_dir) if emulator.down(settings) else "not running")


@local.command("status")
def local_status() -> None:
    """Say what runs where."""
    from etl_platform.local import emulator

    click.echo(json.dumps(emulator.status(_settings()), indent=2))


@local.command("env")
def local_env() -> None:
    """Print shell exports for the AWS CLI and the Dagster CLI: eval "$(etl-platform local env)".

    AWS_* point the AWS CLI at the emulator. DAGSTER_HOME is the project's instance (the
    one `etl-platform dev` runs), prepared if missing, so `dagster asset materialize -m
    etl_platform.definitions ...` sees the partitions the sensors added and its runs show
    in the UI; without it the Dagster CLI would run on a throwaway instance.
    """
    import shlex

    from etl_platform.aws import EMULATOR_CREDENTIALS
    from etl_platform.local.devstack import prepare_dagster_home

    settings = _settings()
    exports = {
        "AWS_ENDPOINT_URL": settings.endpoint_url,
        "AWS_ACCESS_KEY_ID": EMULATOR_CREDENTIALS["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": EMULATOR_CREDENTIALS["aws_secret_access_key"],
        "AWS_DEFAULT_REGION": settings.region,
        "DAGSTER_HOME": str(prepare_dagster_home(settings).resolve()),
    }
    for name, value in exports.items():
        click.echo(f"export {name}={shlex.quote(str(value))}")


@local.command("reset")
@click.confirmation_option(prompt="Delete every local object, item and message?")
def local_reset() -> None:
    """Wipe the saved state (and the running emulator's data), then provision afresh."""
    from etl_platform.local import emulator

    emulator.reset(_settings())
    click.echo("reset")


@main.command()
def dev() -> None:
    """Run everything locally: embedded AWS, Dagster webserver and daemon (Ctrl-C stops)."""
    from etl_platform.local import devstack
    from etl_platform.local.emulator import EmulatorError
    from etl_platform.local.ports import PortTaken

    try:
        code = devstack.run(_settings())
    except (PortTaken, EmulatorError) as exc:
        raise click.ClickException(str(exc)) from exc
    sys.exit(code)


@main.group()
def ingest() -> None:
    """Pipeline B (NDJSON -> Parquet) operations."""


@ingest.command("replay")
@click.argument("manifest_id")
@click.option("--engine", type=click.Choice(["arrow", "spark"]), help="Force an engine for this run.")
def ingest_replay(manifest_id: str, engine: str | None) -> None:
    """Run a (failed) manifest again: same files, same output paths, no duplicates."""
    from etl_platform.local.devstack import dagster_instance
    from etl_platform.pipelines.ndjson_to_parquet.operations import replay

    settings = _aws_settings()
    try:
        ok = replay(settings, manifest_id, dagster_instance(settings), engine)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{manifest_id}: {'completed' if ok else 'failed again (see the run in the Dagster UI)'}")
    sys.exit(0 if ok else 1)


@ingest.command("reset-breaker")
def ingest_reset_breaker() -> None:
    """Close the circuit breaker so the sensor requests processing runs again."""
    from etl_platform.pipelines.ndjson_to_parquet.operations import reset_breaker

    previous = reset_breaker(_aws_settings())
    click.echo(f"circuit breaker reset (was {previous.consecutive_failures} consecutive failures)")


@ingest.command("redrive-dlq")
@click.option("--limit", default=1000, show_default=True)
@click.option("--dry-run", is_flag=True,
              help="List what would move (message id, receives so far, object keys); move and consume nothing.")
def ingest_redrive(limit: int, dry_run: bool) -> None:
    """Move dead-lettered file events back to the file-events queue."""
    from etl_platform.pipelines.ndjson_to_parquet.operations import preview_dead_letters, redrive_dead_letters

    settings = _aws_settings()
    if not dry_run:
        click.echo(f"{redrive_dead_letters(settings, limit)} messages moved back")
        return
    listed = preview_dead_letters(settings, limit)
    for message in listed:
        click.echo(f"{message['message_id']}  receives={message['receives']}  {' '.join(message['object_keys'])}")
    click.echo(f"{len(listed)} messages would move back (dry run: nothing moved)")


@ingest.command("flush")
@click.option("--date", "date_prefix", default=None, metavar="YYYY-MM-DD",
              help="The date whose pending files to flush (default: every date with pending files).")
def ingest_flush(date_prefix: str | None) -> None:
    """Form manifests now from a date's pending files, without waiting for a threshold; the
    file-events sensor requests their runs at its next tick (the Dagster daemon: `make up`)."""
    from etl_platform.pipelines.ndjson_to_parquet.flush import FlushRefused, flush_now
    from etl_platform.resources import platform_resources

    settings = _aws_settings()
    try:
        minted, lines = flush_now(platform_resources(settings)["tracking_table"], settings, date_prefix)
    except FlushRefused as exc:
        raise click.ClickException(str(exc)) from exc
    for line in lines:
        click.echo(line)
    if minted:
        click.echo("the file-events sensor requests their runs at its next tick (every 10 s under the Dagster daemon)")


@ingest.command("status")
def ingest_status() -> None:
    """Pending files, quarantine, failures, queue depths and the circuit breaker."""
    import time

    from etl_platform.pipelines.ndjson_to_parquet.operations import status

    click.echo(json.dumps(status(_aws_settings(), time.time()), indent=2))


@main.command("concurrency")
@click.option("--show", is_flag=True, help="Print the pools and limits of ETL_ENV and what the instance holds; change nothing.")
def concurrency(show: bool) -> None:
    """Set the Dagster pools' limits of ETL_ENV in the instance of DAGSTER_HOME (a deployed
    instance; `etl-platform dev` does it for the local one at each start)."""
    from dagster import DagsterInstance

    from etl_platform.concurrency import applied_pool_limits, apply_pool_limits, pool_limits

    settings = _settings()
    with DagsterInstance.get() as instance:
        if show:
            held = applied_pool_limits(instance)
            for pool, limit in pool_limits(settings).items():
                click.echo(f"{pool}: {limit} (instance: {held.get(pool, 'no limit')})")
            return
        try:
            changed = apply_pool_limits(instance, settings)
        except RuntimeError as exc:
            raise click.ClickException(str(exc)) from exc
    for pool, limit in pool_limits(settings).items():
        before = f" (was {changed[pool][0] if changed[pool][0] is not None else 'unlimited'})" if pool in changed else ""
        click.echo(f"{pool}: {limit}{before}")


@main.group()
def infra() -> None:
    """Infrastructure as code (infra/template.yaml)."""


@infra.command("deploy")
@click.option("--env", "env", type=click.Choice(["dev", "prod"]), required=True)
@click.option("--no-wait", is_flag=True, help="Return once the stack operation has started.")
def infra_deploy(env: str, no_wait: bool) -> None:
    """Deploy the CloudFormation stack with boto3 and upload the Glue scripts."""
    from etl_platform.infra_deploy import deploy, stack_name

    settings = replace(_settings(), env=env)
    outputs = deploy(settings, wait=not no_wait)
    click.echo(f"stack {stack_name(settings)} deployed")
    for key, value in outputs.items():
        click.echo(f"  {key}: {value}")


@main.command()
@click.option("--host", default=None, help="Interface to listen on (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default ETL_API_PORT or 8000).")
def api(host: str | None, port: int | None) -> None:
    """Serve pipeline A's REST API and web page (OpenAPI schema at /docs and /openapi.json)."""
    import uvicorn

    from etl_platform.api import create_app

    from etl_platform.api.running import recorded_api

    settings = _settings()
    host, port = host or settings.jobs.api_host, port or settings.jobs.api_port
    # uvicorn shuts down on SIGTERM, then raises it again to the handler it found: exit through
    # Python, so the record below is removed (SIGINT already ends as a KeyboardInterrupt).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with recorded_api(settings, host, port):  # `jobs ...` in another shell finds it there
        uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


@main.group()
@click.option("--api-url", default=None,
              help="The REST API (default ETL_API_URL, else the running `etl-platform api`, else http://127.0.0.1:8000).")
@click.pass_context
def jobs(ctx: click.Context, api_url: str | None) -> None:
    """Pipeline A (Parquet -> JSON) jobs, through the REST API of `etl-platform api`."""
    from etl_platform.api.client import JobsClient

    ctx.obj = JobsClient(api_url or _settings().jobs.api_base_url)


def _api_call(call):
    from etl_platform.api.client import ApiError

    try:
        return call()
    except ApiError as exc:
        raise click.ClickException(str(exc)) from exc


@jobs.command("upload")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--trigger", is_flag=True, help="Start the conversion right away.")
@click.pass_obj
def jobs_upload(client, file: Path, trigger: bool) -> None:
    """Upload a Parquet FILE as a new job; prints its jobId."""
    click.echo(json.dumps(_api_call(lambda: client.upload(file, trigger=trigger)), indent=2))


@jobs.command("trigger")
@click.argument("job_id")
@click.pass_obj
def jobs_trigger(client, job_id: str) -> None:
    """Start (or restart a FAILED) conversion job."""
    click.echo(json.dumps(_api_call(lambda: client.trigger(job_id)), indent=2))


@jobs.command("status")
@click.argument("job_id")
@click.pass_obj
def jobs_status(client, job_id: str) -> None:
    """A job's status, times and error message."""
    click.echo(json.dumps(_api_call(lambda: client.status(job_id)), indent=2))


@jobs.command("list")
@click.option("--status", type=click.Choice(["PENDING", "RUNNING", "COMPLETED", "FAILED"]))
@click.pass_obj
def jobs_list(client, status: str | None) -> None:
    """Every job (newest first with --status): one line each; a malformed record shows what
    it has, `?` for the rest, and `MALFORMED: <what is wrong>`."""
    for job in _api_call(lambda: client.list(status)):
        shown = {name: job.get(name) or "?" for name in ("status", "createdAt", "fileName")}
        line = f"{job['jobId']}  {shown['status']:<9}  {shown['createdAt']}  {shown['fileName']}"
        if job.get("malformed"):
            line += f"  MALFORMED: {'; '.join(job['malformed'])}"
        click.echo(line)


@jobs.command("download")
@click.argument("job_id")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.pass_obj
def jobs_download(client, job_id: str, output: Path) -> None:
    """Save a COMPLETED job's JSON output to OUTPUT."""
    link = _api_call(lambda: client.download(job_id, output))
    click.echo(f"{link['fileName']} -> {output}")


from etl_platform.ops_cli import ops  # noqa: E402  (pipeline B's state manager, in its own module)

main.add_command(ops)

if __name__ == "__main__":
    main()
