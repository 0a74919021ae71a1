"""ReceiveMessage in constant work per message, as SQS does it.

moto checks each message it hands out against its queue's retention period by computing
every attribute of the queue (`get_queue_attributes`), and several of those attributes are a
pass over all the queue's messages: one receive of 10 costs about 10 x 3 passes over the
queue. With thousands of S3 events waiting (a landing burst), a receive took about half a
second of the emulator's one interpreter lock, and the validation runs handled 4 files a
second (measured with benchmarks/ingest_load.py and py-spy). This reads the retention
period from the queue itself: the same answer, without the passes. moto's Queue keeps its
attributes as snake_case fields (`message_retention_period`), set at create and on
SetQueueAttributes, so a changed retention still applies.
"""

from __future__ import annotations

from moto.core.utils import unix_time
from moto.sqs.models import Message, SQSBackend


def _within_retention(self: SQSBackend, queue_name: str, message: Message) -> bool:
    retention = int(self.get_queue(queue_name).message_retention_period)  # type: ignore[attr-defined]
    return retention + message.sent_timestamp / 1000 > unix_time()  # type: ignore[operator]


def install() -> None:
    """Idempotent."""
    SQSBackend.is_message_valid_based_on_retention_period = _within_retention  # type: ignore[method-assign]
