"""The embedded AWS's write-ahead journal: what it acknowledged survives `kill -9`.

A snapshot (snapshot.py) is taken every `snapshot_interval_seconds`; without more, a killed
emulator lost every write it had answered since the last one. This journal closes that
window. Design, and why:

What is journaled: the *resulting state* of what a request changed, not the request.
Replaying requests would run moto again and get other S3 version ids, multipart ETags,
SQS message ids, and would emit S3 event notifications twice; a state record is replayed
by putting that state back, so identity is kept by construction and replay is idempotent
(see "Snapshot and rotation" for why that matters). While a request runs, hooks on moto's
models note what it touches, in a thread-local context (`recording()`):
- S3: every (bucket, key) whose versions `S3Backend.put_object` / `delete_object` change:
  PUT, POST (presigned POST), COPY, CompleteMultipartUpload, DELETE, DeleteObjects. The
  record is the key's whole version list after the request, oldest first: version id,
  ETag, stored headers (Content-Type, user metadata) and its body, or a delete marker with
  its id. A body is written once per segment, named by (bucket, key, version id, ETag) as
  the snapshot names it, and not at all if the snapshot has it: inline in the line up to
  64 KiB (one fsync for a small put), else as a file in the segment's `blobs/`. Multipart uploads in progress and
  object tags are not kept (nor does the snapshot keep them): a client whose upload was cut
  by the kill retries it, and a lost `ingested` tag only delays the lifecycle expiry.
- DynamoDB: the (table, key) of every item a PutItem, UpdateItem, DeleteItem,
  BatchWriteItem or TransactWriteItems may change (`dynamo_items.written_keys`); the record
  is the item's image after the request, or its absence. A conditional write that was
  rejected changed nothing, and its record says so (the same image as before): replaying it
  cannot turn a rejection into a success. No clock or lag is involved in replaying an image.
- SQS: every message added to a queue (`Queue.add_message`: SendMessage(Batch), S3 event
  notifications and SNS fan-out, which moto delivers within the request, and moves to a
  dead-letter queue) as {id, body, attributes}; every message removed (DeleteMessage(Batch)
  through `Queue.delete_message`, a move to a dead-letter queue, PurgeQueue) by its message
  id, since receipt handles do not survive a restart. Visibility changes are not journaled:
  after a restart every surviving message is visible with a receive count of 0, as the
  snapshot restores them.
Every request that touched something is journaled, whatever its status: a request that
failed changed nothing, or (a batch, a DeleteObjects) only part, and its record is then
exactly that. Requests that touch nothing (reads, most control routes) cost nothing. The
expiry mode's deletions (expiry.py) are journaled too: in a clock-advance request as part
of it, from the background sweeper through `committed()`.

Durability: at the end of the request, before the response leaves the process (the WSGI
app returns before werkzeug writes the status line), the records are appended to the
current segment as one JSON line and fsync'ed; concurrent requests share an fsync (group
commit). Blobs are written and fsync'ed before the line that references them. The state
is read and the line appended under one lock, so the last line about a key holds its
latest state. `ETL_EMULATOR_JOURNAL_FSYNC=0` skips the fsync (a kill of the process still
loses nothing, since the page cache outlives it; a power cut could). `ETL_EMULATOR_JOURNAL=0`
switches the journal off.

Snapshot and rotation: before each snapshot the journal rotates (under its lock) to a new
segment; the snapshot then reads the state, which holds everything of the older segments
and perhaps some of the new one; once the snapshot is complete the older segments are
deleted. A kill at any moment leaves a snapshot (possibly one half written over the
previous one: its files are replaced one by one) plus every segment since the rotation
that preceded the *previous* complete snapshot. Replay applies them in order, and because
a record is a state, not a change, re-applying what the snapshot already holds changes
nothing: S3 and DynamoDB keep the last record of each key, SQS adds a message only if its
id is not in the queue and removes one by id. Nothing is lost or applied twice.

Replay on start (`replay()`), after the snapshot restore and before the notifications are
configured: objects are put back through moto's backend with notifications off and given
their recorded version ids and ETags (as object_identity.py does), items are placed, and
messages are sent and given their recorded ids. Then a new segment is opened.

Layout: `<state_dir>/snapshot/journal/<seq>/log.jsonl` (one JSON list of records per
request) and `.../<seq>/blobs/<sha256>`
(under the snapshot directory, so `local reset` wipes it; `/moto-api/reset` restarts it).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import os
import shutil
import threading
from dataclasses import dataclass, field

from etl_platform.local.snapshot import _decode_bytes, _encode_bytes
from pathlib import Path
from typing import Any, Callable, Iterator

log = logging.getLogger(__name__)

LOG_NAME = "log.jsonl"
INLINE_BYTES = 64 * 1024  # object bodies up to this size go inline in the journal line


@dataclass
class Touched:
    """What one request touched, in order of first touch."""

    s3: dict[tuple[str, str, str], None] = field(default_factory=dict)  # (account, bucket, key)
    items: dict[tuple[str, str, str, str], dict] = field(default_factory=dict)  # (account, region, table, key json) -> key
    messages: list[dict[str, Any]] = field(default_factory=list)  # sqs add/del records, in order

    def __bool__(self) -> bool:
        return bool(self.s3 or self.items or self.messages)


_context = threading.local()


def current() -> Touched | None:
    return getattr(_context, "touched", None)


@contextlib.contextmanager
def recording() -> Iterator[Touched]:
    """Note what this thread's moto calls change; the caller commits it (Journal.commit)."""
    previous = current()
    touched = Touched() if previous is None else previous
    _context.touched = touched
    try:
        yield touched
    finally:
        _context.touched = previous


