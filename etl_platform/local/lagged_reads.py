"""Eventually consistent reads, as DynamoDB serves them (opt-in: `--read-lag SECONDS`).

moto answers every read from the latest write. DynamoDB does not: a GetItem, Query or Scan
without `ConsistentRead=true`, and every read of a global secondary index, may miss writes
made in the last moments. Code that claims items with conditional writes and then lists
them through a GSI passes on moto and loses items on AWS. In this mode:

- a read with `ConsistentRead=true` on the base table (GetItem, Query, Scan, BatchGetItem per
  table) and TransactGetItems see the latest write, as on DynamoDB;
- every other read sees each item as it was `lag` seconds ago: an item written within the
  window shows its previous image (or is absent if it is new), an item deleted within the
  window is still there. Conditional writes always check the latest image.

How: each write (PutItem, UpdateItem, DeleteItem, BatchWriteItem, TransactWriteItems)
records, per key, the image it replaced and when (on the emulator's clock). An eventually
consistent read puts the lagged images into moto's table, runs moto's own read (so GSI key
conditions, filters, pagination and projections behave as before), and puts the current
images back, all under the DynamoDB request lock. Records older than the lag are dropped.

Switch at run time: `POST /_etl/lag {"seconds": 2}` (0 turns it off; a change forgets the
recorded writes, so the lag applies to writes made after it). Writes made by the emulator
itself (TTL expiry) are not lagged.
"""

from __future__ import annotations

from typing import Any, Callable

from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.models.table import Table

from etl_platform.local import clock
from etl_platform.local.control import route
from etl_platform.local.dynamo_items import (
    LOCK, WRITE_ACTIONS, Key, copy_of, find_table, place, stored, wrap_call_action, written_keys,
)

_lag = 0.0
# id(table) -> (table, {key: [(written_at, image_before_that_write), ...] oldest first})
_history: dict[int, tuple[Table, dict[Key, list[tuple[float, Item | None]]]]] = {}
_writes = 0


def set_lag(seconds: float) -> None:
    global _lag
    if seconds < 0:
        raise ValueError("the lag cannot be negative")
    with LOCK:
        _lag = float(seconds)
        _history.clear()


def install_lagged_reads(seconds: float = 0.0) -> None:
    set_lag(seconds)
    wrap_call_action("lagged_reads", _wrap)
    route("lag", _control)


def _control(body: dict[str, Any] | None) -> dict[str, Any]:
    if body is not None and "seconds" in body:
        set_lag(float(body["seconds"]))
    with LOCK:
        recorded = sum(len(keys) for _, keys in _history.values())
    return {"seconds": _lag, "keys_in_window": recorded}


def _wrap(call_action: Callable) -> Callable:
    def lagged(self):  # type: ignore[no-untyped-def]
        with LOCK:
            if _lag <= 0:
                return call_action(self)
            action = self._get_action()
            params = getattr(self, "params", None) or {}
            if action in WRITE_ACTIONS:
                return _recording_write(self, call_action, action, params)
            tables = _lagged_tables(self, action, params)
            if not tables:
                return call_action(self)
            return _reading_lagged(self, call_action, tables)

    return lagged


def _recording_write(handler: Any, call_action: Callable, action: str, params: dict) -> Any:
    before = [(table, key, copy_of(stored(table, key))) for table, key in written_keys(handler, action, params)]
    try:
        return call_action(handler)
    finally:
        written_at = clock.now()
        for table, key, image in before:
            if not _same(stored(table, key), image):  # a failed condition writes nothing
                _, keys = _history.setdefault(id(table), (table, {}))
                keys.setdefault(key, []).append((written_at, image))
        global _writes
        _writes += 1
        if _writes % 1000 == 0:  # keys written and never read again
            _prune(written_at - _lag)


def _same(a: Item | None, b: Item | None) -> bool:
    if a is None or b is None:
        return a is b
    return a == b


def _prune(horizon: float) -> None:
    for table_id, (_, keys) in list(_history.items()):
        for key in list(keys):
            if keys[key][-1][0] <= horizon:
                del keys[key]
        if not keys:
            del _history[table_id]


def _lagged_tables(handler: Any, action: str, params: dict) -> list[Table]:
    """The tables this read sees through the lag (none for a strongly consistent read)."""
    names: list[str] = []
    if action in ("GetItem", "Query", "Scan"):
        table = find_table(handler, params.get("TableName", ""))
        if table is None:
            return []
        index = params.get("IndexName")
        on_gsi = bool(index) and any(i.name == index for i in (table.global_indexes or []))
        return [table] if on_gsi or not params.get("ConsistentRead") else []
    if action == "BatchGetItem":
        names = [n for n, request in (params.get("RequestItems") or {}).items() if not request.get("ConsistentRead")]
    return [t for t in (find_table(handler, n) for n in names) if t is not None]


def _reading_lagged(handler: Any, call_action: Callable, tables: list[Table]) -> Any:
    horizon = clock.now() - _lag
    swapped: list[tuple[Table, Key, Item | None]] = []
    try:
        for table in tables:
            entry = _history.get(id(table))
            if entry is None or entry[0] is not table:
                continue
            keys = entry[1]
            for key in list(keys):
                records = [r for r in keys[key] if r[0] > horizon]
                if not records:
                    del keys[key]
                    continue
                keys[key] = records
                swapped.append((table, key, stored(table, key)))
                place(table, key, records[0][1])  # the image before the oldest write in the window
        return call_action(handler)
    finally:
        for table, key, current in reversed(swapped):
            place(table, key, current)
        for table_id in [i for i, (_, keys) in _history.items() if not keys]:
            del _history[table_id]
