"""The emulator's lagged-reads mode serves reads as DynamoDB does (etl_platform/local/lagged_reads.py).

Strongly consistent reads of the base table see the latest write; GSI reads and reads
without ConsistentRead see items as they were a moment ago. Time is moved with the
emulator's clock, not waited for.
"""

from __future__ import annotations

import boto3
import pytest

from etl_platform.config import Settings

TABLE = "lag-probe"
LATER = 5  # seconds: past the lag of `aws_eventual`


@pytest.fixture
def ddb(aws_eventual: Settings, emulator_clock):
    client = boto3.client("dynamodb", endpoint_url=aws_eventual.endpoint_url, region_name=aws_eventual.region,
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    client.create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "status")],
        GlobalSecondaryIndexes=[{"IndexName": "by-status", "Projection": {"ProjectionType": "ALL"},
                                 "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}]}],
    )
    return client


def _item(sk: str, status: str) -> dict:
    return {"pk": {"S": "d"}, "sk": {"S": sk}, "status": {"S": status}}


def _gsi(ddb, status: str) -> list[str]:
    items = ddb.query(TableName=TABLE, IndexName="by-status", KeyConditionExpression="#s = :s",
                      ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":s": {"S": status}})["Items"]
    return sorted(i["sk"]["S"] for i in items)


def _query(ddb, consistent: bool) -> list[tuple[str, str]]:
    items = ddb.query(TableName=TABLE, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "d"}},
                      ConsistentRead=consistent)["Items"]
    return [(i["sk"]["S"], i["status"]["S"]) for i in items]


def _scan(ddb, consistent: bool) -> list[str]:
    return sorted(i["sk"]["S"] for i in ddb.scan(TableName=TABLE, ConsistentRead=consistent)["Items"])


def _get(ddb, sk: str, consistent: bool) -> dict | None:
    return ddb.get_item(TableName=TABLE, Key={"pk": {"S": "d"}, "sk": {"S": sk}}, ConsistentRead=consistent).get("Item")


def test_a_new_item_reaches_only_consistent_reads_until_the_lag_passes(ddb, emulator_clock):
    ddb.put_item(TableName=TABLE, Item=_item("a", "pending"))
    key = {"pk": {"S": "d"}, "sk": {"S": "a"}}

    assert _get(ddb, "a", consistent=False) is None
    assert _query(ddb, consistent=False) == [] and _scan(ddb, consistent=False) == []
    assert _gsi(ddb, "pending") == []
    lagged_batch = ddb.batch_get_item(RequestItems={TABLE: {"Keys": [key]}})["Responses"][TABLE]
    assert lagged_batch == []

    assert _get(ddb, "a", consistent=True) == _item("a", "pending")
    assert _query(ddb, consistent=True) == [("a", "pending")] and _scan(ddb, consistent=True) == ["a"]
    batch = ddb.batch_get_item(RequestItems={TABLE: {"Keys": [key], "ConsistentRead": True}})["Responses"][TABLE]
    assert batch == [_item("a", "pending")]
    transact = ddb.transact_get_items(TransactItems=[{"Get": {"TableName": TABLE, "Key": key}}])["Responses"]
    assert transact == [{"Item": _item("a", "pending")}]

    emulator_clock.advance(seconds=LATER)
    assert _gsi(ddb, "pending") == ["a"] and _get(ddb, "a", consistent=False) == _item("a", "pending")
    assert _query(ddb, consistent=False) == [("a", "pending")]


def test_claims_and_deletes_show_the_previous_image_within_the_lag(ddb, emulator_clock):
    for sk in ("a", "b", "c"):
        ddb.put_item(TableName=TABLE, Item=_item(sk, "pending"))
    emulator_clock.advance(seconds=LATER)
    assert _gsi(ddb, "pending") == ["a", "b", "c"]

    claim = dict(TableName=TABLE, Key={"pk": {"S": "d"}, "sk": {"S": "a"}}, UpdateExpression="SET #s = :c",
                 ConditionExpression="#s = :p", ExpressionAttributeNames={"#s": "status"},
                 ExpressionAttributeValues={":c": {"S": "claimed"}, ":p": {"S": "pending"}})
    ddb.update_item(**claim)
    ddb.delete_item(TableName=TABLE, Key={"pk": {"S": "d"}, "sk": {"S": "b"}})

    # What a manifest listing its claimed files through the index would see now:
    assert _gsi(ddb, "claimed") == []
    assert _gsi(ddb, "pending") == ["a", "b", "c"]
    assert _scan(ddb, consistent=False) == ["a", "b", "c"]
    # Conditions and consistent reads see the latest state.
    with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):
        ddb.update_item(**claim)
    assert _query(ddb, consistent=True) == [("a", "claimed"), ("c", "pending")]

    emulator_clock.advance(seconds=LATER)
    assert _gsi(ddb, "claimed") == ["a"] and _gsi(ddb, "pending") == ["c"]
    assert _scan(ddb, consistent=False) == ["a", "c"]


def test_two_writes_within_the_lag_read_as_the_image_before_the_first(ddb, emulator_clock):
    ddb.put_item(TableName=TABLE, Item=_item("a", "pending"))
    emulator_clock.advance(seconds=LATER)
    ddb.put_item(TableName=TABLE, Item=_item("a", "claimed"))
    ddb.put_item(TableName=TABLE, Item=_item("a", "completed"))
    assert _get(ddb, "a", consistent=False) == _item("a", "pending")
    assert _get(ddb, "a", consistent=True) == _item("a", "completed")
