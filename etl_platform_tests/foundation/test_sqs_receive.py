"""The emulator's ReceiveMessage and SendMessage work in constant time per message
(sqs_receive.py, sqs_send.py): moto's own code computed every attribute of the queue, each
a pass over its messages, per message received and per message sent. Counted here on
moto's backend itself, never timed."""

import time

import pytest
from moto.sqs.exceptions import InvalidParameterValue
from moto.sqs.models import Queue, SQSBackend

from etl_platform.local import sqs_receive, sqs_send


def _counting_attributes(monkeypatch) -> list[int]:
    computed = []
    real = Queue.attributes

    def attributes(self):
        computed.append(1)
        return real.fget(self)

    monkeypatch.setattr(Queue, "attributes", property(attributes))
    return computed


def _deep_queue(depth: int = 300) -> SQSBackend:
    backend = SQSBackend("us-east-1", "123456789012")
    backend.create_queue("events")
    for i in range(depth):
        backend.send_message("events", f"m{i}")
    return backend


def test_a_receive_computes_no_queue_attributes_whatever_the_depth(monkeypatch):
    sqs_receive.install()
    backend = _deep_queue()
    computed = _counting_attributes(monkeypatch)
    received = backend.receive_message("events", 10, 0, 30)
    assert len(received) == 10 and computed == []


def test_a_message_past_the_queues_retention_is_not_handed_out(monkeypatch):
    sqs_receive.install()
    backend = SQSBackend("us-east-1", "123456789012")
    backend.create_queue("events", MessageRetentionPeriod="60")
    old = backend.send_message("events", "old")
    old.sent_timestamp = int((time.time() - 120) * 1000)  # sent two minutes ago
    backend.set_queue_attributes("events", {"MessageRetentionPeriod": "600"})  # retention raised since
    assert [m.body for m in backend.receive_message("events", 10, 0, 30)] == ["old"]
    backend.set_queue_attributes("events", {"MessageRetentionPeriod": "60"})
    backend.send_message("events", "new")
    assert [m.body for m in backend.receive_message("events", 10, 0, 0)] == ["new"]


def _counting_passes(monkeypatch) -> list[str]:
    """Each pass over a queue's messages that an attribute computes, named."""
    passes = []
    for name in ("approximate_number_of_messages", "approximate_number_of_messages_delayed",
                 "approximate_number_of_messages_not_visible"):
        real = getattr(Queue, name)
        monkeypatch.setattr(Queue, name, property(lambda self, real=real, name=name: passes.append(name) or real.fget(self)))
    return passes


def test_a_send_makes_no_pass_over_the_queue_whatever_the_depth(monkeypatch):
    sqs_send.install()
    backend = _deep_queue()
    passes = _counting_passes(monkeypatch)
    backend.send_message("events", "one more")
    backend.send_message_batch("events", {"a": {"Id": "a", "MessageBody": "x", "MessageAttributes": {},
                                                "DelaySeconds": None}})
    assert passes == []
    # everywhere else the attributes are moto's, whole
    assert backend.get_queue_attributes("events", ["All"])["ApproximateNumberOfMessages"] == 302
    assert passes


def test_a_fifo_queue_still_deduplicates_by_content_and_asks_for_a_group():
    sqs_send.install()
    backend = SQSBackend("us-east-1", "123456789012")
    backend.create_queue("events.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    backend.send_message("events.fifo", "same", group_id="g")
    backend.send_message("events.fifo", "same", group_id="g")
    assert len(backend.receive_message("events.fifo", 10, 0, 30)) == 1
    backend.create_queue("plain.fifo", FifoQueue="true")
    with pytest.raises(InvalidParameterValue):  # no content-based deduplication: an id is required
        backend.send_message("plain.fifo", "body", group_id="g")
