"""An SQS queue as a Dagster resource (dagster-aws ships nothing for SQS)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from dagster import ConfigurableResource
from pydantic import Field, PrivateAttr

from etl_platform.resources.connection import AwsConnection

SQS_BATCH_LIMIT = 10


@dataclass(frozen=True)
class ReceivedMessage:
    message_id: str
    receipt_handle: str
    body: str
    receive_count: int
    attributes: dict[str, str] = field(default_factory=dict)  # SQS system attributes (SentTimestamp, ...)


class SqsQueue(ConfigurableResource):
    connection: AwsConnection
    queue_name: str = Field(description="SQS queue name")
    _url: str | None = PrivateAttr(default=None)

    @property
    def _client(self) -> Any:
        return self.connection.client("sqs")

    @property
    def url(self) -> str:
        if self._url is None:
            self._url = self._client.get_queue_url(QueueName=self.queue_name)["QueueUrl"]
        return self._url

    def send(self, body: str | dict) -> str:
        text = body if isinstance(body, str) else json.dumps(body)
        return self._client.send_message(QueueUrl=self.url, MessageBody=text)["MessageId"]

    def receive(self, *, max_messages: int = SQS_BATCH_LIMIT, wait_seconds: int = 0,
                visibility_timeout: int | None = None) -> list[ReceivedMessage]:
        arguments: dict[str, Any] = {
            "QueueUrl": self.url,
            "MaxNumberOfMessages": min(max_messages, SQS_BATCH_LIMIT),
            "WaitTimeSeconds": wait_seconds,
            "MessageSystemAttributeNames": ["All"],
        }
        if visibility_timeout is not None:
            arguments["VisibilityTimeout"] = visibility_timeout
        return [
            ReceivedMessage(
                message_id=m["MessageId"],
                receipt_handle=m["ReceiptHandle"],
                body=m["Body"],
                receive_count=int(m.get("Attributes", {}).get("ApproximateReceiveCount", 1)),
                attributes=m.get("Attributes", {}),
            )
            for m in self._client.receive_message(**arguments).get("Messages", [])
        ]

    def delete(self, receipt_handles: list[str]) -> list[str]:
        """Delete messages, 10 per call; returns the receipt handles that failed."""
        failed: list[str] = []
        for start in range(0, len(receipt_handles), SQS_BATCH_LIMIT):
            chunk = receipt_handles[start : start + SQS_BATCH_LIMIT]
            response = self._client.delete_message_batch(
                QueueUrl=self.url, Entries=[{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(chunk)]
            )
            failed += [chunk[int(f["Id"])] for f in response.get("Failed", [])]
        return failed

    def peek(self, *, limit: int, hold_seconds: int = 30) -> list[ReceivedMessage]:
        """Up to `limit` messages, left in the queue. SQS has no read-only peek: each is
        received (hidden for `hold_seconds`, so the next receive returns others) and made
        visible again at once with ChangeMessageVisibility 0, also if listing fails midway.
        Every receive adds 1 to a message's ApproximateReceiveCount (the counts returned
        include this look); on a queue with a redrive policy that count moves messages to
        the DLQ, so peek only a queue without one, such as the DLQ itself."""
        seen: dict[str, ReceivedMessage] = {}
        handles: list[str] = []
        try:
            while len(seen) < limit:
                batch = self.receive(max_messages=limit - len(seen), wait_seconds=1, visibility_timeout=hold_seconds)
                handles += [m.receipt_handle for m in batch]
                fresh = [m for m in batch if m.message_id not in seen]
                if not fresh:
                    break
                seen.update((m.message_id, m) for m in fresh)
        finally:
            self.release(handles)
        return list(seen.values())

    def release(self, receipt_handles: list[str]) -> None:
        """Make received messages visible again now (visibility timeout 0)."""
        for start in range(0, len(receipt_handles), SQS_BATCH_LIMIT):
            chunk = receipt_handles[start : start + SQS_BATCH_LIMIT]
            self._client.change_message_visibility_batch(QueueUrl=self.url, Entries=[
                {"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0} for i, h in enumerate(chunk)])

    def approximate_depth(self) -> dict[str, int]:
        attributes = self._client.get_queue_attributes(
            QueueUrl=self.url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return {
            "visible": int(attributes["ApproximateNumberOfMessages"]),
            "in_flight": int(attributes["ApproximateNumberOfMessagesNotVisible"]),
        }
