"""DynamoDB's item size, computed by AWS's documented rule. Pure.

"The total size of an item is the sum of the lengths of its attribute names and values":
strings and names count their UTF-8 bytes; a number about one byte per two significant
digits plus one (leading and trailing zeros trimmed); binary its raw bytes; a Boolean or
null one byte; a List or Map 3 bytes plus one byte per element, plus its elements (and a
Map's keys); sets the sum of their elements. The limit is 400 KB = 409,600 bytes.

moto counts differently (numbers as their text, no List/Map overhead) and rejects at
405,000: a 5,000-column profile can pass moto and fail on AWS. The emulator's strict mode
measures requests in the wire format (`item_size`); the platform measures what it is about
to write, plain Python values (`python_item_size`), by the same rule.
"""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any, Callable

ITEM_LIMIT_BYTES = 400 * 1024


def item_size(attributes: dict[str, Any]) -> int:
    """Size of an item given as {name: {"S": ...}} (or moto DynamoType values)."""
    return sum(len(name.encode()) + value_size(value) for name, value in attributes.items())


def python_item_size(item: dict[str, Any]) -> int:
    """Size of an item given as plain Python values (as boto3's resource layer takes them)."""
    return sum(len(name.encode()) + value_size(value, _python_kind) for name, value in item.items())


def value_size(value: Any, unwrap: Callable[[Any], tuple[str, Any]] | None = None) -> int:
    unwrap = unwrap or _unwrap
    kind, data = unwrap(value)
    if kind == "S":
        return len(data.encode())
    if kind == "N":
        return number_size(data)
    if kind == "B":
        return len(_raw(data))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in data)
    if kind == "NS":
        return sum(number_size(n) for n in data)
    if kind == "BS":
        return sum(len(_raw(b)) for b in data)
    if kind == "L":
        return 3 + sum(1 + value_size(v, unwrap) for v in data)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(v, unwrap) for k, v in data.items())
    raise ValueError(f"not a DynamoDB attribute value: {value!r}")


def number_size(text: str) -> int:
    mantissa = str(text).strip().lstrip("+-").lower().split("e")[0]
    digits = mantissa.replace(".", "").lstrip("0").rstrip("0")
    return (len(digits) + 1) // 2 + 1


def _unwrap(value: Any) -> tuple[str, Any]:
    if isinstance(value, dict):
        (kind, data), = value.items()
        return kind, data
    return value.type, value.value  # moto's DynamoType


def _python_kind(value: Any) -> tuple[str, Any]:
    """The DynamoDB type boto3 would give a Python value."""
    if value is None:
        return "NULL", True
    if isinstance(value, bool):
        return "BOOL", value
    if isinstance(value, str):
        return "S", value
    if isinstance(value, (bytes, bytearray)):
        return "B", bytes(value)
    if isinstance(value, (int, float, Decimal)):
        return "N", str(value)
    if isinstance(value, dict):
        return "M", value
    if isinstance(value, (list, tuple)):
        return "L", value
    if isinstance(value, (set, frozenset)):
        kinds = {_python_kind(v)[0] for v in value}
        return (kinds.pop() + "S" if len(kinds) == 1 else "L"), [_python_kind(v)[1] for v in value]
    raise TypeError(f"not a DynamoDB value: {type(value).__name__}")


def _raw(data: Any) -> bytes:
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    return base64.b64decode(data)
