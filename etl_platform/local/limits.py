"""AWS's limits where the platform can hit them and moto does not enforce them (opt-in:
`--strict-limits`; at run time `POST /_etl/limits {"enabled": true|false}`).

- DynamoDB item size (etl_platform/core/dynamodb_item_size.py): over 400 KB by AWS's count,
  PutItem, BatchWriteItem and TransactWriteItems puts are refused before anything is
  written ("Item size has exceeded the maximum allowed size"); an UpdateItem or a
  transaction's Update whose result is over the limit is undone and refused ("Item size to
  update has exceeded the maximum allowed size"). Both are ValidationException, as on AWS.
  moto's own check (its count, at 405,000) is bypassed meanwhile, so an item AWS accepts is
  accepted. A refused update may leave a stream record behind.
- BatchWriteItem: more than 25 requests for one table, or in all, is refused with AWS's
  messages (moto accepts 26 and more).
- SQS: moto already refuses a body longer than the queue's MaximumMessageSize (AWS's
  default is now 1 MiB, raised from 256 KiB in 2025), but counts characters and ignores
  message attributes. Here the size is AWS's: the body's UTF-8 bytes plus each attribute's
  name, type and value, for SendMessage and every entry of SendMessageBatch (checked before
  any entry is sent), whose total is capped at 1 MiB in bytes too.
- S3 notifications: PutBucketNotificationConfiguration to a queue whose policy does not let
  s3.amazonaws.com send messages for this bucket (statement principal, action, resource,
  and aws:SourceArn / aws:SourceAccount conditions) is refused as AWS refuses it:
  InvalidArgument "Unable to validate the following destination configurations".
"""

from __future__ import annotations

import base64
import fnmatch
import json
from typing import Any, Callable

from moto.dynamodb.exceptions import MockValidationException
from moto.dynamodb.models.dynamo_type import LimitedSizeDict
from moto.dynamodb.responses import DynamoHandler
from moto.s3.exceptions import InvalidArgumentError
from moto.s3.models import S3Backend
from moto.sqs.constants import MAXIMUM_MESSAGE_LENGTH
from moto.sqs.exceptions import BatchRequestTooLong, InvalidParameterValue
from moto.sqs.models import SQSBackend, sqs_backends

from etl_platform.local.control import route
from etl_platform.local.dynamo_items import copy_of, find_table, key_of, place, stored
from etl_platform.core.dynamodb_item_size import ITEM_LIMIT_BYTES, item_size

BATCH_WRITE_MAX = 25
ITEM_TOO_LARGE = "Item size has exceeded the maximum allowed size"
UPDATE_TOO_LARGE = "Item size to update has exceeded the maximum allowed size"

_enabled = {"on": False}


def enabled() -> bool:
    return _enabled["on"]


def install_limits(on: bool = False) -> None:
    _enabled["on"] = on
    route("limits", _control)
    if getattr(DynamoHandler.batch_write_item, "etl_limits", False):
        return
    _patch(DynamoHandler, "put_item", _checked_put)
    _patch(DynamoHandler, "batch_write_item", _checked_batch_write)
    _patch(DynamoHandler, "update_item", _checked_update)
    _patch(DynamoHandler, "transact_write_items", _checked_transaction)
    _patch(LimitedSizeDict, "__setitem__", _aws_counts_instead)
    _patch(SQSBackend, "send_message", _checked_send)
    _patch(SQSBackend, "send_message_batch", _checked_send_batch)
    _patch(S3Backend, "put_bucket_notification_configuration", _checked_notifications)


def _control(body: dict[str, Any] | None) -> dict[str, Any]:
    if body is not None and "enabled" in body:
        _enabled["on"] = bool(body["enabled"])
    return {"enabled": _enabled["on"]}


def _patch(owner: type, name: str, make: Callable[[Callable], Callable]) -> None:
    original = getattr(owner, name)

    def guarded(*args, **kwargs):  # type: ignore[no-untyped-def]
        if not _enabled["on"]:
            return original(*args, **kwargs)
        return make(original)(*args, **kwargs)

    guarded.etl_limits = True  # type: ignore[attr-defined]
    setattr(owner, name, guarded)


