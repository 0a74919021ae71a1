"""DynamoDB's item-size rule measures plain Python values as boto3 would send them."""

from decimal import Decimal

from etl_platform.core.dynamodb_item_size import ITEM_LIMIT_BYTES, item_size, python_item_size


def test_python_values_measure_as_their_wire_form():
    item = {"name": "Chloé", "n": Decimal("1.50"), "b": b"\x00\x01", "t": True, "none": None,
            "m": {"a": "xy", "l": [1, "z"]}, "tags": {"a", "bc"}}
    wire = {"name": {"S": "Chloé"}, "n": {"N": "1.50"}, "b": {"B": b"\x00\x01"}, "t": {"BOOL": True},
            "none": {"NULL": True}, "m": {"M": {"a": {"S": "xy"}, "l": {"L": [{"N": "1"}, {"S": "z"}]}}},
            "tags": {"SS": ["a", "bc"]}}
    assert python_item_size(item) == item_size(wire)
    assert python_item_size({"name": "Chloé"}) == 4 + 6  # UTF-8 bytes of name and value
    assert python_item_size({"big": "x" * ITEM_LIMIT_BYTES}) > ITEM_LIMIT_BYTES
