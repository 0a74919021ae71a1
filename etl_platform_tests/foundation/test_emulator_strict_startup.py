"""Strict modes can be asked for when the emulator starts (as `local up` and the test
harness start it), and its control endpoint lives beside moto's own API."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import boto3
import pytest

from etl_platform.config import Settings
from etl_platform.local import emulator


def test_modes_switched_on_at_start_are_on(tmp_path):
    settings = Settings(state_dir=tmp_path)
    state = emulator.up(settings, port=0, snapshot_interval=-1,
                        strict={"read_lag": 2.5, "expiry": True, "strict_limits": True, "sweep_interval": 30})
    try:
        modes = emulator.control(state.endpoint, "")
        assert modes["lag"]["seconds"] == 2.5
        assert modes["expiry"]["enabled"] is True and modes["limits"]["enabled"] is True
        assert emulator.control(state.endpoint, "lag", {"seconds": 0})["seconds"] == 0
        with urllib.request.urlopen(f"{state.endpoint}/moto-api/data.json", timeout=30) as response:
            assert "dynamodb" in json.loads(response.read())  # moto's own API still answers
        with pytest.raises(urllib.error.HTTPError) as error:
            emulator.control(state.endpoint, "clock", {"advance_seconds": -1})
        assert error.value.code == 400
    finally:
        emulator.down(settings)


def test_unknown_modes_are_refused_before_starting(tmp_path):
    with pytest.raises(ValueError, match="unknown strict modes"):
        emulator.up(Settings(state_dir=tmp_path), port=0, strict={"read_lags": 1})


def test_a_lagged_emulator_snapshots_its_latest_writes(tmp_path):
    settings = Settings(state_dir=tmp_path)
    key = {"date_prefix": {"S": "2026-06-01"}, "file_key": {"S": "just-written.ndjson"}}
    state = emulator.up(settings, port=0, snapshot_interval=0, strict={"read_lag": 600})
    try:
        ddb = _dynamodb(state.endpoint)
        ddb.put_item(TableName=settings.names.tracking_table, Item={**key, "status": {"S": "pending#0"}})
    finally:
        emulator.down(settings)  # the last snapshot is taken within the lag
    state = emulator.up(settings, port=0, snapshot_interval=-1)
    try:
        item = _dynamodb(state.endpoint).get_item(TableName=settings.names.tracking_table, Key=key, ConsistentRead=True)
        assert item.get("Item", {}).get("status") == {"S": "pending#0"}
    finally:
        emulator.down(settings)


def _dynamodb(endpoint: str):
    return boto3.client("dynamodb", endpoint_url=endpoint, region_name=Settings().region,
                        aws_access_key_id="testing", aws_secret_access_key="testing")
