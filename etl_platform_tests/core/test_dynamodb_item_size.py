"""DynamoDB's item-size rules, as the platform measures them before writing."""

from decimal import Decimal

from etl_platform.core.dynamodb_item_size import ITEM_LIMIT_BYTES, item_size, number_size


def test_sizes_follow_the_documented_rules():
    assert item_size({"name": "Chloé"}) == 4 + 6  # UTF-8 bytes of name and value
    assert number_size(12345) == 4 and number_size(Decimal("1.50")) == 2 and number_size(0) == 2
    assert item_size({"b": b"\x00\x01", "t": True, "n": None}) == (1 + 2) + (1 + 1) + (1 + 1)
    # a map costs 3 bytes plus a byte per element, beside its names and values
    assert item_size({"m": {"a": "xy", "b": [1, "z"]}}) == 1 + (3 + (1 + 2 + 1) + (1 + (3 + (2 + 1) + (1 + 1)) + 1))
    assert item_size({"big": "x" * ITEM_LIMIT_BYTES}) > ITEM_LIMIT_BYTES
