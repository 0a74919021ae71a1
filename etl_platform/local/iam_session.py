"""Sessions of the template's roles on the IAM-enforced emulator.

As on AWS, nobody signs with a role's own keys: the emulator's admin (standing in for the
Glue or ECS service the role trusts) calls sts:AssumeRole on the role the template
defines, and the platform, a Glue script or a test then signs with the session it got.
Every permission the role lacks is refused.
"""

from __future__ import annotations

from etl_platform.aws import client_for
from etl_platform.config import AwsCredentials, Settings
from etl_platform.local.provision import resolved_template


def role_name(settings: Settings, logical_id: str) -> str:
    """The RoleName of the template's `AWS::IAM::Role` `logical_id` in `settings`' env."""
    resource = resolved_template(settings).resources[logical_id]
    if resource.type != "AWS::IAM::Role":
        raise ValueError(f"{logical_id} is a {resource.type}, not an AWS::IAM::Role")
    return resource.properties["RoleName"]


def assume_role(admin: Settings, logical_id: str, session_name: str = "etl-platform-local") -> AwsCredentials:
    """Credentials of a fresh session of the template role `logical_id`, assumed by `admin`."""
    arn = f"arn:aws:iam::{admin.account_id}:role/{role_name(admin, logical_id)}"
    credentials = client_for(admin, "sts").assume_role(RoleArn=arn, RoleSessionName=session_name)["Credentials"]
    return AwsCredentials(credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"])


def as_role(admin: Settings, logical_id: str, session_name: str = "etl-platform-local") -> Settings:
    """`admin`'s settings, signing as a session of the template role `logical_id`."""
    return admin.with_overrides(credentials=assume_role(admin, logical_id, session_name))
