"""Save and restore the embedded AWS's data: S3 objects, DynamoDB items, SQS messages.

moto keeps everything in memory, so the local stack writes its state under
`<state_dir>/snapshot/` on `local down` and periodically while up, and loads it back on
`local up`. S3 and DynamoDB go through the public API (the same code would work against
any emulator); S3 bodies are stored content-addressed and only new versions are fetched,
so a periodic save costs a listing. SQS messages cannot be read through the API without
changing their receive counts, so the server hands them in from moto's backend
(`queued_messages`). Restored messages start with a receive count of 0.

Objects keep their identity: every version is saved with its version id and ETag, and the
emulator restores both (tracking compares them; a re-put would change them).

Layout:
    snapshot.json                  when it was saved and what it holds
    s3/index.json                  {bucket: {key: [{version_id, etag, blob, content_type, metadata}
                                   or {version_id, delete_marker}, oldest first]}}
    s3/blobs/<sha256>              object bodies
    dynamodb/<table>.jsonl         items in DynamoDB JSON
    sqs/<queue>.jsonl              {id, body, attributes} per unconsumed message
    journal/                       the emulator's write-ahead journal since the last
                                   snapshot (journal.py); wiped with the snapshot
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from botocore.exceptions import ClientError

from etl_platform.aws import client_for
from etl_platform.config import Settings

DYNAMODB_BATCH_LIMIT = 25  # AWS rejects more per BatchWriteItem (moto accepts 26)
SQS_BATCH_LIMIT = 10

QueuedMessage = dict[str, Any]  # {"id": str, "body": str, "attributes": {name: {DataType, StringValue|BinaryValue}}}
MessageSource = Callable[[], dict[str, list[QueuedMessage]]]
IdentityRestorer = Callable[[str, str, "str | None", "str | None"], None]  # (bucket, key, version id, etag)
MessageRestorer = Callable[[str, list[QueuedMessage]], int]  # (queue, messages) -> count put back


@dataclass
class SnapshotSummary:
    saved_at: float = 0.0
    objects: int = 0
    items: int = 0
    messages: int = 0
    tables: dict[str, int] = field(default_factory=dict)
    queues: dict[str, int] = field(default_factory=dict)


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class Snapshot:
    def __init__(self, settings: Settings, directory: Path | None = None,
                 restore_identity: IdentityRestorer | None = None,
                 restore_messages: MessageRestorer | None = None):
        self.settings = settings
        self.dir = directory or settings.snapshot_dir
        self.restore_identity = restore_identity
        self.restore_messages = restore_messages  # the emulator's: keeps message ids

    @property
    def summary_file(self) -> Path:
        return self.dir / "snapshot.json"

    def exists(self) -> bool:
        return self.summary_file.exists()

    def summary(self) -> SnapshotSummary | None:
        if not self.exists():
            return None
        return SnapshotSummary(**json.loads(self.summary_file.read_text()))

    def clear(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- save ------------------------------------------------------------------------
    def save(self, queued_messages: MessageSource | None = None) -> SnapshotSummary:
        summary = SnapshotSummary(saved_at=time.time())
        summary.objects = self._save_s3()
        for table in self._tables():
            count = self._save_table(table)
            summary.tables[table] = count
            summary.items += count
        if queued_messages is not None:
            for queue, messages in queued_messages().items():
                _write_atomic(self.dir / "sqs" / f"{queue}.jsonl", _jsonl(messages))
                summary.queues[queue] = len(messages)
                summary.messages += len(messages)
        _write_atomic(self.summary_file, json.dumps(asdict(summary), indent=2).encode())
        return summary

    def _save_s3(self) -> int:
        """Every version of every object (a bucket without versioning has one, `null`), with
        its version id and ETag, so a restore can give each the identity tracking recorded."""
        s3 = client_for(self.settings, "s3")
        index_file = self.dir / "s3" / "index.json"
        previous = json.loads(index_file.read_text()) if index_file.exists() else {}
        index: dict[str, dict[str, list[dict[str, Any]]]] = {}
        blobs = self.dir / "s3" / "blobs"
        blobs.mkdir(parents=True, exist_ok=True)
        for bucket in (b["Name"] for b in s3.list_buckets()["Buckets"]):
            known = {(key, v.get("version_id"), v.get("etag")): v
                     for key, versions in previous.get(bucket, {}).items() for v in _versions(versions)
                     if v.get("blob") and (blobs / v["blob"]).exists()}
            index[bucket] = {}
            for key, versions in _listed_versions(s3, bucket).items():
                entries = []
                for listed in versions:
                    if listed.get("delete_marker"):
                        entries.append(listed)
                        continue
                    entry = known.get((key, listed["version_id"], listed["etag"]))
                    entries.append(entry or self._save_object(s3, bucket, key, listed, blobs))
                index[bucket][key] = entries
        _write_atomic(index_file, json.dumps(index).encode())
        referenced = {v["blob"] for objects in index.values() for versions in objects.values() for v in versions
                      if v.get("blob")}
        for blob in blobs.iterdir():
            if blob.name not in referenced:
                blob.unlink()
        return sum(1 for objects in index.values() for versions in objects.values() for v in versions if v.get("blob"))

    @staticmethod
    def _save_object(s3: Any, bucket: str, key: str, listed: dict[str, Any], blobs: Path) -> dict[str, Any]:
        version, etag = listed["version_id"], listed["etag"]
        blob = hashlib.sha256(f"{bucket}\0{key}\0{version}\0{etag}".encode()).hexdigest()
        response = s3.get_object(Bucket=bucket, Key=key, **({"VersionId": version} if version != "null" else {}))
        tmp = blobs / f".{blob}.tmp"
        with open(tmp, "wb") as handle:
            for chunk in response["Body"].iter_chunks(8 * 1024 * 1024):
                handle.write(chunk)
        os.replace(tmp, blobs / blob)
        return {
            "version_id": version,
            "etag": etag,
            "blob": blob,
            "content_type": response.get("ContentType", "binary/octet-stream"),
            "metadata": response.get("Metadata", {}),
        }

    def _tables(self) -> list[str]:
        dynamodb = client_for(self.settings, "dynamodb")
        return [t for page in dynamodb.get_paginator("list_tables").paginate() for t in page["TableNames"]]

    def _save_table(self, table: str) -> int:
        dynamodb = client_for(self.settings, "dynamodb")
        items = [
            item
            for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True)
            for item in page["Items"]
        ]
        _write_atomic(self.dir / "dynamodb" / f"{table}.jsonl", _jsonl(items, default=_encode_bytes))
        return len(items)

    # --- restore ---------------------------------------------------------------------
    def restore(self) -> SnapshotSummary:
        """Put the saved data back into freshly provisioned resources."""
        summary = SnapshotSummary(saved_at=time.time())
        if not self.exists():
            return summary
        summary.objects = self._restore_s3()
        for path in sorted((self.dir / "dynamodb").glob("*.jsonl")):
            count = self._restore_table(path.stem, _read_jsonl(path, object_hook=_decode_bytes))
            summary.tables[path.stem] = count
            summary.items += count
        for path in sorted((self.dir / "sqs").glob("*.jsonl")):
            count = self._restore_queue(path.stem, _read_jsonl(path))
            summary.queues[path.stem] = count
            summary.messages += count
        return summary

    def _restore_s3(self) -> int:
        """Put every version back, oldest first; `restore_identity` (given by the emulator,
        which can reach moto's objects) then gives each its saved version id and ETag: a
        re-put multipart object would otherwise get another ETag, and every version another id."""
        index_file = self.dir / "s3" / "index.json"
        if not index_file.exists():
            return 0
        s3 = client_for(self.settings, "s3")
        restored = 0
        for bucket, objects in json.loads(index_file.read_text()).items():
            for key, versions in objects.items():
                for entry in _versions(versions):
                    if entry.get("delete_marker"):
                        s3.delete_object(Bucket=bucket, Key=key)
                        if self.restore_identity is not None:  # the journal finds markers by id
                            self.restore_identity(bucket, key, entry.get("version_id"), None)
                        continue
                    with open(self.dir / "s3" / "blobs" / entry["blob"], "rb") as body:
                        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=entry["content_type"],
                                      Metadata=entry["metadata"])
                    if self.restore_identity is not None:
                        self.restore_identity(bucket, key, entry.get("version_id"), entry["etag"])
                    restored += 1
        return restored

    def _restore_table(self, table: str, items: list[dict]) -> int:
        dynamodb = client_for(self.settings, "dynamodb")
        for start in range(0, len(items), DYNAMODB_BATCH_LIMIT):
            requests = [{"PutRequest": {"Item": item}} for item in items[start : start + DYNAMODB_BATCH_LIMIT]]
            pending: dict[str, Any] = {table: requests}
            while pending:
                pending = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
        return len(items)

    def _restore_queue(self, queue: str, messages: list[QueuedMessage]) -> int:
        if self.restore_messages is not None:
            return self.restore_messages(queue, messages)
        sqs = client_for(self.settings, "sqs")
        try:
            url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        except ClientError:
            return 0  # a queue the template no longer defines: its messages have nowhere to go
        for start in range(0, len(messages), SQS_BATCH_LIMIT):
            entries = [
                {"Id": str(i), "MessageBody": m["body"], **({"MessageAttributes": m["attributes"]} if m["attributes"] else {})}
                for i, m in enumerate(messages[start : start + SQS_BATCH_LIMIT])
            ]
            failed = sqs.send_message_batch(QueueUrl=url, Entries=entries).get("Failed")
            if failed:
                raise RuntimeError(f"restoring queue {queue}: {failed}")
        return len(messages)


def _listed_versions(s3: Any, bucket: str) -> dict[str, list[dict[str, Any]]]:
    """key -> its versions and delete markers, oldest first: the latest last, the others by
    LastModified (a listing gives each kind newest first, so within one second a later
    position is older)."""
    by_key: dict[str, list[tuple[bool, Any, int, dict[str, Any]]]] = {}
    position = 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        listed = [(v, {"version_id": v.get("VersionId") or "null", "etag": v["ETag"]}) for v in page.get("Versions", [])]
        listed += [(m, {"version_id": m.get("VersionId") or "null", "delete_marker": True})
                   for m in page.get("DeleteMarkers", [])]
        for raw, entry in listed:
            position += 1
            by_key.setdefault(raw["Key"], []).append((bool(raw.get("IsLatest")), raw["LastModified"], -position, entry))
    return {key: [e for *_, e in sorted(entries, key=lambda t: t[:3])] for key, entries in by_key.items()}


def _versions(saved: Any) -> list[dict[str, Any]]:
    """A key's saved versions; a snapshot from before versions were kept holds one entry."""
    return saved if isinstance(saved, list) else [saved]


def _jsonl(records: Iterable[Any], default: Callable[[Any], Any] | None = None) -> bytes:
    return b"".join(json.dumps(r, default=default).encode() + b"\n" for r in records)


def _read_jsonl(path: Path, object_hook: Callable[[dict], Any] | None = None) -> list[Any]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line, object_hook=object_hook) for line in handle if line.strip()]


def _encode_bytes(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return {"__bytes__": base64.b64encode(value).decode()}
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _decode_bytes(obj: dict) -> Any:
    if set(obj) == {"__bytes__"}:
        return base64.b64decode(obj["__bytes__"])
    return obj
