"""Where the running API listens, recorded for the CLI as the emulator records its endpoint.

`etl-platform api` writes `<state dir>/api.json` ({"url", "pid", "process_started"}) while it
serves, and removes it when it stops; `Settings.from_env` reads it while that process lives
(process_records.py: a SIGKILLed API leaves it behind), so `etl-platform jobs ...` in any
shell finds the API that `make up` started, on whatever port, without ETL_API_PORT.
"""

from __future__ import annotations

import contextlib
import json
import os
from typing import Iterator

from etl_platform.config import Settings
from etl_platform.process_records import write_record

ANY_INTERFACE = {"", "0.0.0.0", "::"}


@contextlib.contextmanager
def recorded_api(settings: Settings, host: str, port: int) -> Iterator[str]:
    """Record the API's URL for the time it serves; yields that URL."""
    url = f"http://{'127.0.0.1' if host in ANY_INTERFACE else host}:{port}"
    record = settings.api_file
    write_record(record, {"url": url})
    try:
        yield url
    finally:
        with contextlib.suppress(OSError, ValueError):
            if json.loads(record.read_text()).get("pid") == os.getpid():  # not an API started since
                record.unlink()
