"""The emulator's ReceiveMessage hands out each message in constant work (sqs_receive.py):
moto's own check computed every attribute of the queue, each a pass over its messages, per
message received. Counted here on moto's backend itself, never timed."""

import time

from moto.sqs.models import Queue, SQSBackend

from etl_platform.local import sqs_receive


def _counting_attributes(monkeypatch) -> list[int]:
    computed = []
    real = Queue.attributes

    def attributes(self):
        computed.append(1)
        return real.fget(self)

    monkeypatch.setattr(Queue, "attributes", property(attributes))
    return computed


def test_a_receive_computes_no_queue_attributes_whatever_the_depth(monkeypatch):
    sqs_receive.install()
    backend = SQSBackend("us-east-1", "123456789012")
    backend.create_queue("events")
    for i in range(300):
        backend.send_message("events", f"m{i}")
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