# --- DynamoDB ----------------------------------------------------------------------------
def _too_large(attributes: dict[str, Any] | None) -> bool:
    return attributes is not None and item_size(attributes) > ITEM_LIMIT_BYTES


def _checked_put(original: Callable) -> Callable:
    def put_item(self):  # type: ignore[no-untyped-def]
        if _too_large(self.body.get("Item")):
            raise MockValidationException(ITEM_TOO_LARGE)
        return original(self)
    return put_item


def _checked_batch_write(original: Callable) -> Callable:
    def batch_write_item(self):  # type: ignore[no-untyped-def]
        requests = self.body.get("RequestItems") or {}
        for table_name, table_requests in requests.items():
            if len(table_requests) > BATCH_WRITE_MAX:
                raise MockValidationException(
                    f"1 validation error detected: Value at 'requestItems' failed to satisfy constraint: "
                    f"Map value must satisfy constraint: [Member must have length less than or equal to "
                    f"{BATCH_WRITE_MAX}, Member must have length greater than or equal to 1]"
                )
        if sum(len(r) for r in requests.values()) > BATCH_WRITE_MAX:
            raise MockValidationException("Too many items requested for the BatchWriteItem call")
        for table_requests in requests.values():
            for request in table_requests:
                if _too_large(request.get("PutRequest", {}).get("Item")):
                    raise MockValidationException(ITEM_TOO_LARGE)
        return original(self)
    return batch_write_item


def _undo_if_too_large(handler: Any, targets: list[tuple[str, dict]], run: Callable, message: str) -> Any:
    """Run a write; if an item it touched ends over the limit, put every touched item back."""
    touched = []
    for table_name, key_attributes in targets:
        table = find_table(handler, table_name)
        key = key_of(table, key_attributes or {}) if table is not None else None
        if key is not None:
            touched.append((table, key, copy_of(stored(table, key))))
    result = run()
    for table, key, _ in touched:
        after = stored(table, key)
        if after is not None and item_size(after.attrs) > ITEM_LIMIT_BYTES:
            for t, k, before in reversed(touched):
                place(t, k, before)
            raise MockValidationException(message)
    return result


def _checked_update(original: Callable) -> Callable:
    def update_item(self):  # type: ignore[no-untyped-def]
        target = [(self.body.get("TableName", ""), self.body.get("Key"))]
        return _undo_if_too_large(self, target, lambda: original(self), UPDATE_TOO_LARGE)
    return update_item


def _checked_transaction(original: Callable) -> Callable:
    def transact_write_items(self):  # type: ignore[no-untyped-def]
        entries = self.body.get("TransactItems") or []
        if any(_too_large(e["Put"].get("Item")) for e in entries if "Put" in e):
            raise MockValidationException(ITEM_TOO_LARGE)
        updates = [(e["Update"].get("TableName", ""), e["Update"].get("Key")) for e in entries if "Update" in e]
        return _undo_if_too_large(self, updates, lambda: original(self), UPDATE_TOO_LARGE)
    return transact_write_items


def _aws_counts_instead(original: Callable) -> Callable:
    def set_attribute(self, key, value):  # type: ignore[no-untyped-def]
        dict.__setitem__(self, key, value)  # sized by AWS's rule around the whole request instead
    return set_attribute


# --- SQS ---------------------------------------------------------------------------------
def message_size(body: str, attributes: dict[str, Any] | None) -> int:
    size = len(body.encode())
    for name, attribute in (attributes or {}).items():
        size += len(name.encode()) + len(str(attribute.get("DataType", "")).encode())
        if attribute.get("StringValue") is not None:
            size += len(str(attribute["StringValue"]).encode())
        if attribute.get("BinaryValue") is not None:
            value = attribute["BinaryValue"]
            size += len(value) if isinstance(value, (bytes, bytearray)) else len(base64.b64decode(value))
    return size


def _check_message(queue: Any, body: str, attributes: dict | None) -> None:
    limit = int(queue.maximum_message_size)
    if message_size(body, attributes) > limit:
        raise InvalidParameterValue(
            f"One or more parameters are invalid. Reason: Message must be shorter than {limit} bytes."
        )


