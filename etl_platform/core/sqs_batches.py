"""What an AWS Lambda SQS event source mapping hands a function, and what it deletes after. Pure.

On AWS the validator is a Lambda behind an event source mapping on the file-events queue
(batch size 10, `FunctionResponseTypes: [ReportBatchItemFailures]`); locally a validation
run plays the mapping's part with the same two rules, so the handler cannot tell them apart:

- `lambda_sqs_event`: received messages as the event a function receives, the documented
  shape `{"Records": [{"messageId", "receiptHandle", "body", "attributes", "messageAttributes",
  "md5OfBody", "eventSource": "aws:sqs", "eventSourceARN", "awsRegion"}]}`;
- `deletable_message_ids`: which messages the mapping deletes from the function's response.
  A response without `batchItemFailures` (or an empty list) is a complete success; an entry
  whose `itemIdentifier` is empty or names no message of the batch makes the whole batch a
  failure (nothing deleted); so does a function error (the caller passes no response).
  Failed messages come back after the visibility timeout, and reach the DLQ after the
  queue's `maxReceiveCount` receives.
"""

from __future__ import annotations

import hashlib
from typing import Any, Iterable, Mapping


def lambda_sqs_event(messages: Iterable[Mapping[str, Any]], *, queue_arn: str, region: str) -> dict[str, Any]:
    """`messages`: each with message_id, receipt_handle, body and the SQS system `attributes`."""
    return {"Records": [{
        "messageId": m["message_id"],
        "receiptHandle": m["receipt_handle"],
        "body": m["body"],
        "attributes": {k: str(v) for k, v in m.get("attributes", {}).items()},
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(m["body"].encode()).hexdigest(),  # noqa: S324 - SQS's own checksum
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    } for m in messages]}


def batch_item_failures(message_ids: Iterable[str]) -> dict[str, list[dict[str, str]]]:
    """The partial-batch response naming `message_ids` as failed."""
    return {"batchItemFailures": [{"itemIdentifier": i} for i in message_ids]}


def deletable_message_ids(batch_ids: list[str], response: Any) -> list[str]:
    """The messages of the batch the mapping deletes, given the function's response (None:
    the function raised or timed out)."""
    if response is None:
        return []
    failures = response.get("batchItemFailures") if isinstance(response, Mapping) else None
    if not failures:
        return list(batch_ids)
    failed = set()
    for entry in failures:
        identifier = entry.get("itemIdentifier") if isinstance(entry, Mapping) else None
        if not identifier or identifier not in batch_ids:
            return []
        failed.add(identifier)
    return [i for i in batch_ids if i not in failed]
