"""The alerts topic as a Dagster resource (dagster-aws ships nothing for SNS)."""

from __future__ import annotations

import json
from typing import Any

from dagster import ConfigurableResource
from pydantic import Field

from etl_platform.resources.connection import AwsConnection


class AlertsTopic(ConfigurableResource):
    connection: AwsConnection
    topic_name: str = Field(description="SNS topic that carries failure alerts")

    @property
    def topic_arn(self) -> str:
        return self.connection.arn("sns", self.topic_name)

    def publish_alert(self, subject: str, details: dict[str, Any]) -> str:
        """Publish a JSON alert; `subject` is what an e-mail subscriber sees (100 chars max)."""
        response = self.connection.client("sns").publish(
            TopicArn=self.topic_arn,
            Subject=subject[:100],
            Message=json.dumps({"subject": subject, **details}, default=str),
        )
        return response["MessageId"]
