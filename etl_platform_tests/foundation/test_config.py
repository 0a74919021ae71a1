from pathlib import Path

import pytest

from etl_platform.config import ENV_VARS, MB, Settings
from etl_platform.process_records import write_record


def test_defaults_follow_the_seeds():
    settings = Settings.from_env({})
    names = settings.names
    assert settings.mode == "local" and settings.env == "dev"
    assert names.ndjson_input_bucket == "ndjson-parquet-input-dev-123456789012"
    assert names.file_events_queue == "ndjson-parquet-file-events-dev"
    assert names.file_events_dlq == "ndjson-parquet-dlq-dev"
    assert names.tracking_table == "ndjson-parquet-sqs-file-tracking-dev"
    assert names.metrics_table == "ndjson-parquet-sqs-metrics-dev"
    assert names.ndjson_glue_job == "ndjson-parquet-batch-job-dev"
    assert names.alerts_topic == "ndjson-parquet-alerts-dev"
    assert names.jobs_table == "etl-pipeline-jobs"
    assert names.jobs_status_index == "status-createdAt-index"
    assert names.parquet_to_json_glue_job == "etl-parquet-to-json-processor"
    assert names.file_metadata_table == "data-ingestion-pipeline-file-metadata-dev"
    ingestion = settings.ingestion
    assert (ingestion.manifest_max_files, ingestion.manifest_max_bytes) == (200, 700 * MB)
    assert (ingestion.file_min_bytes, ingestion.file_max_bytes) == (int(0.1 * MB), 20 * MB)
    assert (ingestion.status_shards, ingestion.tracking_ttl_days) == (10, 30)
    assert (ingestion.glue_start_retries, ingestion.glue_start_retry_delay_seconds, ingestion.glue_start_retry_backoff) == (3, 60, 2)
    assert (ingestion.glue_workers, ingestion.glue_worker_type, ingestion.max_concurrent_glue_runs) == (2, "G.1X", 1)
    assert ingestion.input_retention_days == 3


def test_prod_takes_seed_002_prod_column():
    settings = Settings.from_env({"ETL_ENV": "prod"})
    assert settings.names.tracking_table == "ndjson-parquet-sqs-file-tracking-prod"
    ingestion = settings.ingestion
    assert (ingestion.glue_workers, ingestion.glue_worker_type, ingestion.max_concurrent_glue_runs) == (20, "G.2X", 30)
    assert ingestion.input_retention_days == 7
    assert ingestion.engine == "spark"


def test_local_dev_flushes_a_newcomers_few_files_within_a_minute_and_prod_keeps_the_batching():
    assert Settings.from_env({}).ingestion.orphan_flush_seconds == 20  # make up: local mode, env dev
    assert Settings.from_env({"ETL_ENV": "prod"}).ingestion.orphan_flush_seconds == 15 * 60
    aws = {"ETL_MODE": "aws", "ETL_ACCOUNT_ID": "999999999999"}
    assert Settings.from_env(aws).ingestion.orphan_flush_seconds == 15 * 60
    assert Settings.from_env({**aws, "ETL_ENV": "prod"}).ingestion.orphan_flush_seconds == 15 * 60
    assert Settings.from_env({"ETL_ORPHAN_FLUSH_SECONDS": "120"}).ingestion.orphan_flush_seconds == 120
    assert Settings.from_env({}).ingestion.manifest_max_files == 200  # the count and size thresholds stay the seed's


def test_environment_variables_override_and_are_typed(tmp_path: Path):
    settings = Settings.from_env({
        "ETL_MANIFEST_MAX_FILES": "50",
        "ETL_ORPHAN_FLUSH_SECONDS": "5",
        "ETL_GLUE_START_RETRY_DELAY_SECONDS": "0.1",
        "ETL_STATE_DIR": str(tmp_path),
        "ETL_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_REGION": "eu-west-1",
    })
    assert settings.ingestion.manifest_max_files == 50
    assert settings.ingestion.orphan_flush_seconds == 5
    assert settings.ingestion.glue_start_retry_delay_seconds == 0.1
    assert settings.state_dir == tmp_path
    assert settings.endpoint_url == "http://127.0.0.1:9"
    assert settings.region == "eu-west-1"


def test_local_mode_finds_the_running_emulator(tmp_path: Path):
    assert Settings.from_env({"ETL_STATE_DIR": str(tmp_path), "ETL_LOCAL_PORT": "4777"}).endpoint_url == "http://127.0.0.1:4777"
    write_record(tmp_path / "emulator.json", {"endpoint": "http://127.0.0.1:5123"})  # as this live process
    assert Settings.from_env({"ETL_STATE_DIR": str(tmp_path)}).endpoint_url == "http://127.0.0.1:5123"


def test_aws_mode_targets_real_aws():
    settings = Settings.from_env({"ETL_MODE": "aws", "ETL_ACCOUNT_ID": "999999999999", "ETL_ENV": "prod"})
    assert settings.endpoint_url is None
    assert settings.names.parquet_output_bucket == "ndjson-parquet-output-prod-999999999999"


@pytest.mark.parametrize(
    "environ, message",
    [
        ({"ETL_MODE": "cloud"}, "ETL_MODE"),
        ({"ETL_ENV": "staging"}, "ETL_ENV"),
        ({"ETL_MANIFEST_MAX_FILES": "many"}, "ETL_MANIFEST_MAX_FILES"),
        ({"ETL_MODE": "aws"}, "ETL_ACCOUNT_ID"),
    ],
)
def test_bad_values_get_clear_errors(environ, message):
    with pytest.raises(ValueError, match=message):
        Settings.from_env(environ)


def test_every_variable_is_documented_in_the_readme():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    missing = [var for var in ENV_VARS if f"`{var}`" not in readme]
    assert not missing, f"README's configuration table lacks {missing}"
