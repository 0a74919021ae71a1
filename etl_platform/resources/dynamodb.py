"""A DynamoDB table as a Dagster resource: plain Python values in and out.

Domain tables (jobs, file tracking, file metadata, metrics) subclass `DynamoTable` and add
methods named after what the pipeline does. This base handles what every table needs:
Python <-> DynamoDB value conversion (floats as exact Decimals), conditional puts and
updates, consistent batch reads with unprocessed keys retried, and paginated queries.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any, Iterator

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError
from dagster import ConfigurableResource
from pydantic import Field

from etl_platform.resources.connection import AwsConnection

BATCH_GET_LIMIT = 100  # keys per BatchGetItem

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_dynamo_value(value: Any) -> Any:
    """Floats become Decimals through their shortest repr (boto3 refuses floats)."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: to_dynamo_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_dynamo_value(v) for v in value]
    return value


def from_dynamo_value(value: Any) -> Any:
    """Decimals come back as int when integral, float otherwise."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: from_dynamo_value(v) for k, v in value.items()}
    if isinstance(value, (list, set)):
        return [from_dynamo_value(v) for v in value]
    return value


def serialize_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(to_dynamo_value(v)) for k, v in item.items()}


def deserialize_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: from_dynamo_value(_deserializer.deserialize(v)) for k, v in item.items()}


class DynamoTable(ConfigurableResource):
    connection: AwsConnection
    table_name: str = Field(description="DynamoDB table name")

    @property
    def _client(self) -> Any:
        return self.connection.client("dynamodb")

    def get(self, key: dict[str, Any], *, consistent: bool = True) -> dict[str, Any] | None:
        response = self._client.get_item(TableName=self.table_name, Key=serialize_item(key), ConsistentRead=consistent)
        return deserialize_item(response["Item"]) if "Item" in response else None

    def put(self, item: dict[str, Any]) -> None:
        self._client.put_item(TableName=self.table_name, Item=serialize_item(item))

    def put_if_absent(self, item: dict[str, Any], key_attribute: str) -> bool:
        """Write `item` unless an item with its key exists; True if written."""
        return self.put_if(item, "attribute_not_exists(#k)", names={"#k": key_attribute})

    def put_if(self, item: dict[str, Any], condition: str, *, names: dict[str, str] | None = None,
               values: dict[str, Any] | None = None) -> bool:
        """Write (replace) `item` only if `condition` holds on the stored item; True if written."""
        arguments: dict[str, Any] = {"TableName": self.table_name, "Item": serialize_item(item),
                                     "ConditionExpression": condition}
        if names:
            arguments["ExpressionAttributeNames"] = names
        if values:
            arguments["ExpressionAttributeValues"] = serialize_item(values)
        try:
            self._client.put_item(**arguments)
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise

    def update(self, key: dict[str, Any], changes: dict[str, Any], *, condition: str | None = None,
               names: dict[str, str] | None = None, values: dict[str, Any] | None = None,
               add: dict[str, Any] | None = None, remove: tuple[str, ...] = (),
               returns: str = "ALL_NEW") -> dict[str, Any] | None:
        """SET `changes` (ADD `add`: numbers, or sets to merge in; REMOVE `remove`) on an item; the updated item (with
        `returns="ALL_OLD"`, the item as it was: {} if there was none), or None when
        `condition` fails."""
        attribute_names = dict(names or {})
        attribute_values = dict(values or {})
        clauses = []
        for i, (field, value) in enumerate(changes.items()):
            attribute_names[f"#u{i}"] = field
            attribute_values[f":u{i}"] = value
            clauses.append(f"#u{i} = :u{i}")
        expression = f"SET {', '.join(clauses)}" if clauses else ""
        if add:
            adds = []
            for i, (field, amount) in enumerate(add.items()):
                attribute_names[f"#a{i}"] = field
                attribute_values[f":a{i}"] = amount
                adds.append(f"#a{i} :a{i}")
            expression += f" ADD {', '.join(adds)}"
        if remove:
            for i, field in enumerate(remove):
                attribute_names[f"#r{i}"] = field
            expression += f" REMOVE {', '.join(f'#r{i}' for i in range(len(remove)))}"
        arguments: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": serialize_item(key),
            "UpdateExpression": expression.strip(),
            "ExpressionAttributeNames": attribute_names,
            "ReturnValues": returns,
        }
        if attribute_values:  # DynamoDB refuses an empty map
            arguments["ExpressionAttributeValues"] = serialize_item(attribute_values)
        if condition:
            arguments["ConditionExpression"] = condition
        try:
            return deserialize_item(self._client.update_item(**arguments).get("Attributes", {}))
        except ClientError as exc:
            if condition and exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise

    def batch_get(self, keys: list[dict[str, Any]], *, consistent: bool = True, max_retries: int = 8) -> list[dict[str, Any]]:
        """The items of `keys` that exist (any order), 100 keys per BatchGetItem, unprocessed
        keys retried with backoff; strongly consistent unless told otherwise."""
        found: list[dict[str, Any]] = []
        for start in range(0, len(keys), BATCH_GET_LIMIT):
            pending: dict[str, Any] = {self.table_name: {
                "Keys": [serialize_item(k) for k in keys[start : start + BATCH_GET_LIMIT]], "ConsistentRead": consistent}}
            for attempt in range(max_retries + 1):
                response = self._client.batch_get_item(RequestItems=pending)
                found += [deserialize_item(i) for i in response["Responses"].get(self.table_name, [])]
                pending = response.get("UnprocessedKeys") or {}
                if not pending:
                    break
                time.sleep(min(0.05 * 2**attempt, 2.0))
            else:
                raise RuntimeError(f"{self.table_name}: keys still unprocessed after {max_retries} retries")
        return found

    def query_page(self, *, key_condition: str, values: dict[str, Any], limit: int,
                   start: dict[str, Any] | None = None, names: dict[str, str] | None = None,
                   index_name: str | None = None) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """One page of at most `limit` items (eventually consistent) from `start`, and the key
        to continue from (None once there is nothing more): for callers that read a bounded
        number of items and go on only if they need more."""
        arguments: dict[str, Any] = {"TableName": self.table_name, "KeyConditionExpression": key_condition,
                                     "ExpressionAttributeValues": serialize_item(values), "Limit": limit}
        if names:
            arguments["ExpressionAttributeNames"] = names
        if index_name:
            arguments["IndexName"] = index_name
        if start:
            arguments["ExclusiveStartKey"] = start
        response = self._client.query(**arguments)
        return [deserialize_item(i) for i in response["Items"]], response.get("LastEvaluatedKey")

    def query(self, *, key_condition: str, values: dict[str, Any], names: dict[str, str] | None = None,
              index_name: str | None = None, limit: int | None = None, forward: bool = True,
              consistent: bool = False, **extra: Any) -> Iterator[dict[str, Any]]:
        """Yield items matching `key_condition`, across pages (up to `limit` items).

        `consistent` reads the base table strongly consistently: a decision taken on the
        result must ask for it. DynamoDB serves index reads only eventually consistently, so
        an index read can only nominate candidates that a conditional write then confirms."""
        if consistent and index_name:
            raise ValueError("DynamoDB has no consistent reads on a global secondary index")
        arguments: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": key_condition,
            "ExpressionAttributeValues": serialize_item(values),
            "ScanIndexForward": forward,
            **({"ConsistentRead": True} if consistent else {}),
            **extra,
        }
        if names:
            arguments["ExpressionAttributeNames"] = names
        if index_name:
            arguments["IndexName"] = index_name
        yielded = 0
        while True:
            if limit is not None:
                arguments["Limit"] = limit - yielded
            response = self._client.query(**arguments)
            for item in response["Items"]:
                yield deserialize_item(item)
                yielded += 1
            if "LastEvaluatedKey" not in response or (limit is not None and yielded >= limit):
                return
            arguments["ExclusiveStartKey"] = response["LastEvaluatedKey"]
