"""The embedded AWS process: a moto server that keeps its state.

Run as `python -m etl_platform.local.server` (by `etl-platform local up` and the test
harness). It serves moto on 127.0.0.1, provisions the template, restores the last
snapshot, records its endpoint in the state file (the readiness signal), saves a snapshot
every `snapshot_interval_seconds`, and a last one on SIGTERM/SIGINT before it exits.
moto runs in this process so that queued SQS messages can be snapshotted from its backend
without receiving them. Between snapshots a write-ahead journal (journal.py) makes every
write it answered durable before the answer leaves, so a `kill -9` loses nothing it
acknowledged: on start it restores the snapshot, then replays the journal.

Strict modes make it behave as AWS does where moto is lenient; each is off unless asked for
(flags below, or their ETL_EMULATOR_* variables) and switchable at run time under `/_etl/`:
lagged reads (lagged_reads.py), TTL and lifecycle expiry on a movable clock (clock.py,
expiry.py) and AWS's limits (limits.py). README: "Strict modes of the embedded AWS".
Always on: the count of requests per service and operation (request_counts.py, `/_etl/requests`).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

# Before moto is imported: object bodies beyond 1 MiB spill to temporary files, not RAM.
os.environ.setdefault("MOTO_S3_DEFAULT_KEY_BUFFER_SIZE", str(1024 * 1024))

from moto.dynamodb.responses import DynamoHandler  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402
from moto.sqs.models import sqs_backends  # noqa: E402

from etl_platform.config import Settings  # noqa: E402
from etl_platform.local.clock import install_clock  # noqa: E402
from etl_platform.local.control import install_control  # noqa: E402
from etl_platform.local.dynamo_items import LOCK as _dynamodb_lock  # noqa: E402
from etl_platform.local.expiry import install_expiry  # noqa: E402
from etl_platform.local.lagged_reads import install_lagged_reads  # noqa: E402
from etl_platform.local.limits import install_limits  # noqa: E402
from etl_platform.local import sqs_receive, sqs_send  # noqa: E402
from etl_platform.local.iam_mode import install as install_iam_mode  # noqa: E402
from etl_platform.local import journal as wal  # noqa: E402
from etl_platform.local.provision import apply_notifications, provision  # noqa: E402
from etl_platform.local import post_policy, request_counts  # noqa: E402
from etl_platform.glue_artifacts import upload_glue_scripts  # noqa: E402
from etl_platform.local.object_identity import restore_identity  # noqa: E402
from etl_platform.process_records import write_record  # noqa: E402
from etl_platform.local.snapshot import QueuedMessage, Snapshot  # noqa: E402

log = logging.getLogger("etl_platform.local.server")


@dataclass(frozen=True)
class StrictModes:
    """What the emulator enforces beyond moto (all off: moto as it is)."""

    read_lag: float = 0.0  # seconds eventually consistent reads lag writes
    expiry: bool = False  # DynamoDB TTL and S3 lifecycle expiration on the emulator's clock
    sweep_interval: float = 1.0  # seconds between expiry sweeps
    strict_limits: bool = False  # item size, BatchWriteItem 25, SQS size, notification policy

    @classmethod
    def from_env(cls) -> "StrictModes":
        env = os.environ
        return cls(
            read_lag=float(env.get("ETL_EMULATOR_READ_LAG", "0") or 0),
            expiry=env.get("ETL_EMULATOR_EXPIRY", "") not in ("", "0", "false"),
            sweep_interval=float(env.get("ETL_EMULATOR_SWEEP_INTERVAL", "1") or 1),
            strict_limits=env.get("ETL_EMULATOR_STRICT_LIMITS", "") not in ("", "0", "false"),
        )


def install_strict_modes(modes: StrictModes) -> None:
    install_control()
    install_clock()
    install_lagged_reads(modes.read_lag)
    install_expiry(modes.expiry, modes.sweep_interval)
    install_limits(modes.strict_limits)


def serialize_dynamodb() -> None:
    """One DynamoDB request at a time, as DynamoDB's own conditional writes are atomic.

    moto checks a ConditionExpression and then applies the write with no lock between,
    and the server answers each request on its own thread: two concurrent claims of one
    pending file could both succeed. Idempotent.
    """
    if getattr(DynamoHandler.call_action, "serialized", False):
        return
    call_action = DynamoHandler.call_action

    def serialized(self):  # type: ignore[no-untyped-def]
        with _dynamodb_lock:
            return call_action(self)

    serialized.serialized = True  # type: ignore[attr-defined]
    DynamoHandler.call_action = serialized  # type: ignore[method-assign]


def queued_messages() -> dict[str, list[QueuedMessage]]:
    """Every message still in a queue (visible, in flight or delayed), read from moto."""
    result: dict[str, list[QueuedMessage]] = {}
    for account_backends in list(sqs_backends.values()):
        for backend in list(account_backends.values()):
            for name, queue in list(backend.queues.items()):
                with queue._messages_lock:
                    messages = list(queue._messages)
                result[name] = [
                    {"id": m.id, "body": m.body,
                     "attributes": {k: _attribute(v) for k, v in m.message_attributes.items()}}
                    for m in messages
                ]
    return result


def restore_messages(settings: Settings, queue: str, messages: list[QueuedMessage]) -> int:
    """Put snapshotted messages back with their message ids (the journal removes and
    re-adds messages by id); a queue the template no longer defines is skipped."""
    backend = sqs_backends[settings.account_id][settings.region]
    if queue not in backend.queues:
        return 0
    for message in messages:
        wal.put_message(backend, queue, {"id": message.get("id"), "body": message["body"],
                                         "attrs": message.get("attributes")})
    return len(messages)


def journal_enabled() -> bool:
    return os.environ.get("ETL_EMULATOR_JOURNAL", "1") not in ("0", "false", "off")


def _attribute(value: dict) -> dict:
    keep = {"DataType": value["DataType"]}
    if value.get("StringValue") is not None:
        keep["StringValue"] = value["StringValue"]
    if value.get("BinaryValue") is not None:
        keep["BinaryValue"] = value["BinaryValue"]
    return keep


def serve(settings: Settings, port: int, snapshot_interval: float, modes: StrictModes = StrictModes(),
          iam: bool = False) -> None:
    # ThreadedMotoServer waits forever if its thread cannot bind: find out first.
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as werkzeug does: TIME_WAIT is fine
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise SystemExit(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}; set ETL_LOCAL_PORT to a free port")
    install_strict_modes(modes)
    request_counts.install()  # always on: what each request costs, for tests and benchmarks
    serialize_dynamodb()
    sqs_receive.install()
    sqs_send.install()
    post_policy.install()  # presigned POSTs: size limit, signature, expiry, as S3 checks them
    # IAM mode: enforcement on before the first request; this process then acts as the admin.
    admin = install_iam_mode(settings.account_id) if iam else None
    server = ThreadedMotoServer("127.0.0.1", port, verbose=False)
    server.start()
    host, bound_port = server.get_host_and_port()
    settings = replace(settings, endpoint_url=f"http://{host}:{bound_port}", credentials=admin)
    snapshot = Snapshot(settings, restore_identity=partial(restore_identity, settings.account_id),
                        restore_messages=partial(restore_messages, settings))
    journal = None
    if snapshot_interval >= 0 and journal_enabled():
        journal = wal.Journal(settings.snapshot_dir / "journal",
                              fsync=os.environ.get("ETL_EMULATOR_JOURNAL_FSYNC", "1") not in ("0", "false", "off"))
        journal.snapshot_blobs = snapshot.dir / "s3" / "blobs"
        wal.install(journal)  # notes nothing until journal.open(): the restore is not journaled

    provision(settings, notifications=False)
    restored = snapshot.restore()
    if journal is not None:
        replayed = wal.replay(journal)
        log.info("journal: replayed %d lines of %d segments: %d objects, %d items, +%d/-%d messages",
                 replayed.lines, replayed.segments, replayed.objects, replayed.items,
                 replayed.messages_added, replayed.messages_removed)
        journal.open()
    apply_notifications(settings)  # after the restore, so restored objects emit no events
    upload_glue_scripts(settings)
    log.info(
        "restored %d objects, %d items, %d messages", restored.objects, restored.items, restored.messages
    )

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    state = {"endpoint": settings.endpoint_url, "port": bound_port, "started_at": time.time()}
    if admin:
        state["admin_credentials"] = admin.client_kwargs()
    write_record(settings.endpoint_file, state)
    print(f"embedded AWS ready on {settings.endpoint_url}", flush=True)

    try:
        while not stop.wait(snapshot_interval if snapshot_interval > 0 else None):
            _save(snapshot, journal)
    finally:
        if snapshot_interval >= 0:
            _save(snapshot, journal)
        settings.endpoint_file.unlink(missing_ok=True)
        server.stop()
        if journal is not None:
            journal.close()
        log.info("stopped")


def _save(snapshot: Snapshot, journal: "wal.Journal | None" = None) -> None:
    """A snapshot; the journal's segments from before it started are dropped once it is
    complete (journal.py: "Snapshot and rotation")."""
    try:
        segment = journal.rotate() if journal is not None else None
        summary = snapshot.save(queued_messages)
        if journal is not None and segment is not None:
            journal.drop_before(segment)
        log.info("snapshot: %d objects, %d items, %d messages", summary.objects, summary.items, summary.messages)
    except Exception:  # a failed periodic save must not take the emulator down
        log.exception("snapshot failed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--state-dir", type=Path, help="where the endpoint file and snapshots live")
    parser.add_argument(
        "--snapshot-interval", type=float,
        help="seconds between snapshots; 0 saves only on stop, -1 never saves (tests)",
    )
    defaults = StrictModes.from_env()
    parser.add_argument("--read-lag", type=float, default=defaults.read_lag, metavar="SECONDS",
                        help="eventually consistent DynamoDB reads lag writes by SECONDS (0: off)")
    parser.add_argument("--expiry", action=argparse.BooleanOptionalAction, default=defaults.expiry,
                        help="enforce DynamoDB TTL and S3 lifecycle expiration on the emulator's clock")
    parser.add_argument("--sweep-interval", type=float, default=defaults.sweep_interval, metavar="SECONDS")
    parser.add_argument("--strict-limits", action=argparse.BooleanOptionalAction, default=defaults.strict_limits,
                        help="enforce AWS limits moto lacks (item size, batch size, message size, queue policy)")
    parser.add_argument("--iam", action="store_true", help="enforce IAM policies (admin keys in the state file)")
    args = parser.parse_args()
    modes = StrictModes(args.read_lag, args.expiry, args.sweep_interval, args.strict_limits)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("etl_platform.local.iam_mode").setLevel(logging.DEBUG)  # IAM mode: each decision
    settings = Settings.from_env()
    if args.state_dir:
        settings = replace(settings, state_dir=args.state_dir)
    port = settings.local_port if args.port is None else args.port
    interval = settings.snapshot_interval_seconds if args.snapshot_interval is None else args.snapshot_interval
    serve(replace(settings, endpoint_url=None), port, interval, modes, iam=args.iam)


if __name__ == "__main__":
    main()
