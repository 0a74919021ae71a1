"""Lint the template's IAM policies with parliament (offline: it ships AWS's action and
resource catalogue), besides cfn-lint, plus this project's wildcard rules.

Policies are linted as deployed: intrinsic functions resolved (dev, a sample account), so
parliament sees real ARNs and can tell whether each action supports the resource given.
Every finding fails, whatever parliament's severity, including RESOURCE_STAR (`"*"` for an
action that supports resource-level permissions). On top:

- no wildcard in an action (`s3:*`, `s3:Get*`): name the actions;
- `Resource: "*"` only for actions AWS cannot scope (parliament agrees), with the reason in
  a comment right above the statement;
- no wildcard in a DynamoDB, SQS, SNS or Glue ARN: their names are all known.
"""

from __future__ import annotations

import json
import re

import pytest
from parliament import analyze_policy_string, enhance_finding

from etl_platform.config import PROJECT_ROOT
from etl_platform.infra_template import ResolvedTemplate

TEMPLATE = PROJECT_ROOT / "infra" / "template.yaml"
NAMED_SERVICES = ("dynamodb", "sqs", "sns", "glue")


def _policies() -> list[tuple[str, str, dict]]:
    template = ResolvedTemplate.from_file(TEMPLATE, env="dev", account_id="111122223333", region="eu-west-1")
    found = []
    for role in template.of_type("AWS::IAM::Role"):
        for policy in role.properties.get("Policies", []):
            found.append((role.properties["RoleName"], policy["PolicyName"], policy["PolicyDocument"]))
    return found


POLICIES = _policies()
IDS = [f"{role}/{name}" for role, name, _ in POLICIES]


def _statements(document: dict) -> list[dict]:
    statements = document["Statement"]
    return statements if isinstance(statements, list) else [statements]


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def lint(document: dict) -> list[str]:
    """Parliament's findings and this project's rules for one policy document."""
    policy = analyze_policy_string(json.dumps(document), include_community_auditors=False)
    problems = [f"{f.issue}: {f.detail} at {f.location}" for f in map(enhance_finding, policy.findings)]
    for statement in _statements(document):
        sid = statement.get("Sid", "?")
        for action in _as_list(statement.get("Action", [])):
            if "*" in action:
                problems.append(f"{sid}: wildcard action {action}")
        for resource in _as_list(statement.get("Resource", [])):
            service = resource.split(":")[2] if resource.startswith("arn:") else None
            if service in NAMED_SERVICES and "*" in resource:
                problems.append(f"{sid}: wildcard in {resource}, whose name is known")
    return problems


@pytest.mark.parametrize("document", [p[2] for p in POLICIES], ids=IDS)
def test_policy_passes_parliament_and_the_wildcard_rules(document):
    assert lint(document) == []


def test_resource_star_is_explained_in_the_template():
    text = TEMPLATE.read_text().splitlines()
    starred = [s["Sid"] for _, _, d in POLICIES for s in _statements(d) if "*" in _as_list(s.get("Resource", []))]
    assert starred, "expected the statements AWS cannot scope (cloudwatch:PutMetricData...)"
    for sid in starred:
        [line] = [i for i, t in enumerate(text) if re.fullmatch(rf"\s*- Sid: {sid}\s*", t)]
        assert text[line - 1].strip().startswith("#"), f"{sid} uses Resource '*' without a comment saying why"


@pytest.mark.parametrize("bad, issue", [
    ({"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*"}, "RESOURCE_STAR"),
    ({"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::bucket/*"}, "wildcard action"),
    ({"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "arn:aws:sqs:eu-west-1:111122223333:*"},
     "whose name is known"),
    ({"Effect": "Allow", "Action": "sqs:DeleteMessageBatch", "Resource": "arn:aws:sqs:eu-west-1:111122223333:q"},
     "UNKNOWN_ACTION"),
])
def test_the_linter_refuses_what_it_guards_against(bad, issue):
    """The guard itself: each rule fails a policy that breaks it."""
    problems = lint({"Version": "2012-10-17", "Statement": [{"Sid": "Bad", **bad}]})
    assert any(issue in p for p in problems), problems
