"""The embedded AWS keeps DynamoDB's promise that a conditional write is atomic.

moto alone does not: its server answers requests on parallel threads and checks a
condition before it writes, with no lock between. CI caught two manifests claiming one
file that way. Here the race is made frequent by switching threads every microsecond.
"""

from __future__ import annotations

import sys
import threading

import boto3

from etl_platform.local.server import serialize_dynamodb
from moto.server import ThreadedMotoServer

CLAIMERS, FILES, ROUNDS = 6, 40, 5


def test_concurrent_conditional_updates_have_one_winner():
    serialize_dynamodb()
    server = ThreadedMotoServer("127.0.0.1", 0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    interval = sys.getswitchinterval()
    try:
        client = _client(host, port)
        client.create_table(
            TableName="claims", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        )
        sys.setswitchinterval(1e-6)
        for round_ in range(ROUNDS):
            keys = [f"{round_}-{i}" for i in range(FILES)]
            for key in keys:
                client.put_item(TableName="claims", Item={"k": {"S": key}, "s": {"S": "pending"}})
            winners = _race(host, port, keys)
            assert sorted(winners) == sorted(keys), f"round {round_}: some file claimed twice or never"
            stored = {k: client.get_item(TableName="claims", Key={"k": {"S": k}})["Item"]["by"]["S"] for k in keys}
            assert stored == winners  # the stored claimer is the one that was told it won
    finally:
        sys.setswitchinterval(interval)
        server.stop()


def _race(host: str, port: int, keys: list[str]) -> dict[str, str]:
    """Every claimer tries every key; returns key -> claimer, failing on a second winner."""
    winners: dict[str, str] = {}
    doubles: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(CLAIMERS)

    def claim(name: str) -> None:
        client = _client(host, port)
        barrier.wait()
        for key in keys:
            try:
                client.update_item(
                    TableName="claims", Key={"k": {"S": key}}, UpdateExpression="SET s = :c, #by = :n",
                    ConditionExpression="s = :p", ExpressionAttributeNames={"#by": "by"},
                    ExpressionAttributeValues={":c": {"S": "claimed"}, ":n": {"S": name}, ":p": {"S": "pending"}},
                )
            except client.exceptions.ConditionalCheckFailedException:
                continue
            with lock:
                if key in winners:
                    doubles.append(key)
                winners[key] = name

    threads = [threading.Thread(target=claim, args=(f"claimer-{n}",)) for n in range(CLAIMERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert doubles == [], f"claimed twice: {doubles}"
    return winners


def _client(host: str, port: int):
    return boto3.client(
        "dynamodb", endpoint_url=f"http://{host}:{port}", region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )
