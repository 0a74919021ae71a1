"""The CloudFormation template: lint-clean, and naming exactly what the settings name."""

import subprocess

import pytest

from etl_platform.config import Settings
from etl_platform.infra_template import ResolvedTemplate
from etl_platform_tests.helpers import PROJECT_ROOT, VENV_BIN

TEMPLATE = PROJECT_ROOT / "infra" / "template.yaml"


def test_cfn_lint_is_clean():
    result = subprocess.run([str(VENV_BIN / "cfn-lint"), str(TEMPLATE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_template_names_equal_settings_names(env):
    settings = Settings.from_env({"ETL_ENV": env})
    template = ResolvedTemplate.from_file(TEMPLATE, env=env, account_id=settings.account_id, region=settings.region)
    names = settings.names

    def physical(resource_type):
        return sorted(r.name for r in template.of_type(resource_type))

    assert physical("AWS::S3::Bucket") == sorted(names.buckets())
    assert physical("AWS::DynamoDB::Table") == sorted(names.tables())
    assert physical("AWS::SQS::Queue") == sorted(names.queues())
    assert physical("AWS::SNS::Topic") == sorted(names.topics())
    assert physical("AWS::Glue::Job") == sorted(names.glue_jobs())
    tracking = next(r for r in template.of_type("AWS::DynamoDB::Table") if r.name == names.tracking_table)
    assert [g["IndexName"] for g in tracking.properties["GlobalSecondaryIndexes"]] == [names.tracking_status_index]
    jobs = next(r for r in template.of_type("AWS::DynamoDB::Table") if r.name == names.jobs_table)
    assert [g["IndexName"] for g in jobs.properties["GlobalSecondaryIndexes"]] == [names.jobs_status_index]


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_env_sizes_match_settings(env):
    settings = Settings.from_env({"ETL_ENV": env})
    template = ResolvedTemplate.from_file(TEMPLATE, env=env, account_id=settings.account_id, region=settings.region)
    glue = next(r for r in template.of_type("AWS::Glue::Job") if r.name == settings.names.ndjson_glue_job)
    assert glue.properties["NumberOfWorkers"] == settings.ingestion.glue_workers
    assert glue.properties["WorkerType"] == settings.ingestion.glue_worker_type
    assert glue.properties["ExecutionProperty"]["MaxConcurrentRuns"] == settings.ingestion.max_concurrent_glue_runs
    landing = next(r for r in template.of_type("AWS::S3::Bucket") if r.name == settings.names.ndjson_input_bucket)
    assert landing.properties["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == settings.ingestion.input_retention_days


def test_every_bucket_is_private_and_encrypted():
    template = ResolvedTemplate.from_file(TEMPLATE, env="dev", account_id="123456789012", region="us-east-1")
    for bucket in template.of_type("AWS::S3::Bucket"):
        block = bucket.properties["PublicAccessBlockConfiguration"]
        assert all(block[k] is True for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")), bucket.name
        sse = bucket.properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256", bucket.name


def test_unsupported_intrinsics_fail_loudly():
    template = {"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Fn::Base64": "x"}}}}}
    with pytest.raises(ValueError, match="Fn::Base64"):
        ResolvedTemplate(template, env="dev", account_id="1", region="us-east-1")
