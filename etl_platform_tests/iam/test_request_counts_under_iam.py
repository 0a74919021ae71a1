"""Request counting (local/request_counts.py) under IAM enforcement: a refused request is
counted as a request and an error, with no items; an authorized one as usual."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from etl_platform.aws import client_for, make_client
from etl_platform.local import emulator


def test_refused_requests_count_as_errors_without_items(admin):
    key = {"date_prefix": {"S": "2026-09-01"}, "file_key": {"S": "f.ndjson"}}
    table = admin.names.tracking_table
    emulator.request_counts(admin.endpoint_url, reset=True)
    stranger = make_client("dynamodb", region=admin.region, endpoint_url=admin.endpoint_url)  # keys IAM does not know
    with pytest.raises(ClientError):
        stranger.get_item(TableName=table, Key=key)
    client_for(admin, "dynamodb").get_item(TableName=table, Key=key)
    counts = emulator.request_counts(admin.endpoint_url)["dynamodb"]["GetItem"]
    assert counts == {"requests": 2, "errors": 1, "items_read": 1, "items_written": 0}
