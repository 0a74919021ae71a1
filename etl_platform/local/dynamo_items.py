"""What the emulator's DynamoDB modes share: the request lock and direct access to moto's items.

moto keeps a table's items in `Table.items`: `{hash: Item}`, or `{hash: {range: Item}}` when
the table has a sort key (a defaultdict: reading a missing hash through `[]` would create
an empty bucket, so everything here uses `.get`). GSI queries and scans read those same
items, so whatever is placed there is what every read sees.
"""

from __future__ import annotations

import copy
import threading
from typing import Any, Callable, Iterator

from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler

# One DynamoDB request at a time (see server.serialize_dynamodb). Re-entrant, so each mode
# may take it around its own work whatever order the modes were installed in.
LOCK = threading.RLock()

Key = tuple[DynamoType, "DynamoType | None"]


def wrap_call_action(tag: str, make: Callable[[Callable], Callable]) -> None:
    """Replace DynamoHandler.call_action by `make(previous)`, once per `tag`."""
    current = DynamoHandler.call_action
    tags = getattr(current, "etl_tags", frozenset())
    if tag in tags:
        return
    wrapped = make(current)
    wrapped.etl_tags = tags | {tag}  # type: ignore[attr-defined]
    wrapped.serialized = getattr(current, "serialized", False)  # type: ignore[attr-defined]
    DynamoHandler.call_action = wrapped  # type: ignore[method-assign]


def key_of(table: Table, attributes: dict[str, Any]) -> Key | None:
    """The primary key in `attributes` (wire format), None if it is incomplete."""
    if table.hash_key_attr not in attributes:
        return None
    range_key = None
    if table.range_key_attr:
        if table.range_key_attr not in attributes:
            return None
        range_key = DynamoType(attributes[table.range_key_attr])
    return DynamoType(attributes[table.hash_key_attr]), range_key


def stored(table: Table, key: Key) -> Item | None:
    hash_key, range_key = key
    if range_key is None:
        return table.items.get(hash_key)
    bucket = table.items.get(hash_key)
    return bucket.get(range_key) if bucket else None


def place(table: Table, key: Key, item: Item | None) -> None:
    """Make `item` the stored image of `key` (None: no item)."""
    hash_key, range_key = key
    if range_key is None:
        if item is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = item
        return
    if item is None:
        bucket = table.items.get(hash_key)
        if bucket is not None:
            bucket.pop(range_key, None)
            if not bucket:
                del table.items[hash_key]
    else:
        table.items[hash_key][range_key] = item


def copy_of(item: Item | None) -> Item | None:
    return copy.deepcopy(item) if item is not None else None


def find_table(handler: DynamoHandler, name: str) -> Table | None:
    backend = dynamodb_backends[handler.current_account][handler.region]
    name = name.rsplit("/", 1)[-1] if name.startswith("arn:") else name
    return backend.tables.get(name)


def written_keys(handler: DynamoHandler, action: str, params: dict[str, Any]) -> Iterator[tuple[Table, Key]]:
    """(table, key) of every item a write request may change. PartiQL statements are not
    covered (the platform sends none)."""
    def one(table_name: str, attributes: dict[str, Any] | None) -> Iterator[tuple[Table, Key]]:
        table = find_table(handler, table_name) if table_name else None
        key = key_of(table, attributes or {}) if table is not None else None
        if key is not None:
            yield table, key

    if action == "PutItem":
        yield from one(params.get("TableName", ""), params.get("Item"))
    elif action in ("UpdateItem", "DeleteItem"):
        yield from one(params.get("TableName", ""), params.get("Key"))
    elif action == "BatchWriteItem":
        for table_name, requests in (params.get("RequestItems") or {}).items():
            for request in requests:
                if "PutRequest" in request:
                    yield from one(table_name, request["PutRequest"].get("Item"))
                elif "DeleteRequest" in request:
                    yield from one(table_name, request["DeleteRequest"].get("Key"))
    elif action == "TransactWriteItems":
        for entry in params.get("TransactItems") or []:
            if "Put" in entry:
                yield from one(entry["Put"].get("TableName", ""), entry["Put"].get("Item"))
            for kind in ("Update", "Delete"):
                if kind in entry:
                    yield from one(entry[kind].get("TableName", ""), entry[kind].get("Key"))


WRITE_ACTIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
