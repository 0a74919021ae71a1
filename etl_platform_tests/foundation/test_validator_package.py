"""The validator Lambda's package: deterministic, and runnable on its own.

The e2e test builds the real package (pip, for the function's platform, which is this
machine's: CPython 3.11 on x86_64 Linux) and runs its handler in an isolated interpreter
that sees only the package, as /var/task is all a Lambda sees (plus the standard library),
with the function's environment from the template, against the emulator.
"""

import io
import json
import subprocess
import sys
import zipfile
from importlib.metadata import version

import pytest

from etl_platform.aws import client_for
from etl_platform.config import Settings
from etl_platform.infra_template import ResolvedTemplate
from etl_platform.lambda_artifacts import (
    HANDLER_DISTRIBUTIONS, RUNTIME_PYTHON, build_validator_package, package_key, requirements,
)
from etl_platform_tests.helpers import PROJECT_ROOT

TEMPLATE = PROJECT_ROOT / "infra" / "template.yaml"
DAY = "2026-09-01"


def _function(settings, code_key="lambda/x.zip"):
    template = ResolvedTemplate.from_file(TEMPLATE, env=settings.env, account_id=settings.account_id,
                                          region=settings.region, parameters={"ValidatorCodeKey": code_key})
    [function] = template.of_type("AWS::Lambda::Function")
    return function


def test_the_package_is_deterministic_and_pins_what_was_tested(tmp_path):
    asked = []

    def install(reqs, target):
        asked.append(reqs)
        (target / "dep.py").write_text("X = 1\n")

    first = build_validator_package(PROJECT_ROOT, tmp_path / "a", install=install)
    second = build_validator_package(PROJECT_ROOT, tmp_path / "b", install=install)
    assert first == second and package_key(first) == package_key(second)
    assert package_key(first).startswith("lambda/ndjson-validator-") and package_key(first) != package_key(first + b"x")
    assert asked[0] == [f"{name}=={version(name)}" for name in HANDLER_DISTRIBUTIONS] == requirements()
    names = zipfile.ZipFile(io.BytesIO(first)).namelist()
    assert "etl_platform/lambdas/ndjson_validator.py" in names and "dep.py" in names


def test_the_template_runs_the_python_the_package_is_built_for():
    assert _function(Settings()).properties["Runtime"] == f"python{RUNTIME_PYTHON}"


@pytest.mark.e2e
@pytest.mark.skipif(sys.version_info[:2] != tuple(map(int, RUNTIME_PYTHON.split("."))),
                    reason=f"the package's binary wheels are for CPython {RUNTIME_PYTHON}, the function's runtime")
def test_the_built_package_validates_a_batch_on_its_own(aws, tmp_path):
    target = tmp_path / "task"
    package = build_validator_package(PROJECT_ROOT, target)
    unpacked = sum(p.stat().st_size for p in target.rglob("*") if p.is_file())
    assert unpacked < 250 * 1024 * 1024, unpacked  # Lambda's limit for an unzipped package
    assert len(package) < unpacked

    s3 = client_for(aws, "s3")
    key = f"landing/ndjson/{DAY}/packaged.ndjson"
    body = "".join(json.dumps({"id": i, "pad": "x" * 300}) + "\n" for i in range(400)).encode()
    head = s3.put_object(Bucket=aws.names.ndjson_input_bucket, Key=key, Body=body)
    s3_event = {"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                             "eventTime": f"{DAY}T10:00:00.000Z",
                             "s3": {"bucket": {"name": aws.names.ndjson_input_bucket},
                                    "object": {"key": key, "size": len(body), "eTag": head["ETag"].strip('"')}}}]}
    event = {"Records": [
        {"messageId": "m-good", "receiptHandle": "h1", "body": json.dumps(s3_event), "attributes": {},
         "eventSource": "aws:sqs"},
        {"messageId": "m-bad", "receiptHandle": "h2", "body": "not json", "attributes": {}, "eventSource": "aws:sqs"},
    ]}
    # the function's environment; the emulator's account is moto's, which ETL_MODE=aws refuses
    environment = {**_function(aws).properties["Environment"]["Variables"], "ETL_MODE": "local",
                   "ETL_ENDPOINT_URL": aws.endpoint_url, "AWS_REGION": aws.region, "PATH": "/usr/bin:/bin"}
    entry = "import json, sys; from etl_platform.lambdas.ndjson_validator import handler; " \
            "print(json.dumps(handler(json.loads(sys.stdin.read()), None)))"
    run = subprocess.run([sys.executable, "-I", "-S", "-c", f"import sys; sys.path.insert(0, {str(target)!r}); {entry}"],
                         input=json.dumps(event), capture_output=True, text=True, env=environment, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    response = json.loads(run.stdout.strip().splitlines()[-1])
    assert response["batchItemFailures"] == [{"itemIdentifier": "m-bad"}]
    assert [(r["message_id"], r["outcome"]) for r in response["results"]] == [("m-good", "tracked")]
