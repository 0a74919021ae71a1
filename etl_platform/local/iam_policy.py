"""What the IAM-enforced emulator needs to know that moto 5.2.5 does not work out itself.

Pure functions (no boto3, no moto, no dagster), used by `iam_mode`:

- which resource ARNs a request touches, for the services where moto checks every
  identity policy against `"*"` (DynamoDB, SNS, Glue; SQS calls that name a queue by
  name, like GetQueueUrl). Without them a statement naming a
  table, topic or job never matches and every call is refused; with a blanket
  `Resource: "*"` everything passes. Either way the template's resource scoping would go
  untested.
- whether a role's trust policy lets a caller assume it. moto's own check crashes on
  `Principal: {Service: ...}` (it reads `Principal["AWS"]`), which every role of the
  template uses. Here the emulator's admin identity stands in for the AWS service the
  trust policy names (Glue, ECS tasks), the way that service assumes the role in AWS;
  any other caller must be named as an `AWS` principal.
"""

from __future__ import annotations

from typing import Any, Iterable
from urllib.parse import unquote


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def trust_allows(trust_policy: dict, caller_arn: str, service_stand_in_arn: str | None) -> bool:
    """True if an Allow statement for sts:AssumeRole names the caller (an AWS principal,
    or `*`), or names a service principal and the caller is the service stand-in.
    An explicit Deny naming the caller wins. Conditions are not evaluated."""
    allowed = False
    for statement in _as_list(trust_policy.get("Statement")):
        actions = _as_list(statement.get("Action"))
        if not any(a in ("sts:AssumeRole", "sts:*", "*") for a in actions):
            continue
        principal = statement.get("Principal", {})
        if principal == "*":
            named = True
        else:
            aws = _as_list(principal.get("AWS"))
            services = _as_list(principal.get("Service"))
            named = caller_arn in aws or "*" in aws or (bool(services) and caller_arn == service_stand_in_arn)
        if not named:
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = True
    return allowed


# API operations authorized as another IAM action (AWS: "you cannot set permissions
# explicitly for SendMessageBatch, DeleteMessageBatch, or ChangeMessageVisibilityBatch").
# moto checks the operation's own name, which no valid policy can grant.
IAM_ACTION_OF_OPERATION = {
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
}


def iam_action(operation: str) -> str:
    """The IAM action that authorizes `service:Operation`."""
    return IAM_ACTION_OF_OPERATION.get(operation, operation)


def _arn(service: str, region: str, account: str, resource: str) -> str:
    return f"arn:aws:{service}:{region}:{account}:{resource}"


def dynamodb_resources(params: dict, region: str, account: str) -> list[str]:
    """Table (or index) ARNs of a DynamoDB request's parameters; `["*"]` for account-wide calls."""

    def table(name: str) -> str:
        return name if name.startswith("arn:") else _arn("dynamodb", region, account, f"table/{name}")

    arns: list[str] = []
    if params.get("TableName"):
        base = table(params["TableName"])
        arns.append(f"{base}/index/{params['IndexName']}" if params.get("IndexName") else base)
    arns += [table(name) for name in (params.get("RequestItems") or {})]
    for item in params.get("TransactItems") or []:
        for operation in item.values():
            if isinstance(operation, dict) and operation.get("TableName"):
                arns.append(table(operation["TableName"]))
    return _unique(arns) or ["*"]


def sns_resources(params: dict, region: str, account: str) -> list[str]:
    """The topic a request names (TopicArn, or Name for CreateTopic); `["*"]` otherwise."""
    if params.get("TopicArn"):
        return [params["TopicArn"]]
    if params.get("Action") == "CreateTopic" and params.get("Name"):
        return [_arn("sns", region, account, params["Name"])]
    return ["*"]


def glue_resources(params: dict, region: str, account: str) -> list[str]:
    """The Glue job a request names (JobName, or Name for CreateJob); `["*"]` otherwise."""
    name = params.get("JobName") or (params.get("Name") if "Command" in params else None)
    return [_arn("glue", region, account, f"job/{name}")] if name else ["*"]


def sqs_resources(queue_url: str | None, queue_name: str | None, region: str, account: str) -> list[str]:
    """The queue a request names by URL or (GetQueueUrl, CreateQueue) by name; `["*"]` otherwise."""
    name = queue_url.rstrip("/").rsplit("/", 1)[-1] if queue_url else queue_name
    return [_arn("sqs", region, account, name)] if name else ["*"]


def copy_source(header: str) -> tuple[str, str] | None:
    """(bucket, key) of an `x-amz-copy-source` header (`/bucket/key?versionId=...`, URL-encoded)."""
    path = unquote(header.split("?", 1)[0]).lstrip("/")
    bucket, _, key = path.partition("/")
    return (bucket, key) if bucket and key else None


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))
