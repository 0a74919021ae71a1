"""The validator Lambda in the template: deployed as the settings describe it, or not at all.

On AWS `etl-platform infra deploy` passes `ValidatorCodeKey` (the package it uploaded);
resolved with the template's defaults, as the local provisioner does, the function and its
event source mapping do not exist.
"""

import json
import subprocess
import sys

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
