"""Small helpers shared by tests."""

from __future__ import annotations

import os
import socket
import sys
import time
import urllib.request
from pathlib import Path

from etl_platform.config import PROJECT_ROOT

VENV_BIN = Path(sys.executable).parent
# Screenshots the UI tests take, each run (not committed: git ignores the folder). The copies
# shown in the README and the closing notes are in docs/screenshots/.
TEST_ARTIFACTS = PROJECT_ROOT / "test-artifacts"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cli_env(state_dir: Path, **extra: str) -> dict[str, str]:
    """Environment for running the `etl-platform` command against a private state dir."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETL_")}
    env.update(ETL_STATE_DIR=str(state_dir), ETL_MODE="local", **extra)
    return env


def wait_for_http(url: str, timeout: float = 120.0) -> bytes:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read()
        except OSError as exc:
            last_error = exc
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer in {timeout} s: {last_error}")


def tick_sensor(defs, instance, sensor_name: str, resource_keys: tuple[str, ...], cursor: str | None = None):
    """One evaluation of a sensor, with the dynamic partitions it asks for added or deleted,
    as the daemon does; a SkipReason comes back as no run requests and the same cursor."""
    from types import SimpleNamespace

    from dagster import DeleteDynamicPartitionsRequest, build_sensor_context

    sensor = defs.resolve_sensor_def(sensor_name)
    resources = {key: defs.resources[key] for key in resource_keys}
    with build_sensor_context(instance=instance, cursor=cursor, resources=resources, definitions=defs) as context:
        result = sensor(context)
    if not hasattr(result, "run_requests"):
        return SimpleNamespace(run_requests=[], cursor=cursor)
    for request in result.dynamic_partitions_requests or []:
        if isinstance(request, DeleteDynamicPartitionsRequest):
            for key in request.partition_keys:
                instance.delete_dynamic_partition(request.partitions_def_name, key)
        else:
            instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    return result


def reconciling(settings, pipeline_definitions):
    """A pipeline's definitions with the platform's resources, whose reconciliation takes
    objects at once (no grace for their events or upload sensor)."""
    from dagster import Definitions

    from etl_platform.resources import platform_resources

    settings = settings.with_overrides(reconcile_grace_seconds=0)
    return Definitions.merge(pipeline_definitions(settings), Definitions(resources=platform_resources(settings)))


def run_as_daemon(job, instance, request) -> bool:
    """Execute a sensor's run request as the daemon launches it: its tags plus its run key."""
    from etl_platform.pipelines.reconciliation import RUN_KEY_TAG

    tags = {**request.tags, RUN_KEY_TAG: request.run_key}
    return job.execute_in_process(instance=instance, partition_key=request.partition_key, tags=tags,
                                  raise_on_error=False).success


def execute_landing_reconciled(defs, instance, landing: str):
    """Execute `landing`'s `landing_reconciled` check by hand, as the UI's "Execute" does; its evaluation."""
    from dagster import AssetCheckKey, AssetKey, AssetSelection, Definitions, define_asset_job

    key = AssetCheckKey(AssetKey(landing), "landing_reconciled")
    job = define_asset_job("check_by_hand", selection=AssetSelection.checks(key))
    [evaluation] = Definitions.merge(defs, Definitions(jobs=[job])).resolve_job_def("check_by_hand").execute_in_process(
        instance=instance).get_asset_check_evaluations()
    return evaluation


def reconcile(defs, instance, sensor_name: str, resource_keys: tuple[str, ...], landing: str):
    """One pass of a reconciliation sensor: (its result, its observation's metadata as plain
    values, its `landing_reconciled` check evaluation), both on the `landing` asset."""
    result = tick_sensor(defs, instance, sensor_name, resource_keys)
    observation, check = result.asset_events
    assert observation.asset_key.path == check.asset_key.path == [landing]
    assert check.check_name == "landing_reconciled"
    return result, {k: v.value for k, v in observation.metadata.items()}, check


__all__ = ["PROJECT_ROOT", "VENV_BIN", "cli_env", "execute_landing_reconciled", "free_port", "reconcile", "reconciling", "run_as_daemon",
           "tick_sensor", "wait_for_http"]