@dataclass
class ReplaySummary:
    segments: int = 0
    lines: int = 0
    objects: int = 0
    items: int = 0
    messages_added: int = 0
    messages_removed: int = 0


class Journal:
    """Segments under `directory`; `read_state` turns a Touched into records (in server.py,
    which can reach moto's backends)."""

    def __init__(self, directory: Path, fsync: bool = True):
        self.dir = directory
        self.fsync = fsync
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._seq = 0
        self._fd: int | None = None
        self._written = 0  # lines appended to the current segment
        self._synced = 0
        self._blobs: dict[int, set[str]] = {}  # live segment -> blob names in it (files or inline)
        self._pending: set[str] = set()  # blobs of the record being built
        self.snapshot_blobs: Path | None = None  # the snapshot's blob folder, checked before writing one

    # --- segments -------------------------------------------------------------------
    def segments(self) -> list[int]:
        if not self.dir.exists():
            return []
        return sorted(int(p.name) for p in self.dir.iterdir() if p.is_dir() and p.name.isdigit())

    def _segment_dir(self, seq: int) -> Path:
        return self.dir / f"{seq:08d}"

    def open(self) -> None:
        """Start a new segment after every existing one (after replay)."""
        with self._lock:
            self._open(max(self.segments(), default=0) + 1)

    def _open(self, seq: int) -> None:
        if self._fd is not None:
            self._sync_now()
            os.close(self._fd)
        segment = self._segment_dir(seq)
        (segment / "blobs").mkdir(parents=True, exist_ok=True)
        self._fd = os.open(segment / LOG_NAME, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        _fsync_dir(segment)
        _fsync_dir(self.dir)
        self._seq, self._written, self._synced = seq, 0, 0
        self._blobs.setdefault(seq, set())
        for live in self.segments():
            self._blobs.setdefault(live, {p.name for p in (self._segment_dir(live) / "blobs").glob("*")})

    def rotate(self) -> int:
        """Open the next segment; returns its number. Records made before this call are
        in older segments, which `drop_before(returned)` deletes once a snapshot taken
        after this call is complete."""
        with self._lock, self._sync_lock:
            self._open(self._seq + 1)
            return self._seq

    def drop_before(self, seq: int) -> None:
        with self._lock:
            for old in self.segments():
                if old < seq:
                    shutil.rmtree(self._segment_dir(old), ignore_errors=True)
                    self._blobs.pop(old, None)

    def reset(self) -> None:
        """Forget everything (the emulator was reset): a fresh segment 1."""
        with self._lock, self._sync_lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            shutil.rmtree(self.dir, ignore_errors=True)
            self._blobs.clear()
            self._open(1)

    def close(self) -> None:
        with self._lock, self._sync_lock:
            if self._fd is not None:
                self._sync_now()
                os.close(self._fd)
                self._fd = None

    # --- writing --------------------------------------------------------------------
    def commit(self, touched: Touched, read_state: Callable[[Touched, "Journal"], list[dict]]) -> None:
        """Append the state of what `touched` names and make it durable (group commit)."""
        if not touched:
            return
        with self._lock:
            if self._fd is None:
                return
            self._pending = set()
            records = read_state(touched, self)
            if not records:
                return
            line = json.dumps(records, separators=(",", ":"), default=_encode_bytes).encode() + b"\n"
            os.write(self._fd, line)
            self._written += 1
            self._blobs[self._seq].update(self._pending)
            target, seq = self._written, self._seq
        if not self.fsync:
            return
        with self._sync_lock:
            if self._seq != seq or self._synced >= target:
                return  # rotated (the old segment was synced then) or synced by another request
            self._sync_now(self._written)  # an int read: lines counted are already written

    def _sync_now(self, upto: int | None = None) -> None:
        if self._fd is not None and self.fsync:
            os.fsync(self._fd)
        self._synced = self._written if upto is None else upto

    def blob(self, name: str, size: int, body: Callable[[], bytes]) -> dict[str, str]:
        """Make sure the body of an object version is kept: `{"blob": name}` when it already
        is (in a live segment or the snapshot); a small body goes inline in the record,
        `{"blob": name, "b64": ...}` (one fsync per request, not three); a larger one is
        written to the segment's `blobs/`. Called under the journal lock by read_state."""
        if any(name in names for names in self._blobs.values()) or name in self._pending:
            return {"blob": name}
        if self.snapshot_blobs is not None and (self.snapshot_blobs / name).exists():
            return {"blob": name}
        self._pending.add(name)  # known once the record holding it is written
        if size <= INLINE_BYTES:
            return {"blob": name, "b64": base64.b64encode(body()).decode()}
        folder = self._segment_dir(self._seq) / "blobs"
        tmp = folder / f".{name}.tmp"
        with open(tmp, "wb") as handle:
            handle.write(body())
            handle.flush()
            if self.fsync:
                os.fsync(handle.fileno())
        os.replace(tmp, folder / name)
        if self.fsync:
            _fsync_dir(folder)
        return {"blob": name}

    def find_blob(self, name: str) -> Path | None:
        for seq in reversed(self.segments()):
            path = self._segment_dir(seq) / "blobs" / name
            if path.exists():
                return path
        if self.snapshot_blobs is not None and (self.snapshot_blobs / name).exists():
            return self.snapshot_blobs / name
        return None

    # --- reading --------------------------------------------------------------------
    def read(self) -> tuple[list[dict], int, int]:
        """Every record of every segment, oldest first; (records, segments, lines). A torn
        last line (the process died while appending it, before it was acknowledged) is skipped."""
        records: list[dict] = []
        segments = self.segments()
        lines = 0
        for seq in segments:
            path = self._segment_dir(seq) / LOG_NAME
            if not path.exists():
                continue
            raw = path.read_bytes()
            for number, line in enumerate(raw.split(b"\n")):
                if not line.strip():
                    continue
                try:
                    records.extend(json.loads(line, object_hook=_decode_bytes))
                    lines += 1
                except ValueError:
                    if raw.endswith(b"\n") or number < raw.count(b"\n"):
                        raise RuntimeError(f"journal {path} is corrupt at line {number + 1}")
                    log.warning("journal %s: skipped a torn last line (never acknowledged)", path)
        return records, len(segments), lines


def blob_name(bucket: str, key: str, version_id: str, etag: str) -> str:
    return hashlib.sha256(f"{bucket}\0{key}\0{version_id}\0{etag}".encode()).hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- moto: hooks that note touches, the state of what was touched, replay ----------------
# Imported here, not at the top: the Journal class above is plain file handling.

def install(journal: Journal) -> None:
    """Note touches in moto's models and commit them at the end of each HTTP request.
    Idempotent. Requests answered before `journal.open()` are not journaled."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication
    from moto.s3.models import S3Backend
    from moto.sqs.models import Queue, SQSBackend

    from etl_platform.local.dynamo_items import wrap_call_action

    _installed["journal"] = journal
    if _installed.get("hooks"):
        return
    _installed["hooks"] = True

    put_object, delete_object = S3Backend.put_object, S3Backend.delete_object

    def put_object_noted(self, bucket_name, key_name, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return put_object(self, bucket_name, key_name, *args, **kwargs)
        finally:
            _note_object(self.account_id, bucket_name, key_name)

    def delete_object_noted(self, bucket_name, key_name, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return delete_object(self, bucket_name, key_name, *args, **kwargs)
        finally:
            _note_object(self.account_id, bucket_name, key_name)

    S3Backend.put_object = put_object_noted  # type: ignore[method-assign]
    S3Backend.delete_object = delete_object_noted  # type: ignore[method-assign]

    add_message, queue_delete = Queue.add_message, Queue.delete_message

    def add_message_noted(self, message):  # type: ignore[no-untyped-def]
        add_message(self, message)
        touched = current()
        if touched is not None and any(m is message for m in reversed(self._messages)):
            touched.messages.append({"t": "sqs+", "a": self.account_id, "r": self.region, "q": self.name,
                                     **_message_record(message)})

    def delete_message_noted(self, receipt_handle):  # type: ignore[no-untyped-def]
        ids = [m.id for m in self._messages if m.had_receipt_handle(receipt_handle)]
        queue_delete(self, receipt_handle)
        _note_removed(self, ids)

    Queue.add_message = add_message_noted  # type: ignore[method-assign]
    Queue.delete_message = delete_message_noted  # type: ignore[method-assign]

    receive_message, purge_queue = SQSBackend.receive_message, SQSBackend.purge_queue

    def receive_message_noted(self, queue_name, *args, **kwargs):  # type: ignore[no-untyped-def]
        # a message past maxReceiveCount moves to the dead-letter queue while receiving
        queue = self.get_queue(queue_name)
        before = {m.id for m in list(queue._messages)} if current() is not None else set()
        try:
            return receive_message(self, queue_name, *args, **kwargs)
        finally:
            if before:
                after = {m.id for m in list(queue._messages)}
                _note_removed(queue, [i for i in before if i not in after])

    def purge_queue_noted(self, queue_name):  # type: ignore[no-untyped-def]
        queue = self.get_queue(queue_name)
        ids = [m.id for m in list(queue._messages)]
        purge_queue(self, queue_name)
        _note_removed(queue, ids)

    SQSBackend.receive_message = receive_message_noted  # type: ignore[method-assign]
    SQSBackend.purge_queue = purge_queue_noted  # type: ignore[method-assign]

    def make_dynamodb(call_action: Callable) -> Callable:
        from etl_platform.local.dynamo_items import WRITE_ACTIONS, written_keys

        def noted(self):  # type: ignore[no-untyped-def]
            touched = current()
            if touched is not None:
                action = self._get_action()
                if action in WRITE_ACTIONS:
                    params = getattr(self, "params", None) or {}
                    for table, key in written_keys(self, action, params):
                        wire = {table.hash_key_attr: key[0].to_json()}
                        if key[1] is not None:
                            wire[table.range_key_attr] = key[1].to_json()
                        touched.items[(table.account_id, table.region_name, table.name,
                                       json.dumps(wire, sort_keys=True))] = wire
            return call_action(self)

        return noted

    wrap_call_action("journal", make_dynamodb)

    call = DomainDispatcherApplication.__call__

    def journaled(self, environ, start_response):  # type: ignore[no-untyped-def]
        with recording() as touched:
            result = call(self, environ, start_response)
        live = _installed["journal"]
        if touched:
            # before werkzeug writes the status line: an acknowledged write is durable
            live.commit(touched, read_state)
        if environ.get("PATH_INFO") == "/moto-api/reset" and environ.get("REQUEST_METHOD") == "POST":
            live.reset()
        return result

    DomainDispatcherApplication.__call__ = journaled  # type: ignore[method-assign]


_installed: dict[str, Any] = {}


@contextlib.contextmanager
def committed() -> Iterator[None]:
    """Journal what the block changes, as a request's changes are: for work outside a
    request (the expiry sweeper's thread). A no-op where no journal is installed."""
    with recording() as touched:
        yield
    journal = _installed.get("journal")
    if journal is not None and touched:
        journal.commit(touched, read_state)


def note_item(table: Any, hash_key: Any, range_key: Any) -> None:
    """Note an item changed outside DynamoHandler (a TTL deletion); keys are DynamoTypes."""
    touched = current()
    if touched is None:
        return
    wire = {table.hash_key_attr: hash_key.to_json()}
    if range_key is not None and table.range_key_attr:
        wire[table.range_key_attr] = range_key.to_json()
    touched.items[(table.account_id, table.region_name, table.name, json.dumps(wire, sort_keys=True))] = wire


def _note_object(account_id: str, bucket: str, key: str) -> None:
    touched = current()
    if touched is not None:
        touched.s3[(account_id, bucket, key)] = None


def _note_removed(queue: Any, ids: list[str]) -> None:
    touched = current()
    if touched is not None:
        for message_id in ids:
            touched.messages.append({"t": "sqs-", "a": queue.account_id, "r": queue.region, "q": queue.name,
                                     "id": message_id})


def _message_record(message: Any) -> dict[str, Any]:
    attributes = {}
    for name, value in (message.message_attributes or {}).items():
        keep = {"DataType": value["DataType"]}
        for field_name in ("StringValue", "BinaryValue"):
            if value.get(field_name) is not None:
                keep[field_name] = value[field_name]
        attributes[name] = keep
    record: dict[str, Any] = {"id": message.id, "body": message.body, "attrs": attributes}
    if getattr(message, "group_id", None):
        record["group"] = message.group_id
    if getattr(message, "deduplication_id", None):
        record["dedup"] = message.deduplication_id
    return record


def read_state(touched: Touched, journal: Journal) -> list[dict]:
    """The records of what `touched` names, as it is now (under the journal lock)."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.s3.models import FakeDeleteMarker, s3_backends

    from etl_platform.local.dynamo_items import LOCK, key_of, stored

    records: list[dict] = []
    for account_id, bucket_name, key in touched.s3:
        bucket = s3_backends[account_id]["aws"].buckets.get(bucket_name)
        if bucket is None:
            continue
        versions = []
        for version in list(bucket.keys.getlist(key, None) or []):
            version_id = str(version.version_id)
            if isinstance(version, FakeDeleteMarker):
                versions.append({"id": version_id, "dm": True})
                continue
            etag = version.etag
            body = journal.blob(blob_name(bucket_name, key, version_id, etag), version.size, lambda v=version: v.value)
            versions.append({"id": version_id, "etag": etag, **body, "meta": dict(version.metadata)})
        records.append({"t": "s3", "a": account_id, "b": bucket_name, "k": key, "v": versions})
    if touched.items:
        with LOCK:
            for (account_id, region, table_name, _), wire in touched.items.items():
                table = dynamodb_backends[account_id][region].tables.get(table_name)
                if table is None:
                    continue
                item = stored(table, key_of(table, wire))  # type: ignore[arg-type]
                records.append({"t": "ddb", "a": account_id, "r": region, "tb": table_name, "k": wire,
                                "i": item.to_json()["Attributes"] if item is not None else None})
    records.extend(touched.messages)
    return records


def replay(journal: Journal) -> ReplaySummary:
    """Put back what the journal holds, on top of the restored snapshot (module docstring)."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.s3.models import s3_backends
    from moto.sqs.models import sqs_backends

    from etl_platform.local.dynamo_items import LOCK, key_of, place

    records, segments, lines = journal.read()
    summary = ReplaySummary(segments=segments, lines=lines)
    objects: dict[tuple[str, str, str], list[dict]] = {}
    items: dict[tuple[str, str, str, str], dict] = {}
    removed: dict[tuple[str, str, str], set[str]] = {}
    added: list[dict] = []
    inline: dict[str, str] = {}  # blob name -> base64 body written inline
    for record in records:
        kind = record["t"]
        if kind == "s3":
            inline.update((v["blob"], v["b64"]) for v in record["v"] if "b64" in v)
            objects.pop((record["a"], record["b"], record["k"]), None)  # keep the order of the last record
            objects[(record["a"], record["b"], record["k"])] = record["v"]
        elif kind == "ddb":
            ident = (record["a"], record["r"], record["tb"], json.dumps(record["k"], sort_keys=True))
            items.pop(ident, None)
            items[ident] = record
        elif kind == "sqs+":
            added.append(record)
        elif kind == "sqs-":
            removed.setdefault((record["a"], record["r"], record["q"]), set()).add(record["id"])

    for (account_id, bucket_name, key), versions in objects.items():
        backend = s3_backends[account_id]["aws"]
        bucket = backend.buckets.get(bucket_name)
        if bucket is None:
            log.warning("journal: bucket %s is gone; %s not restored", bucket_name, key)
            continue
        _place_versions(journal, backend, bucket, key, versions, inline)
        summary.objects += 1

    with LOCK:
        for record in items.values():
            table = dynamodb_backends[record["a"]][record["r"]].tables.get(record["tb"])
            if table is None:
                continue
            if record["i"] is None:
                place(table, key_of(table, record["k"]), None)  # type: ignore[arg-type]
            else:
                table.put_item(record["i"])
            summary.items += 1

    for (account_id, region, queue_name), ids in removed.items():
        queue = sqs_backends[account_id][region].queues.get(queue_name)
        if queue is None:
            continue
        with queue._messages_lock:
            before = len(queue._messages)
            queue._messages = [m for m in queue._messages if m.id not in ids]
            summary.messages_removed += before - len(queue._messages)
    present: dict[tuple[str, str, str], set[str]] = {}
    for record in added:
        ident = (record["a"], record["r"], record["q"])
        if record["id"] in removed.get(ident, ()):
            continue
        backend = sqs_backends[record["a"]][record["r"]]
        queue = backend.queues.get(record["q"])
        if queue is None:
            continue
        ids = present.setdefault(ident, {m.id for m in queue._messages})
        if record["id"] in ids:
            continue
        put_message(backend, record["q"], record)
        ids.add(record["id"])
        summary.messages_added += 1
    return summary


def put_message(backend: Any, queue_name: str, record: dict) -> Any:
    """Send a message straight to moto's queue and give it its recorded id."""
    message = backend.send_message(queue_name, record["body"], message_attributes=record.get("attrs") or None,
                                   delay_seconds=0, deduplication_id=record.get("dedup"),
                                   group_id=record.get("group"), validate_group_id=False)
    if record.get("id"):
        message.id = record["id"]
    return message


def _place_versions(journal: Journal, backend: Any, bucket: Any, key: str, versions: list[dict],
                    inline: dict[str, str]) -> None:
    from types import SimpleNamespace

    from moto.s3.models import FakeDeleteMarker
    from moto.utilities.utils import LowercaseDict

    existing = {str(v.version_id): v for v in (bucket.keys.getlist(key, None) or [])}
    wanted: list[Any] = []
    for entry in versions:
        have = existing.get(entry["id"])
        if entry.get("dm"):
            if isinstance(have, FakeDeleteMarker):
                wanted.append(have)
                continue
            base = next((v for v in reversed(wanted) if not isinstance(v, FakeDeleteMarker)), None)
            marker = FakeDeleteMarker(base or SimpleNamespace(name=key))
            marker._version_id = entry["id"]
            wanted.append(marker)
            continue
        if have is not None and not isinstance(have, FakeDeleteMarker) and have.etag.strip('"') == entry["etag"].strip('"'):
            wanted.append(have)
            continue
        if entry["blob"] in inline:
            body = base64.b64decode(inline[entry["blob"]])
        else:
            path = journal.find_blob(entry["blob"])
            if path is None:
                raise RuntimeError(f"journal: the body of s3://{bucket.name}/{key} version {entry['id']} is missing")
            body = path.read_bytes()
        new = backend.put_object(bucket.name, key, body, disable_notification=True)
        metadata = LowercaseDict()
        metadata.update(entry.get("meta") or {})
        new._metadata = metadata
        if entry["id"] != "null":
            new._version_id = entry["id"]
        new._etag = entry["etag"].strip('"')
        wanted.append(new)
    if wanted:
        bucket.keys.setlist(key, wanted)
    elif key in bucket.keys:
        bucket.keys.pop(key)