def _checked_send(original: Callable) -> Callable:
    def send_message(self, queue_name, message_body, message_attributes=None, *args, **kwargs):  # type: ignore[no-untyped-def]
        _check_message(self.get_queue(queue_name), message_body, message_attributes)
        return original(self, queue_name, message_body, message_attributes, *args, **kwargs)
    return send_message


def _checked_send_batch(original: Callable) -> Callable:
    def send_message_batch(self, queue_name, entries):  # type: ignore[no-untyped-def]
        queue = self.get_queue(queue_name)
        sizes = [message_size(e["MessageBody"], e.get("MessageAttributes")) for e in entries.values()]
        if sum(sizes) > MAXIMUM_MESSAGE_LENGTH:
            raise BatchRequestTooLong(sum(sizes))
        for entry in entries.values():
            _check_message(queue, entry["MessageBody"], entry.get("MessageAttributes"))
        return original(self, queue_name, entries)
    return send_message_batch


# --- S3 -> SQS notifications -------------------------------------------------------------
def _checked_notifications(original: Callable) -> Callable:
    def put_bucket_notification_configuration(self, bucket_name, notification_config):  # type: ignore[no-untyped-def]
        refused = []
        for entry in (notification_config or {}).get("QueueConfiguration") or []:
            reason = queue_refuses(entry["Queue"], bucket_name, self.account_id)
            if reason:
                refused.append((entry["Queue"], reason))
        if refused:
            raise InvalidArgumentError(
                "Unable to validate the following destination configurations", refused[0][0], refused[0][1]
            )
        return original(self, bucket_name, notification_config)
    return put_bucket_notification_configuration


def queue_refuses(queue_arn: str, bucket: str, account_id: str) -> str | None:
    """Why S3 could not deliver this bucket's events to the queue; None if it can."""
    parts = queue_arn.split(":")
    if len(parts) != 6:
        return "The destination queue does not exist"
    _, partition, _, region, queue_account, name = parts
    queue = sqs_backends[queue_account][region].queues.get(name)
    if queue is None:
        return "The destination queue does not exist"
    context = {"aws:sourcearn": f"arn:{partition}:s3:::{bucket}", "aws:sourceaccount": account_id}
    statements = _statements(queue.policy)
    allowed = [s for s in statements if s.get("Effect") == "Allow" and _applies(s, queue_arn, context)]
    denied = [s for s in statements if s.get("Effect") == "Deny" and _applies(s, queue_arn, context)]
    if denied or not allowed:
        return "Permissions on the destination queue do not allow S3 to publish notifications from this bucket"
    return None


def _statements(policy: Any) -> list[dict]:
    if not policy:
        return []
    document = json.loads(policy) if isinstance(policy, str) else policy
    statements = document.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def _listed(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _applies(statement: dict, queue_arn: str, context: dict[str, str]) -> bool:
    principal = statement.get("Principal")
    if principal != "*":
        principal = principal or {}
        services = _listed(principal.get("Service", []))
        if "s3.amazonaws.com" not in services and "*" not in _listed(principal.get("AWS", [])):
            return False
    actions = [a.lower() for a in _listed(statement.get("Action", []))]
    if not any(fnmatch.fnmatchcase("sqs:sendmessage", a) for a in actions):
        return False
    if not any(fnmatch.fnmatchcase(queue_arn, r) for r in _listed(statement.get("Resource", []))):
        return False
    return all(
        _condition(operator, key.lower(), _listed(values), context)
        for operator, block in (statement.get("Condition") or {}).items()
        for key, values in block.items()
    )


def _condition(operator: str, key: str, values: list, context: dict[str, str]) -> bool:
    if_exists = operator.endswith("IfExists")
    operator = operator.removesuffix("IfExists")
    actual = context.get(key)
    if actual is None:
        return if_exists
    if operator in ("StringEquals", "ArnEquals"):
        return actual in [str(v) for v in values]
    if operator in ("StringLike", "ArnLike"):
        return any(fnmatch.fnmatchcase(actual, str(v)) for v in values)
    return False  # an operator S3's validation would not satisfy here
