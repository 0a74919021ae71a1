"""Read `infra/template.yaml` and resolve it for one env and account.

The local provisioner and the drift test both read the CloudFormation template through
this module, so the template stays the single source of truth for names, keys, indexes,
TTL, notifications and queue settings. Only the intrinsic functions the template uses are
supported; anything else fails loudly rather than being half-understood.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

_SHORT_TAGS = {
    "!Ref": "Ref", "!Sub": "Fn::Sub", "!GetAtt": "Fn::GetAtt", "!FindInMap": "Fn::FindInMap",
    "!Join": "Fn::Join", "!Select": "Fn::Select", "!Split": "Fn::Split", "!If": "Fn::If",
    "!Equals": "Fn::Equals", "!Not": "Fn::Not", "!GetAZs": "Fn::GetAZs", "!ImportValue": "Fn::ImportValue",
}


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns CloudFormation's short-form tags into their long form."""


def _construct(tag: str):
    def construct(loader: _CfnLoader, node: yaml.Node) -> dict:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if tag == "Fn::GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {tag: value}

    return construct


for _short, _long in _SHORT_TAGS.items():
    _CfnLoader.add_constructor(_short, _construct(_long))


def load_template(path: Path) -> dict:
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


# What Ref and GetAtt return for each resource type, from its resolved properties.
_NAME_PROPERTY = {
    "AWS::S3::Bucket": "BucketName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::Glue::Job": "Name",
    "AWS::IAM::Role": "RoleName",
    "AWS::Lambda::Function": "FunctionName",
}


@dataclass(frozen=True)
class ResolvedResource:
    logical_id: str
    type: str
    properties: dict[str, Any]
    depends_on: tuple[str, ...] = ()

    @property
    def name(self) -> str | None:
        key = _NAME_PROPERTY.get(self.type)
        return self.properties.get(key) if key else None


class ResolvedTemplate:
    """The template's resources with every intrinsic function evaluated."""

    def __init__(self, template: dict, *, env: str, account_id: str, region: str, endpoint: str | None = None,
                 parameters: dict[str, str] | None = None):
        self.template = template
        # the template's defaults, then Env, then what a deploy passes (ValidatorCodeKey)
        self.params = {name: str(spec["Default"]) for name, spec in template.get("Parameters", {}).items()
                       if "Default" in spec}
        self.params.update({"Env": env, **(parameters or {})})
        self.pseudo = {
            "AWS::AccountId": account_id, "AWS::Region": region, "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com", "AWS::StackName": f"etl-platform-{env}",
        }
        self.account_id = account_id
        self.region = region
        # Queue URLs depend on the endpoint; locally they point at the emulator.
        self.queue_url_base = (endpoint or f"https://sqs.{region}.amazonaws.com").rstrip("/")
        # a resource whose Condition is false does not exist for this deployment
        self.conditions = {name: bool(self.resolve(body)) for name, body in template.get("Conditions", {}).items()}
        raw = {logical_id: body for logical_id, body in template["Resources"].items()
               if self.conditions.get(body.get("Condition", ""), True)}
        self._raw = raw
        self._names: dict[str, str] = {}
        for logical_id, body in raw.items():
            key = _NAME_PROPERTY.get(body["Type"])
            if key and key in body.get("Properties", {}):
                self._names[logical_id] = self.resolve(body["Properties"][key])
        self.resources = {
            logical_id: ResolvedResource(
                logical_id=logical_id,
                type=body["Type"],
                properties=self.resolve(body.get("Properties", {})),
                depends_on=tuple(_as_list(body.get("DependsOn", []))),
            )
            for logical_id, body in raw.items()
        }

    @classmethod
    def from_file(cls, path: Path, **kwargs: Any) -> "ResolvedTemplate":
        return cls(load_template(path), **kwargs)

    def of_type(self, resource_type: str) -> list[ResolvedResource]:
        return [r for r in self.resources.values() if r.type == resource_type]

    # --- intrinsic functions ---------------------------------------------------------
    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                return self._ref(arg)
            if key == "Fn::GetAtt":
                return self._get_att(*arg)
            if key == "Fn::Sub":
                return self._sub(arg)
            if key == "Fn::FindInMap":
                mapping, top, second = (self.resolve(a) for a in arg)
                return self.template["Mappings"][mapping][top][second]
            if key == "Fn::Equals":
                left, right = (self.resolve(a) for a in arg)
                return left == right
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Fn::Join":
                separator, items = arg
                return separator.join(str(i) for i in self.resolve(items))
            if key.startswith("Fn::"):
                raise ValueError(f"intrinsic {key} is not supported by the local provisioner")
        return {k: self.resolve(v) for k, v in value.items()}

    def _ref(self, name: str) -> str:
        if name in self.params:
            return self.params[name]
        if name in self.pseudo:
            return self.pseudo[name]
        resource_type = self._raw[name]["Type"]
        physical = self._names[name]
        if resource_type == "AWS::SQS::Queue":
            return f"{self.queue_url_base}/{self.account_id}/{physical}"
        if resource_type == "AWS::SNS::Topic":
            return f"arn:aws:sns:{self.region}:{self.account_id}:{physical}"
        return physical

    def _get_att(self, name: str, attribute: str) -> str:
        resource_type = self._raw[name]["Type"]
        physical = self._names[name]
        arns = {
            "AWS::S3::Bucket": f"arn:aws:s3:::{physical}",
            "AWS::SQS::Queue": f"arn:aws:sqs:{self.region}:{self.account_id}:{physical}",
            "AWS::SNS::Topic": f"arn:aws:sns:{self.region}:{self.account_id}:{physical}",
            "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{self.region}:{self.account_id}:table/{physical}",
            "AWS::IAM::Role": f"arn:aws:iam::{self.account_id}:role/{physical}",
            "AWS::Lambda::Function": f"arn:aws:lambda:{self.region}:{self.account_id}:function:{physical}",
        }
        if attribute in ("Arn", "TopicArn"):
            return arns[resource_type]
        if attribute == "QueueName":
            return physical
        if attribute == "QueueUrl":
            return self._ref(name)
        raise ValueError(f"GetAtt {name}.{attribute} is not supported by the local provisioner")

    def _sub(self, arg: Any) -> str:
        text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))

        def replace(match: re.Match) -> str:
            token = match.group(1)
            if token in extra:
                return str(extra[token])
            if "." in token:
                return self._get_att(*token.split(".", 1))
            return self._ref(token)

        return re.sub(r"\$\{([^}!]+)\}", replace, text)


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]
