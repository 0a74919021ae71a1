"""Decode S3 event notifications, as delivered to SQS or to a Lambda. Pure.

Two producers, one reader. AWS (its documented shape, fixtures under
etl_platform_tests/fixtures/s3_events/) URL-encodes keys form-style (`+` for a space,
UTF-8 `%XX` for non-ASCII, `%2B` for `+`, `/` kept, or `%2F` in the Lambda console's
sample), writes `eventTime` in UTC with `Z`, and adds a `sequencer` and, on a versioned
bucket, the `versionId`. The embedded moto server sends the same envelope with `/` as
`%2F` and neither `sequencer` nor `versionId`. `unquote_plus` decodes both encodings.
`s3:TestEvent` messages, sent when a bucket's notification configuration is set, carry no
object; only ObjectCreated events are kept. A multipart upload can produce more than one
event for the same object version: the validator's conditional writes make the second a
duplicate. `object_created_event` writes AWS's shape for an object version whose event
was lost (the reconciliation hands it to the validator as its event would have).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote_plus, unquote_plus


class MalformedEvent(ValueError):
    """The message is not an S3 event notification."""


@dataclass(frozen=True)
class S3ObjectEvent:
    bucket: str
    key: str
    size: int
    etag: str
    event_name: str
    event_time: str
    sequencer: str = ""
    version_id: str = ""  # set when the bucket has versioning on: the exact object version

    @property
    def occurred_at(self) -> datetime | None:
        """`eventTime` as an aware UTC datetime (AWS and moto write `...T00:00:00.000Z`);
        None when the event has no readable time."""
        try:
            parsed = datetime.fromisoformat(self.event_time)
        except (TypeError, ValueError):
            return None
        return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def parse_s3_event(message: str | dict[str, Any]) -> list[S3ObjectEvent]:
    """ObjectCreated events of one notification ([] for a test event); MalformedEvent otherwise."""
    if isinstance(message, str):
        try:
            message = json.loads(message)
        except ValueError as exc:
            raise MalformedEvent(f"not JSON: {exc}") from exc
    if not isinstance(message, dict):
        raise MalformedEvent("not a JSON object")
    if message.get("Event") == "s3:TestEvent":
        return []
    if "Records" not in message or not isinstance(message["Records"], list):
        raise MalformedEvent("no 'Records' list")
    events = []
    for record in message["Records"]:
        try:
            name = record["eventName"]
            if not name.startswith("ObjectCreated:"):
                continue
            s3 = record["s3"]
            events.append(
                S3ObjectEvent(
                    bucket=s3["bucket"]["name"],
                    key=unquote_plus(s3["object"]["key"]),
                    size=int(s3["object"].get("size", 0)),
                    etag=str(s3["object"].get("eTag", "")).strip('"'),
                    event_name=name,
                    event_time=record.get("eventTime", ""),
                    sequencer=s3["object"].get("sequencer", ""),
                    version_id=s3["object"].get("versionId") or "",
                )
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise MalformedEvent(f"record without {exc}") from exc
    return events


def object_created_event(bucket: str, key: str, *, size: int, etag: str, version_id: str = "",
                         event_time: str = "") -> dict[str, Any]:
    """The notification S3 sends for one created object version, as AWS writes it (a
    form-encoded key, the version id on a versioned bucket): what `parse_s3_event` reads."""
    obj: dict[str, Any] = {"key": quote_plus(key, safe="/"), "size": size, "eTag": etag}
    if version_id and version_id != "null":
        obj["versionId"] = version_id
    return {"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "eventTime": event_time,
        "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"}, "object": obj},
    }]}
