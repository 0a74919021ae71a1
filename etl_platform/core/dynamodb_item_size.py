"""How large DynamoDB counts an item, by its documented rules. Pure.

DynamoDB refuses an item over 400 KB (409,600 bytes), counting attribute names and values:
strings and binaries by their UTF-8/byte length, numbers at about one byte per two
significant digits plus one, booleans and nulls one byte, and lists and maps 3 bytes plus
one byte per element on top of their elements. moto accepts any size, so the platform
measures what it writes (and the emulator enforces the same rule in its strict mode).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

ITEM_LIMIT_BYTES = 400 * 1024


def number_size(value: int | float | Decimal) -> int:
    digits = Decimal(str(value)).normalize().as_tuple().digits
    significant = len(digits) if any(digits) else 1
    return (significant + 1) // 2 + 1


def value_size(value: Any) -> int:
    if value is None or isinstance(value, bool):
        return 1
    if isinstance(value, str):
        return len(value.encode("utf-8"))
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    if isinstance(value, (int, float, Decimal)):
        return number_size(value)
    if isinstance(value, dict):
        return 3 + sum(len(str(k).encode("utf-8")) + value_size(v) + 1 for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return 3 + sum(value_size(v) + 1 for v in value)
    raise TypeError(f"not a DynamoDB value: {type(value).__name__}")


def item_size(item: dict[str, Any]) -> int:
    """The item's size as DynamoDB counts it against ITEM_LIMIT_BYTES (plain Python values)."""
    return sum(len(name.encode("utf-8")) + value_size(value) for name, value in item.items())
