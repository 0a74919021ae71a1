"""Deploy `infra/template.yaml` to AWS as one CloudFormation stack, then ship the Glue scripts."""

from __future__ import annotations

import logging

from botocore.exceptions import ClientError

from etl_platform.aws import client_for
from etl_platform.config import Settings
from etl_platform.glue_artifacts import upload_glue_scripts

log = logging.getLogger(__name__)


def stack_name(settings: Settings) -> str:
    return f"etl-platform-{settings.env}"


def deploy(settings: Settings, *, wait: bool = True) -> dict[str, str]:
    """Create or update the stack; returns its outputs."""
    cfn = client_for(settings, "cloudformation")
    name = stack_name(settings)
    arguments = {
        "StackName": name,
        "TemplateBody": settings.infra_template.read_text(),
        "Parameters": [{"ParameterKey": "Env", "ParameterValue": settings.env}],
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
    upload_glue_scripts(settings)
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def _stack_exists(cfn, name: str) -> bool:
    try:
        stacks = cfn.describe_stacks(StackName=name)["Stacks"]
    except ClientError as exc:
        if "does not exist" in str(exc):
            return False
        raise
    return any(s["StackStatus"] != "DELETE_COMPLETE" for s in stacks)
