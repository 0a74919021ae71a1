"""The platform's one settings object.

Everything configurable is read here, from documented environment variables (see the
README's "Configuration" table, which mirrors `ENV_VARS`); no other module reads the
environment. Resource names follow the seeds' conventions and are derived, never typed
twice: `infra/template.yaml` builds the same names with `!Sub`, and a test proves they agree.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal, Mapping

from etl_platform.process_records import live_record

Mode = Literal["local", "aws"]
Env = Literal["dev", "prod"]

MB = 1024 * 1024
LOCAL_ACCOUNT_ID = "123456789012"  # moto's default account: names match what the emulator reports
DEFAULT_LOCAL_PORT = 4566
PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class ResourceNames:
    """Physical names of every AWS resource of the three pipelines."""

    env: str
    account_id: str

    @property
    def suffix(self) -> str:
        # Bucket names are global: the seeds add a suffix; env + account keeps it deterministic.
        return f"{self.env}-{self.account_id}"

    # Pipeline A (seeds 000/001). Table and Glue job names carry no env, as in the seed.
    @property
    def jobs_input_bucket(self) -> str:
        return f"etl-pipeline-input-{self.suffix}"

    @property
    def jobs_output_bucket(self) -> str:
        return f"etl-pipeline-output-{self.suffix}"

    @property
    def jobs_scripts_bucket(self) -> str:
        return f"etl-pipeline-scripts-{self.suffix}"

    jobs_table: str = "etl-pipeline-jobs"
    jobs_status_index: str = "status-createdAt-index"
    parquet_to_json_glue_job: str = "etl-parquet-to-json-processor"

    # Pipeline B (seeds 002/003): ndjson-parquet-{component}-{env}
    def _ndjson_bucket(self, component: str) -> str:
        return f"ndjson-parquet-{component}-{self.suffix}"

    @property
    def ndjson_input_bucket(self) -> str:
        return self._ndjson_bucket("input")

    @property
    def manifest_bucket(self) -> str:
        return self._ndjson_bucket("manifest")

    @property
    def parquet_output_bucket(self) -> str:
        return self._ndjson_bucket("output")

    @property
    def quarantine_bucket(self) -> str:
        return self._ndjson_bucket("quarantine")

    @property
    def ndjson_scripts_bucket(self) -> str:
        return self._ndjson_bucket("scripts")

    @property
    def file_events_queue(self) -> str:
        return f"ndjson-parquet-file-events-{self.env}"

    @property
    def file_events_dlq(self) -> str:
        return f"ndjson-parquet-dlq-{self.env}"

    @property
    def tracking_table(self) -> str:
        return f"ndjson-parquet-sqs-file-tracking-{self.env}"

    @property
    def validator_function(self) -> str:
        # the seed's manifest-builder Lambda without the manifests (Dagster's sensor plans them)
        return f"ndjson-parquet-validator-{self.env}"

    tracking_status_index: str = "status-index"

    @property
    def metrics_table(self) -> str:
        return f"ndjson-parquet-sqs-metrics-{self.env}"

    @property
    def ndjson_glue_job(self) -> str:
        return f"ndjson-parquet-batch-job-{self.env}"

    @property
    def alerts_topic(self) -> str:
        return f"ndjson-parquet-alerts-{self.env}"

    @property
    def alerts_inbox_queue(self) -> str:
        # The SQS subscription of the alerts topic: operators and tests read alerts here.
        return f"ndjson-parquet-alerts-inbox-{self.env}"

    # Pipeline C (seed 004)
    @property
    def csv_data_bucket(self) -> str:
        return f"data-ingestion-pipeline-data-{self.suffix}"

    @property
    def file_metadata_table(self) -> str:
        return f"data-ingestion-pipeline-file-metadata-{self.env}"

    # Shared: where Dagster Pipes exchanges context and messages with Glue runs on AWS
    @property
    def pipes_bucket(self) -> str:
        return f"etl-platform-pipes-{self.suffix}"

    def buckets(self) -> list[str]:
        return [
            self.jobs_input_bucket, self.jobs_output_bucket, self.jobs_scripts_bucket,
            self.ndjson_input_bucket, self.manifest_bucket, self.parquet_output_bucket,
            self.quarantine_bucket, self.ndjson_scripts_bucket, self.csv_data_bucket, self.pipes_bucket,
        ]

    def tables(self) -> list[str]:
        return [self.jobs_table, self.tracking_table, self.metrics_table, self.file_metadata_table]

    def queues(self) -> list[str]:
        return [self.file_events_queue, self.file_events_dlq, self.alerts_inbox_queue]

    def topics(self) -> list[str]:
        return [self.alerts_topic]

    def glue_jobs(self) -> list[str]:
        return [self.parquet_to_json_glue_job, self.ndjson_glue_job]


@dataclass(frozen=True)
class IngestionSettings:
    """Pipeline B thresholds (seed 002's configuration table, seed 003's retry policy)."""

    manifest_max_files: int = 200
    manifest_max_bytes: int = 700 * MB
    file_min_bytes: int = int(0.1 * MB)
    file_max_bytes: int = 20 * MB
    status_shards: int = 10
    tracking_ttl_days: int = 30
    orphan_flush_seconds: int = 15 * 60
    landing_prefix: str = "landing/ndjson/"
    sqs_visibility_seconds: int | None = None  # None: the queue's own (360 s)
    # The validator (seed 002: Lambda concurrency dev 2 / prod 50, SQS batch size 10). On AWS
    # the template's event source mapping carries them; locally a validation run does, with
    # one thread per unit of concurrency, and ends after so many messages or seconds.
    validator_concurrency: int = 2
    validator_batch_size: int = 10
    validation_max_messages_per_run: int = 5000
    validation_max_seconds_per_run: float = 300.0
    stale_manifest_seconds: int = 600  # an unclaimed manifest older than this no longer holds its date back
    # Glue StartJobRun refused with ConcurrentRunsExceededException: Dagster re-executes the step
    # (RetryRequested, resources/glue.py) after delay * backoff^n seconds.
    glue_start_retries: int = 3
    glue_start_retry_delay_seconds: float = 60.0
    glue_start_retry_backoff: float = 2.0
    circuit_breaker_failures: int = 3
    circuit_breaker_cooldown_seconds: int = 30 * 60
    engine: Literal["arrow", "spark"] = "arrow"
    arrow_engine_max_bytes: int = 64 * MB  # with engine=spark, manifests up to this size stay single-node
    conversion_mode: Literal["string", "typed"] = "string"
    input_retention_days: int = 3
    # Reconciliation (core/reconciliation.py): landed files modified within this many days
    # are checked against tracking; less than tracking_ttl_days, so no record has expired.
    reconcile_lookback_days: int = 7
    glue_workers: int = 2
    glue_worker_type: str = "G.1X"
    # Seed 002's "Max concurrent Glue jobs" (the template's MaxConcurrentRuns of the job): the
    # limit of the job's Dagster pool, so of concurrent manifest runs (etl_platform/concurrency.py).
    max_concurrent_glue_runs: int = 1


@dataclass(frozen=True)
class JobsSettings:
    """Pipeline A: uploads, downloads, retention, the REST API."""

    input_retention_days: int = 30
    presigned_url_seconds: int = 3600
    max_upload_bytes: int = 512 * MB
    # Input bucket layout: the API writes uploads/<jobId>/<file name>; the S3 sensor turns
    # files dropped under incoming/ into jobs. Separate prefixes: no upload is seen twice.
    upload_prefix: str = "uploads/"
    drop_prefix: str = "incoming/"
    output_prefix: str = "output/"
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_url: str | None = None  # where the CLI finds the API; None: the running API's, else http://127.0.0.1:<api_port>
    dagster_graphql_url: str | None = None  # set: /trigger-job launches through the webserver
    cors_origins: tuple[str, ...] = ()
    # The template's MaxConcurrentRuns of the Glue job (10 in both envs): its Dagster pool's limit.
    max_concurrent_glue_runs: int = 10

    @property
    def api_base_url(self) -> str:
        return (self.api_url or f"http://127.0.0.1:{self.api_port}").rstrip("/")


@dataclass(frozen=True)
class ProfilingSettings:
    """Pipeline C: data-quality thresholds of the asset checks (percent of rows)."""

    upload_prefix: str = "uploads/"
    processed_prefix: str = "processed/"
    missing_warn_pct: float = 5.0
    missing_error_pct: float = 20.0
    invalid_warn_pct: float = 1.0
    invalid_error_pct: float = 5.0
    drift_null_rate_points: float = 10.0
    drift_mean_relative: float = 0.25
    # per-file partitions (pipelines/csv_profile/pruning.py): pruned after this many days
    # without an upload, and never more than this many kept (SQLite fails near 36k)
    partition_retention_days: int = 30
    max_file_partitions: int = 30_000


# Local development (mode local, env dev): the emulator serves one person trying the platform,
# whose handful of NDJSON files should reach Parquet within about a minute (validation run,
# this wait, the next sensor tick, the manifest run), not after prod's batching wait. Applied
# before the environment variables, so ETL_ORPHAN_FLUSH_SECONDS still wins; env prod keeps
# the batching, even locally.
LOCAL_DEV_DEFAULTS: dict[str, Any] = {"orphan_flush_seconds": 20}

# Per-env values of seed 002's table; everything else is the same in dev and prod.
ENV_DEFAULTS: dict[str, dict[str, Any]] = {
    "dev": {},
    "prod": {
        "input_retention_days": 7,
        "glue_workers": 20,
        "glue_worker_type": "G.2X",
        "max_concurrent_glue_runs": 30,
        "engine": "spark",
        "validator_concurrency": 50,
    },
}


@dataclass(frozen=True)
class AwsCredentials:
    """An explicit identity for every client the platform builds (`Settings.credentials`).

    Unset, clients use dummy keys against an emulator and the default chain on AWS. Set,
    they sign with these keys: the IAM-enforced local stack hands the platform the
    session of the role the template gives it, so a permission the template lacks fails.
    Not read from the environment: the keys are short-lived and come from STS.
    """

    access_key_id: str
    secret_access_key: str
    session_token: str | None = None

    def client_kwargs(self) -> dict[str, str]:
        """The keyword arguments boto3's `client()` takes."""
        kwargs = {"aws_access_key_id": self.access_key_id, "aws_secret_access_key": self.secret_access_key}
        if self.session_token:
            kwargs["aws_session_token"] = self.session_token
        return kwargs

    def environ(self) -> dict[str, str]:
        """The same identity as the environment variables boto3 reads (Glue subprocesses)."""
        env = {"AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key}
        if self.session_token:
            env["AWS_SESSION_TOKEN"] = self.session_token
        return env

    def __repr__(self) -> str:  # never print a secret into a log
        return f"AwsCredentials(access_key_id={self.access_key_id!r}, ...)"


@dataclass(frozen=True)
class RecoverySettings:
    """What the reapers allow a run that holds a record in progress (etl_platform/heartbeat.py,
    core/liveness.py). A worker beats every `heartbeat_seconds`; one silent for
    `silent_run_seconds` (several missed beats, longer than a GC pause or a slow table) is
    dead. A record no run holds yet is left alone for `grace_seconds` (its run request may
    be on its way). A manifest or profile whose run died is re-run up to `max_attempts`
    runs in all; then a manifest is failed with the breaker count and an alert, a profile
    is left `error`."""

    heartbeat_seconds: float = 15.0
    silent_run_seconds: float = 120.0
    grace_seconds: float = 120.0
    max_attempts: int = 3
    reaper_interval_seconds: int = 30


@dataclass(frozen=True)
class HealthSettings:
    """Pipeline B's health check (seed 002's "scheduled health checks (prod only)"): what
    counts as unhealthy, and whether the scheduled check alerts through SNS."""

    # None: on in prod, off in dev. On: the health-check schedule runs by default and an
    # unhealthy evaluation publishes to the alerts topic.
    alerts: bool | None = None
    check_cron: str = "*/15 * * * *"
    # A pending file older than this says manifests are not forming. None: twice the
    # orphan-flush age (the flush takes any file past that age at the next tick).
    pending_age_seconds: int | None = None
    # An open manifest that no live run holds and that nothing changed for this long: the
    # reaper (every 30 s) should have re-run or failed it.
    stuck_manifest_seconds: int = 600
    # Reads are bounded: per date and shard, at most this many pending (or failed) items.
    per_shard_read_limit: int = 500


@dataclass(frozen=True)
class Settings:
    mode: Mode = "local"
    env: Env = "dev"
    region: str = "us-east-1"
    account_id: str = LOCAL_ACCOUNT_ID
    endpoint_url: str | None = None
    aws_max_attempts: int = 5
    credentials: AwsCredentials | None = None  # None: dummy keys (emulator) or the default chain (AWS)
    project_root: Path = PROJECT_ROOT
    state_dir: Path = PROJECT_ROOT / ".etl-platform"
    local_port: int = DEFAULT_LOCAL_PORT
    snapshot_interval_seconds: float = 30.0
    # The reconciliation sensors leave an object younger than this to its event or upload sensor.
    reconcile_grace_seconds: float = 15 * 60
    webserver_host: str = "127.0.0.1"
    webserver_port: int = 3000
    dev_restart_budget: int = 3  # `etl-platform dev`: restarts of one child within the window below
    dev_restart_window_seconds: float = 600.0
    ingestion: IngestionSettings = field(default_factory=IngestionSettings)
    jobs: JobsSettings = field(default_factory=JobsSettings)
    profiling: ProfilingSettings = field(default_factory=ProfilingSettings)
    recovery: RecoverySettings = field(default_factory=RecoverySettings)
    health: HealthSettings = field(default_factory=HealthSettings)

    @property
    def health_alerts(self) -> bool:
        """Whether the health check alerts (and its schedule runs by default)."""
        return self.env == "prod" if self.health.alerts is None else self.health.alerts

    @property
    def names(self) -> ResourceNames:
        return ResourceNames(env=self.env, account_id=self.account_id)

    @property
    def is_local(self) -> bool:
        return self.mode == "local"

    @property
    def endpoint_file(self) -> Path:
        return self.state_dir / "emulator.json"

    @property
    def api_file(self) -> Path:
        """Where the running `etl-platform api` records its URL and pid."""
        return self.state_dir / "api.json"

    @property
    def dagster_ui_url(self) -> str:
        """The Dagster UI: the webserver whose GraphQL API launches runs, else the local one."""
        graphql = self.jobs.dagster_graphql_url
        return graphql.rstrip("/").removesuffix("/graphql") if graphql else f"http://{self.webserver_host}:{self.webserver_port}"

    @property
    def snapshot_dir(self) -> Path:
        return self.state_dir / "snapshot"

    @property
    def dagster_home(self) -> Path:
        return self.state_dir / "dagster"

    @property
    def infra_template(self) -> Path:
        return self.project_root / "infra" / "template.yaml"

    @property
    def glue_jobs_dir(self) -> Path:
        return self.project_root / "glue_jobs"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """Build settings from `environ` (default: the process environment)."""
        environ = os.environ if environ is None else environ
        top: dict[str, Any] = {}
        nested: dict[str, dict[str, Any]] = {"ingestion": {}, "jobs": {}, "profiling": {}, "recovery": {}, "health": {}}
        env = environ.get("ETL_ENV", "dev")
        if env not in ENV_DEFAULTS:
            raise ValueError(f"ETL_ENV must be one of {sorted(ENV_DEFAULTS)}, got {env!r}")
        nested["ingestion"].update(ENV_DEFAULTS[env])
        if (environ.get("ETL_MODE") or "local") == "local" and env == "dev":
            nested["ingestion"].update(LOCAL_DEV_DEFAULTS)
        for var, (section, name, convert) in ENV_VARS.items():
            if var in environ and environ[var] != "":
                try:
                    value = convert(environ[var])
                except ValueError as exc:
                    raise ValueError(f"{var}={environ[var]!r} is not valid: {exc}") from exc
                (top if section is None else nested[section])[name] = value
        if "region" not in top:
            top["region"] = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        settings = cls(
            **top,
            ingestion=IngestionSettings(**nested["ingestion"]),
            jobs=JobsSettings(**nested["jobs"]),
            profiling=ProfilingSettings(**nested["profiling"]),
            recovery=RecoverySettings(**nested["recovery"]),
            health=HealthSettings(**nested["health"]),
        )
        settings._check()
        if settings.is_local and settings.endpoint_url is None:
            settings = replace(
                settings,
                endpoint_url=settings.running_emulator_endpoint() or f"http://127.0.0.1:{settings.local_port}",
            )
        # As the emulator's endpoint: the API that runs records where it listens, so another
        # shell needs no ETL_API_PORT; a URL or port given explicitly wins.
        if not {"api_url", "api_port"} & set(nested["jobs"]) and (recorded := settings.running_api_url()):
            settings = replace(settings, jobs=replace(settings.jobs, api_url=recorded))
        return settings

    def running_emulator_endpoint(self) -> str | None:
        """The endpoint `etl-platform local up` recorded, if that emulator process still runs."""
        return (live_record(self.endpoint_file) or {}).get("endpoint")

    def running_api_url(self) -> str | None:
        """The URL `etl-platform api` recorded, if that API process still runs."""
        return (live_record(self.api_file) or {}).get("url")

    def _check(self) -> None:
        if self.mode not in ("local", "aws"):
            raise ValueError(f"ETL_MODE must be 'local' or 'aws', got {self.mode!r}")
        if self.mode == "aws" and self.account_id == LOCAL_ACCOUNT_ID:
            raise ValueError("ETL_MODE=aws needs ETL_ACCOUNT_ID (bucket names carry the account id)")
        if not 0 <= self.ingestion.reconcile_lookback_days < self.ingestion.tracking_ttl_days:
            raise ValueError("ETL_RECONCILE_LOOKBACK_DAYS must be below the tracking records' "
                             f"{self.ingestion.tracking_ttl_days}-day ttl (an expired record would re-ingest a file)")

    def with_overrides(self, **changes: Any) -> "Settings":
        return replace(self, **changes)


def _comma_list(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _on_off(text: str) -> bool:
    if text.lower() not in ("on", "off", "true", "false", "1", "0"):
        raise ValueError("expected on or off")
    return text.lower() in ("on", "true", "1")


def _choice(*allowed: str):
    def convert(text: str) -> str:
        if text not in allowed:
            raise ValueError(f"expected one of {allowed}")
        return text

    return convert


# Environment variable -> (section, field, parser). The README's table lists the same.
ENV_VARS: dict[str, tuple[str | None, str, Any]] = {
    "ETL_MODE": (None, "mode", _choice("local", "aws")),
    "ETL_ENV": (None, "env", _choice("dev", "prod")),
    "ETL_REGION": (None, "region", str),
    "ETL_ACCOUNT_ID": (None, "account_id", str),
    "ETL_ENDPOINT_URL": (None, "endpoint_url", str),
    "ETL_AWS_MAX_ATTEMPTS": (None, "aws_max_attempts", int),
    "ETL_STATE_DIR": (None, "state_dir", Path),
    "ETL_LOCAL_PORT": (None, "local_port", int),
    "ETL_SNAPSHOT_INTERVAL_SECONDS": (None, "snapshot_interval_seconds", float),
    "ETL_WEBSERVER_PORT": (None, "webserver_port", int),
    "ETL_RECONCILE_GRACE_SECONDS": (None, "reconcile_grace_seconds", float),
    "ETL_DEV_RESTART_BUDGET": (None, "dev_restart_budget", int),
    "ETL_DEV_RESTART_WINDOW_SECONDS": (None, "dev_restart_window_seconds", float),
    "ETL_MANIFEST_MAX_FILES": ("ingestion", "manifest_max_files", int),
    "ETL_MANIFEST_MAX_BYTES": ("ingestion", "manifest_max_bytes", int),
    "ETL_FILE_MIN_BYTES": ("ingestion", "file_min_bytes", int),
    "ETL_FILE_MAX_BYTES": ("ingestion", "file_max_bytes", int),
    "ETL_ORPHAN_FLUSH_SECONDS": ("ingestion", "orphan_flush_seconds", int),
    "ETL_VALIDATOR_CONCURRENCY": ("ingestion", "validator_concurrency", int),
    "ETL_VALIDATION_MAX_MESSAGES_PER_RUN": ("ingestion", "validation_max_messages_per_run", int),
    "ETL_VALIDATION_MAX_SECONDS_PER_RUN": ("ingestion", "validation_max_seconds_per_run", float),
    "ETL_SQS_VISIBILITY_SECONDS": ("ingestion", "sqs_visibility_seconds", int),
    "ETL_STALE_MANIFEST_SECONDS": ("ingestion", "stale_manifest_seconds", int),
    "ETL_CONVERSION_MODE": ("ingestion", "conversion_mode", _choice("string", "typed")),
    "ETL_GLUE_START_RETRIES": ("ingestion", "glue_start_retries", int),
    "ETL_GLUE_START_RETRY_DELAY_SECONDS": ("ingestion", "glue_start_retry_delay_seconds", float),
    "ETL_GLUE_START_RETRY_BACKOFF": ("ingestion", "glue_start_retry_backoff", float),
    "ETL_CIRCUIT_BREAKER_FAILURES": ("ingestion", "circuit_breaker_failures", int),
    "ETL_CIRCUIT_BREAKER_COOLDOWN_SECONDS": ("ingestion", "circuit_breaker_cooldown_seconds", int),
    "ETL_INGESTION_ENGINE": ("ingestion", "engine", _choice("arrow", "spark")),
    "ETL_ARROW_ENGINE_MAX_BYTES": ("ingestion", "arrow_engine_max_bytes", int),
    "ETL_RECONCILE_LOOKBACK_DAYS": ("ingestion", "reconcile_lookback_days", int),
    "ETL_PRESIGNED_URL_SECONDS": ("jobs", "presigned_url_seconds", int),
    "ETL_MAX_UPLOAD_BYTES": ("jobs", "max_upload_bytes", int),
    "ETL_API_PORT": ("jobs", "api_port", int),
    "ETL_API_URL": ("jobs", "api_url", str),
    "ETL_DAGSTER_GRAPHQL_URL": ("jobs", "dagster_graphql_url", str),
    "ETL_API_CORS_ORIGINS": ("jobs", "cors_origins", _comma_list),
    "ETL_PROFILE_MISSING_WARN_PCT": ("profiling", "missing_warn_pct", float),
    "ETL_PROFILE_MISSING_ERROR_PCT": ("profiling", "missing_error_pct", float),
    "ETL_PROFILE_INVALID_WARN_PCT": ("profiling", "invalid_warn_pct", float),
    "ETL_PROFILE_INVALID_ERROR_PCT": ("profiling", "invalid_error_pct", float),
    "ETL_HEARTBEAT_SECONDS": ("recovery", "heartbeat_seconds", float),
    "ETL_SILENT_RUN_SECONDS": ("recovery", "silent_run_seconds", float),
    "ETL_RECOVERY_GRACE_SECONDS": ("recovery", "grace_seconds", float),
    "ETL_MAX_RUN_ATTEMPTS": ("recovery", "max_attempts", int),
    "ETL_HEALTH_ALERTS": ("health", "alerts", _on_off),
    "ETL_HEALTH_CHECK_CRON": ("health", "check_cron", str),
    "ETL_HEALTH_PENDING_AGE_SECONDS": ("health", "pending_age_seconds", int),
    "ETL_HEALTH_STUCK_MANIFEST_SECONDS": ("health", "stuck_manifest_seconds", int),
}

# Fields settable from the environment must exist: a typo here would be silently ignored.
_KNOWN = {
    None: {f.name for f in fields(Settings)},
    "ingestion": {f.name for f in fields(IngestionSettings)},
    "jobs": {f.name for f in fields(JobsSettings)},
    "profiling": {f.name for f in fields(ProfilingSettings)},
    "recovery": {f.name for f in fields(RecoverySettings)},
    "health": {f.name for f in fields(HealthSettings)},
}
assert all(name in _KNOWN[section] for section, name, _ in ENV_VARS.values())

