"""Deploy `infra/template.yaml` to AWS as one CloudFormation stack, with the code it runs.

Two steps, because the validator Lambda's code must be in S3 before the function is
created, in a bucket the stack itself creates: the stack is applied with the validator
package it already runs (none on a first deploy: the function is left out), the Glue
scripts and the validator package are uploaded, and the stack is applied again naming the
package (`ValidatorCodeKey`, content-addressed: unchanged code changes nothing).
"""

from __future__ import annotations

import logging

from botocore.exceptions import ClientError

from etl_platform.aws import client_for
from etl_platform.config import Settings
from etl_platform.glue_artifacts import upload_glue_scripts
from etl_platform.lambda_artifacts import upload_validator_package

log = logging.getLogger(__name__)
VALIDATOR_CODE_PARAMETER = "ValidatorCodeKey"


def stack_name(settings: Settings) -> str:
    return f"etl-platform-{settings.env}"


def deploy(settings: Settings, *, wait: bool = True) -> dict[str, str]:
    """Create or update the stack and ship its code; returns its outputs."""
    cfn = client_for(settings, "cloudformation")
    name = stack_name(settings)
    _apply(cfn, name, settings, _deployed_validator_key(cfn, name), wait=True)  # the buckets exist after this
    upload_glue_scripts(settings)
    _apply(cfn, name, settings, upload_validator_package(settings), wait=wait)
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def _apply(cfn, name: str, settings: Settings, validator_key: str, *, wait: bool) -> None:
    arguments = {
        "StackName": name,
        "TemplateBody": settings.infra_template.read_text(),
        "Parameters": [{"ParameterKey": "Env", "ParameterValue": settings.env},
                       {"ParameterKey": VALIDATOR_CODE_PARAMETER, "ParameterValue": validator_key}],
        "Capabilities": ["CAPABILITY_NAMED_IAM"],
        "Tags": [{"Key": "project", "Value": "etl-platform"}, {"Key": "env", "Value": settings.env}],
    }
    if _stack_exists(cfn, name):
        try:
            cfn.update_stack(**arguments)
            waiter = "stack_update_complete"
        except ClientError as exc:
            if "No updates are to be performed" not in str(exc):
                raise
            waiter = None
    else:
        cfn.create_stack(**arguments, OnFailure="ROLLBACK")
        waiter = "stack_create_complete"
    if wait and waiter:
        log.info("waiting for %s (%s)", name, waiter)
        cfn.get_waiter(waiter).wait(StackName=name, WaiterConfig={"Delay": 5, "MaxAttempts": 360})


def _deployed_validator_key(cfn, name: str) -> str:
    """The validator package the stack runs now ("" for none, or no stack yet)."""
    if not _stack_exists(cfn, name):
        return ""
    parameters = cfn.describe_stacks(StackName=name)["Stacks"][0].get("Parameters", [])
    return next((p["ParameterValue"] for p in parameters if p["ParameterKey"] == VALIDATOR_CODE_PARAMETER), "")


def _stack_exists(cfn, name: str) -> bool:
    try:
        stacks = cfn.describe_stacks(StackName=name)["Stacks"]
    except ClientError as exc:
        if "does not exist" in str(exc):
            return False
        raise
    return any(s["StackStatus"] != "DELETE_COMPLETE" for s in stacks)
