"""Drive pipeline B in-process against the emulator: land files, tick the sensor, run."""

from __future__ import annotations

import io
import json
import random
from dataclasses import replace
from types import SimpleNamespace

import pyarrow.parquet as pq
from dagster import DagsterInstance, Definitions, build_sensor_context

from etl_platform import glue_runtimes
from etl_platform.config import Settings
from etl_platform.infra_template import ResolvedTemplate
from etl_platform.core.ingestion.manifests import date_of_manifest
from etl_platform.pipelines.ndjson_to_parquet import JOB_NAME, ndjson_to_parquet_definitions
from etl_platform.pipelines.ndjson_to_parquet.partitions import MANIFEST_TAG
from etl_platform.pipelines.ndjson_to_parquet.validation import VALIDATION_JOB
from etl_platform.resources import platform_resources
from etl_platform.resources.glue import GlueJobRunner

MAX_VALIDATION_RUNS_PER_TICK = 20  # a queue that still has visible messages after this many runs is a bug


def scaled(settings: Settings, **ingestion) -> Settings:
    defaults = dict(file_min_bytes=200, manifest_max_files=5, orphan_flush_seconds=3600,
                    sqs_visibility_seconds=30, validation_max_seconds_per_run=10)
    return settings.with_overrides(ingestion=replace(settings.ingestion, **{**defaults, **ingestion}))


def glue_on_its_runtime(settings: Settings, job_name: str) -> tuple[GlueJobRunner, str]:
    """A local Glue runner that runs `job_name` on the runtime its template definition declares
    (built on first use, cached across runs), and that runtime's interpreter."""
    template = ResolvedTemplate.from_file(settings.infra_template, env=settings.env,
                                          account_id=settings.account_id, region=settings.region)
    python = str(glue_runtimes.build(glue_runtimes.runtimes(template)[job_name]))
    runner = GlueJobRunner.from_settings(settings, platform_resources(settings)["aws"])
    return GlueJobRunner(**{**runner.__dict__, "runtime_pythons": {job_name: python}}), python


def local_runner_commands(instance: DagsterInstance, run_id: str) -> list[str]:
    """The commands the local Glue runner logged in a run."""
    prefix = "local Glue runner: "
    return [e.user_message[len(prefix):] for e in instance.all_logs(run_id) if e.user_message.startswith(prefix)]


class Pipeline:
    def __init__(self, settings: Settings, **resource_overrides):
        self.settings = settings
        self.names = settings.names
        self.resources = {**platform_resources(settings), **resource_overrides}
        self.defs = Definitions.merge(ndjson_to_parquet_definitions(settings), Definitions(resources=self.resources))
        self.s3 = self.resources["s3"].get_client()
        self.tracking = self.resources["tracking_table"]
        self.instance = DagsterInstance.ephemeral()
        self.cursor = None
        self.observations = []  # the asset events the sensor's evaluations returned (the daemon records them)

    def land(self, date_prefix: str, name: str, records: list[dict], extra_lines: list[str] = (), body: bytes | None = None) -> str:
        if body is None:
            lines = [json.dumps(r) for r in records] + list(extra_lines)
            body = ("\n".join(lines) + "\n").encode()
        key = f"landing/ndjson/{date_prefix}/{name}"
        self.s3.put_object(Bucket=self.names.ndjson_input_bucket, Key=key, Body=body)
        return key

    def evaluate_sensor(self):
        """One evaluation of the file-events sensor, as the daemon does it."""
        sensor = self.defs.resolve_sensor_def("ndjson_file_events_sensor")
        resources = {k: self.defs.resources[k] for k in ("file_events_queue", "tracking_table", "s3")}
        with build_sensor_context(instance=self.instance, cursor=self.cursor, resources=resources, definitions=self.defs) as context:
            result = sensor(context)
        if result.cursor is not None:
            self.cursor = result.cursor
        self.observations += result.asset_events or []
        for request in result.dynamic_partitions_requests or []:
            self.instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        return result

    def validate(self, tags: dict | None = None):
        """One run of the validation job (what the sensor requests locally)."""
        job = self.defs.resolve_job_def(VALIDATION_JOB)
        return job.execute_in_process(instance=self.instance, raise_on_error=False, tags=tags or {})

    def tick(self):
        """What the daemon does within one sensor interval: evaluate the sensor, execute the
        validation runs it requests, evaluate it again (now for the files those runs
        tracked), until it requests no validation. The manifest run requests of every
        evaluation, the last skip reason, and the validation runs."""
        requests, validations, skip = [], [], None
        for _ in range(MAX_VALIDATION_RUNS_PER_TICK):
            result = self.evaluate_sensor()
            skip = result.skip_reason.skip_message if result.skip_reason else None
            wanted = [r for r in result.run_requests or [] if r.job_name == VALIDATION_JOB]
            requests += [r for r in result.run_requests or [] if r.job_name != VALIDATION_JOB]
            if not wanted:
                return SimpleNamespace(run_requests=requests, skip_reason=skip, validations=validations)
            validations += [self.validate(r.tags) for r in wanted]
        raise AssertionError(f"the sensor kept requesting validation runs ({len(validations)} ran)")

    def run(self, manifest: str, tags: dict | None = None):
        """Run `manifest` as its run request would: its date's partition, its id as run tag."""
        job = self.defs.resolve_job_def(JOB_NAME)
        return job.execute_in_process(instance=self.instance, partition_key=date_of_manifest(manifest),
                                      raise_on_error=False, tags={**(tags or {}), MANIFEST_TAG: manifest})

    def drain(self, max_ticks: int = 20, tags: dict | None = None) -> dict:
        """Tick and run until a tick requests nothing; {manifest: success}."""
        results = {}
        for _ in range(max_ticks):
            tick = self.tick()
            if not tick.run_requests:
                return results
            for request in tick.run_requests:
                results[manifest_id_of(request)] = self.run(manifest_id_of(request), tags).success
        raise AssertionError("the sensor kept requesting runs")

    def output_rows(self, date_prefix: str) -> list[dict]:
        rows = []
        bucket = self.names.parquet_output_bucket
        listing = self.s3.list_objects_v2(Bucket=bucket, Prefix=f"output/merged-parquet-{date_prefix}/")
        for obj in listing.get("Contents", []):
            body = self.s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            rows += pq.read_table(io.BytesIO(body)).to_pylist()
        return rows


def manifest_id_of(request) -> str:
    """The manifest a run request is for (its run tag; the partition is its date)."""
    return request.tags[MANIFEST_TAG]


def records(prefix: str, count: int, seed: int = 0) -> list[dict]:
    rng = random.Random(f"{prefix}-{seed}")
    return [
        {"id": f"{prefix}-{i}", "n": rng.randint(0, 1000), "score": round(rng.random(), 6),
         "user": {"name": f"u{rng.randint(0, 99)}", "tags": [rng.choice("abc") for _ in range(rng.randint(0, 3))]},
         "note": "x" * rng.randint(0, 40)}
        for i in range(count)
    ]
