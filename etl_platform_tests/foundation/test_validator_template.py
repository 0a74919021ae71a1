"""The validator Lambda in the template: deployed as the settings describe it, or not at all.

On AWS `etl-platform infra deploy` passes `ValidatorCodeKey` (the package it uploaded);
resolved with the template's defaults, as the local provisioner does, the function and its
event source mapping do not exist.
"""

import json
import subprocess
import sys
from fnmatch import fnmatchcase

import pytest

from etl_platform.config import Settings
from etl_platform.infra_template import ResolvedTemplate
from etl_platform.lambdas.ndjson_validator import rules_from
from etl_platform_tests.helpers import PROJECT_ROOT

TEMPLATE = PROJECT_ROOT / "infra" / "template.yaml"
ACCOUNT, REGION = "111122223333", "eu-west-1"
CODE_KEY = "lambda/ndjson-validator-0123456789abcdef.zip"


def _aws_settings(env: str) -> Settings:
    return Settings.from_env({"ETL_MODE": "aws", "ETL_ENV": env, "ETL_ACCOUNT_ID": ACCOUNT, "AWS_REGION": REGION})


def _deployed(env: str, **parameters) -> ResolvedTemplate:
    return ResolvedTemplate.from_file(TEMPLATE, env=env, account_id=ACCOUNT, region=REGION, parameters=parameters)


def _one(template: ResolvedTemplate, resource_type: str):
    [resource] = template.of_type(resource_type)
    return resource


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_function_and_its_mapping_carry_the_seed_settings(env):
    settings = _aws_settings(env)
    template = _deployed(env, ValidatorCodeKey=CODE_KEY)
    function = _one(template, "AWS::Lambda::Function")
    mapping = _one(template, "AWS::Lambda::EventSourceMapping")
    queue = next(q for q in template.of_type("AWS::SQS::Queue") if q.name == settings.names.file_events_queue)

    assert function.name == settings.names.validator_function
    assert function.properties["Code"] == {"S3Bucket": settings.names.ndjson_scripts_bucket, "S3Key": CODE_KEY}
    assert function.properties["Role"] == f"arn:aws:iam::{ACCOUNT}:role/ndjson-parquet-validator-{env}"
    assert mapping.properties["FunctionName"] == function.name
    assert mapping.properties["EventSourceArn"] == f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue.name}"
    assert mapping.properties["BatchSize"] == settings.ingestion.validator_batch_size == 10
    assert mapping.properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping.properties["ScalingConfig"]["MaximumConcurrency"] == settings.ingestion.validator_concurrency
    assert settings.ingestion.validator_concurrency == {"dev": 2, "prod": 50}[env]
    # AWS: a queue's visibility timeout at least six times the function's timeout
    assert 6 * function.properties["Timeout"] <= queue.properties["VisibilityTimeout"]


def test_without_a_package_there_is_no_function():
    template = _deployed("dev")
    assert template.of_type("AWS::Lambda::Function") == template.of_type("AWS::Lambda::EventSourceMapping") == []
    assert "NdjsonValidatorRole" in template.resources


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_function_environment_gives_the_handler_the_platform_settings(env):
    function = _one(_deployed(env, ValidatorCodeKey=CODE_KEY), "AWS::Lambda::Function")
    # what Lambda adds itself: the region
    seen = Settings.from_env({**function.properties["Environment"]["Variables"], "AWS_REGION": REGION})
    platform = _aws_settings(env)
    assert seen.is_local is False and seen.endpoint_url is None
    assert seen.names == platform.names
    assert rules_from(seen) == rules_from(platform)
    assert (seen.ingestion.status_shards, seen.ingestion.tracking_ttl_days) == (
        platform.ingestion.status_shards, platform.ingestion.tracking_ttl_days)


