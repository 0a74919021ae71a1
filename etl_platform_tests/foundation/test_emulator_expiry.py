"""The emulator enforces DynamoDB TTL and S3 lifecycle expiration on its clock
(etl_platform/local/expiry.py), which a test advances instead of waiting a month.
"""

from __future__ import annotations

import boto3
from botocore.exceptions import ClientError

from etl_platform.config import Settings
from etl_platform.local import emulator

DAY = 86400


def _client(settings: Settings, service: str):
    return boto3.client(service, endpoint_url=settings.endpoint_url, region_name=settings.region,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def _table(ddb, name: str, ttl: bool) -> None:
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    if ttl:
        ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={"AttributeName": "expires", "Enabled": True})


def _keys(ddb, table: str) -> set[str]:
    return {i["pk"]["S"] for i in ddb.scan(TableName=table, ConsistentRead=True)["Items"]}


def test_ttl_deletes_only_items_whose_number_ttl_has_passed(aws: Settings, emulator_clock):
    ddb = _client(aws, "dynamodb")
    _table(ddb, "ttl-on", ttl=True)
    _table(ddb, "ttl-off", ttl=False)
    # the background sweeper (every second) may take an item before the sweep asked for here:
    # count what the emulator deleted in all since the items were written, not what one sweep did
    deleted = _items_deleted(aws)
    now = int(emulator_clock.now())
    items = {
        "expired": {"N": str(now - 60)},
        "in-30-days": {"N": str(now + 30 * DAY)},
        "in-60-days": {"N": str(now + 60 * DAY)},
        "as-text": {"S": str(now - 60)},  # not a Number: never expires
        "six-years-ago": {"N": str(now - 6 * 365 * DAY)},  # more than five years back: ignored by TTL
    }
    for table in ("ttl-on", "ttl-off"):
        for key, expires in items.items():
            ddb.put_item(TableName=table, Item={"pk": {"S": key}, "expires": expires})
        ddb.put_item(TableName=table, Item={"pk": {"S": "no-ttl"}})

    emulator_clock.sweep()
    assert _items_deleted(aws) - deleted == 1
    assert _keys(ddb, "ttl-on") == {"in-30-days", "in-60-days", "as-text", "six-years-ago", "no-ttl"}

    emulator_clock.advance(days=31)
    assert _items_deleted(aws) - deleted == 2
    assert _keys(ddb, "ttl-on") == {"in-60-days", "as-text", "six-years-ago", "no-ttl"}
    assert _keys(ddb, "ttl-off") == set(items) | {"no-ttl"}  # TTL not enabled: nothing expires


def _items_deleted(settings: Settings) -> int:
    return emulator.control(settings.endpoint_url, "expiry")["items_deleted"]


def _put(s3, bucket: str, key: str, body: bytes = b"x") -> str | None:
    return s3.put_object(Bucket=bucket, Key=key, Body=body).get("VersionId")


def _exists(s3, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return True
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("404", "NoSuchKey"):
            return False
        raise


def test_lifecycle_expiration_deletes_objects_under_the_rule_prefix(aws: Settings, emulator_clock):
    s3 = _client(aws, "s3")
    s3.create_bucket(Bucket="lifecycle-plain")
    s3.put_bucket_lifecycle_configuration(Bucket="lifecycle-plain", LifecycleConfiguration={"Rules": [
        {"ID": "expire-landing", "Status": "Enabled", "Filter": {"Prefix": "landing/"}, "Expiration": {"Days": 30}},
        {"ID": "disabled", "Status": "Disabled", "Filter": {"Prefix": "keep/"}, "Expiration": {"Days": 1}},
    ]})
    for key in ("landing/a.ndjson", "keep/b.ndjson", "other/c.ndjson"):
        _put(s3, "lifecycle-plain", key)

    emulator_clock.advance(days=29)
    assert all(_exists(s3, "lifecycle-plain", k) for k in ("landing/a.ndjson", "keep/b.ndjson", "other/c.ndjson"))
    emulator_clock.advance(days=2)
    assert not _exists(s3, "lifecycle-plain", "landing/a.ndjson")
    assert _exists(s3, "lifecycle-plain", "keep/b.ndjson") and _exists(s3, "lifecycle-plain", "other/c.ndjson")


def test_versioned_buckets_expire_current_then_noncurrent_versions(aws: Settings, emulator_clock):
    s3 = _client(aws, "s3")
    bucket = "lifecycle-versioned"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [{
        "ID": "expire", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 30},
        "NoncurrentVersionExpiration": {"NoncurrentDays": 7},
    }]})
    first = _put(s3, bucket, "in/f.ndjson", b"first")
    second = _put(s3, bucket, "in/f.ndjson", b"second")  # `first` is noncurrent from now on

    def versions() -> list[tuple[str, bool]]:
        listing = s3.list_object_versions(Bucket=bucket)
        return sorted([(v["VersionId"], v["IsLatest"]) for v in listing.get("Versions", [])] +
                      [("marker", m["IsLatest"]) for m in listing.get("DeleteMarkers", [])])

    emulator_clock.advance(days=6)
    assert versions() == sorted([(first, False), (second, True)])
    emulator_clock.advance(days=2)  # 7 days noncurrent, rounded to midnight UTC
    assert versions() == [(second, True)]
    emulator_clock.advance(days=23)  # 31 days after the write: the current version expires
    assert not _exists(s3, bucket, "in/f.ndjson")
    assert versions() == sorted([("marker", True), (second, False)])
    emulator_clock.advance(days=8)
    assert versions() == [("marker", True)]
