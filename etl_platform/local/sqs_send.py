"""SendMessage in constant work, as SQS does it.

moto's SendMessage reads one queue attribute (`ContentBasedDeduplication`) through
`Queue.attributes`, which computes every attribute of the queue, three of them a pass over
all its messages (ApproximateNumberOfMessages, ...Delayed, ...NotVisible). Every S3 event
is a SendMessage, so during a landing burst each new event cost three passes over the
thousands already waiting: 54 % of the emulator's time while 5,000 files landed (py-spy,
benchmarks/ingest_load.py). While a thread is inside SendMessage, `Queue.attributes` here
answers only what SendMessage reads; everywhere else (GetQueueAttributes, ...) it is
moto's, whole. A thread-local flag, not a copy of moto's SendMessage: the rest of its
checks stay moto's.
"""

from __future__ import annotations

import threading
from typing import Any

from moto.sqs.models import Queue, SQSBackend

_sending = threading.local()


def install() -> None:
    """Idempotent."""
    if getattr(SQSBackend.send_message, "etl_constant_work", False):
        return
    send, attributes = SQSBackend.send_message, Queue.attributes

    def send_message(self: SQSBackend, *args: Any, **kwargs: Any) -> Any:
        _sending.active = True
        try:
            return send(self, *args, **kwargs)
        finally:
            _sending.active = False

    def queue_attributes(self: Queue) -> dict[str, Any]:
        if getattr(_sending, "active", False):
            return sending_view(self)
        return attributes.fget(self)  # type: ignore[attr-defined]

    send_message.etl_constant_work = True  # type: ignore[attr-defined]
    SQSBackend.send_message = send_message  # type: ignore[method-assign]
    Queue.attributes = property(queue_attributes)  # type: ignore[method-assign,assignment]


def sending_view(queue: Queue) -> dict[str, Any]:
    """The attributes moto's SendMessage reads, as `Queue.attributes` renders them."""
    if not queue.fifo_queue:
        return {}  # a standard queue has no ContentBasedDeduplication attribute
    return {"ContentBasedDeduplication": str(bool(queue.content_based_deduplication)).lower()}  # type: ignore[attr-defined]