def test_the_handler_imports_without_the_conversion_engines():
    """The function's package holds no pyarrow, numpy or Spark: its handler must not need them."""
    function = _one(_deployed("dev", ValidatorCodeKey=CODE_KEY), "AWS::Lambda::Function")
    module, _, name = function.properties["Handler"].rpartition(".")
    probe = (f"import importlib, json, sys; m = importlib.import_module({module!r}); "
             f"assert callable(getattr(m, {name!r})); print(json.dumps(sorted(sys.modules)))")
    loaded = json.loads(subprocess.run([sys.executable, "-c", probe], cwd=PROJECT_ROOT, check=True,
                                       capture_output=True, text=True).stdout)
    heavy = {"pyarrow", "numpy", "pandas", "pyspark", "polars", "duckdb", "orjson"}
    found = sorted(m for m in loaded if m.split(".")[0] in heavy or m.startswith("etl_platform.pipelines"))
    assert not found, found[:20]


# What producers put into the landing bucket besides valid files; each must reach the validator.
LANDED_KEYS = ["landing/ndjson/2026-12-02/good.ndjson", "landing/ndjson/2026-12-02/x.json", "x.json",
               "landing/other/y.ndjson", "landing/ndjson/y.ndjson", "incoming/z.NDJSON"]


def _delivers(configuration: dict, event: str, key: str) -> bool:
    """S3's rule for one queue configuration: the event type matches (`s3:ObjectCreated:*`
    covers every creation) and the key has the filter's prefix and suffix, if it has any."""
    if configuration["Event"] not in (event, event.rsplit(":", 1)[0] + ":*"):
        return False
    rules = {r["Name"].lower(): r["Value"] for r in configuration.get("Filter", {}).get("S3Key", {}).get("Rules", [])}
    return key.startswith(rules.get("prefix", "")) and key.endswith(rules.get("suffix", ""))


@pytest.mark.parametrize("env", ["dev", "prod"])
@pytest.mark.parametrize("key", LANDED_KEYS)
def test_every_object_created_in_the_landing_bucket_reaches_the_validator(env, key):
    settings = _aws_settings(env)
    template = _deployed(env, ValidatorCodeKey=CODE_KEY)
    [bucket] = [b for b in template.of_type("AWS::S3::Bucket") if b.name == settings.names.ndjson_input_bucket]
    queues = [c["Queue"] for c in bucket.properties["NotificationConfiguration"]["QueueConfigurations"]
              if _delivers(c, "s3:ObjectCreated:Put", key)]
    assert queues == [f"arn:aws:sqs:{REGION}:{ACCOUNT}:{settings.names.file_events_queue}"]


def _allows(role, action: str, arn: str) -> bool:
    statements = [s for p in role.properties["Policies"] for s in p["PolicyDocument"]["Statement"]]
    listed = lambda value: value if isinstance(value, list) else [value]  # noqa: E731
    return any(s["Effect"] == "Allow" and action in listed(s["Action"])
               and any(fnmatchcase(arn, r) for r in listed(s["Resource"])) for s in statements)


@pytest.mark.parametrize("role_name", ["NdjsonValidatorRole", "DagsterRuntimeRole"])
def test_the_roles_that_validate_can_quarantine_any_landed_key(role_name):
    """The Lambda on AWS and the Dagster runtime locally (validation runs, reconciliation)."""
    names = _aws_settings("dev").names
    role = _deployed("dev", ValidatorCodeKey=CODE_KEY).resources[role_name]
    for key in LANDED_KEYS:
        for action in ("s3:GetObject", "s3:GetObjectVersion", "s3:DeleteObject", "s3:DeleteObjectVersion"):
            assert _allows(role, action, f"arn:aws:s3:::{names.ndjson_input_bucket}/{key}"), (action, key)
        assert _allows(role, "s3:PutObject", f"arn:aws:s3:::{names.quarantine_bucket}/{key}"), key


def test_the_validator_creates_nothing_where_its_events_come_from():
    """No event loop: with every created object notified, the validator must never create one
    in the landing bucket (it copies into the quarantine bucket, a bucket without notifications)."""
    settings = _aws_settings("dev")
    template = _deployed("dev", ValidatorCodeKey=CODE_KEY)
    role = template.resources["NdjsonValidatorRole"]
    for key in LANDED_KEYS:
        assert not _allows(role, "s3:PutObject", f"arn:aws:s3:::{settings.names.ndjson_input_bucket}/{key}")
    [quarantine] = [b for b in template.of_type("AWS::S3::Bucket") if b.name == settings.names.quarantine_bucket]
    assert "NotificationConfiguration" not in quarantine.properties
