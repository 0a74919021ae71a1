"""The local Glue runner's Pipes message reader: Dagster's temp-file reader, reading only
whole lines.

Dagster's `PipesTempFileMessageReader` tails the message file with `readline()`, which at
end of file returns whatever the writer has appended so far. A message written while the
reader polls (the Glue script's outcome for a 10,000-column file is about 1 MB, written in
one `write()` that the kernel copies page by page) is then read as a partial line:
`json.loads` fails, the reader thread dies, and the run ends "without reporting its
outcome" although the script succeeded. Reproduced under the full suite's load (2 of 3
runs). This reader keeps an unterminated tail until its newline arrives, and reads once
more after the process has exited so nothing written just before exit is missed.
Dagster offers no option for either, hence a reader of our own.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from threading import Event, Thread
from typing import BinaryIO

from dagster import PipesMessageHandler, PipesMessageReader
from dagster_pipes import PipesDefaultMessageWriter, PipesParams

POLL_SECONDS = 0.01


def complete_lines(stream: BinaryIO, should_stop: Callable[[], bool], poll: float = POLL_SECONDS) -> Iterator[str]:
    """Each newline-terminated line appended to `stream`, once whole, until `should_stop()`
    is true and a read after it found nothing more. A last line without its newline (the
    writer died mid-write) is yielded at the end so the caller can report it."""
    pending = b""
    while True:
        stopping = should_stop()  # read once more after this: the writer may have just finished
        chunk = stream.read()
        if chunk:
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                if line.strip():
                    yield line.decode("utf-8")
        elif stopping:
            break
        else:
            time.sleep(poll)
    if pending.strip():
        yield pending.decode("utf-8", errors="replace")


class CompleteLineMessageReader(PipesMessageReader):
    """Reads Pipes messages from a temporary file, one whole line at a time."""

    @contextmanager
    def read_messages(self, handler: PipesMessageHandler) -> Iterator[PipesParams]:
        closed = Event()
        with tempfile.TemporaryDirectory(prefix="pipes-messages-") as folder:
            path = os.path.join(folder, "messages")
            open(path, "wb").close()
            thread = Thread(target=self._read, args=(path, handler, closed), daemon=True)
            thread.start()
            try:
                yield {PipesDefaultMessageWriter.FILE_PATH_KEY: path,
                       PipesDefaultMessageWriter.INCLUDE_STDIO_IN_MESSAGES_KEY: False}
            finally:
                closed.set()
                thread.join()

    @staticmethod
    def _read(path: str, handler: PipesMessageHandler, closed: Event) -> None:
        try:
            with open(path, "rb") as stream:
                for line in complete_lines(stream, closed.is_set):
                    handler.handle_message(json.loads(line))
        except Exception:  # noqa: BLE001 - reported to the run, as Dagster's own reader does
            handler.report_pipes_framework_exception("CompleteLineMessageReader", sys.exc_info())

    def no_messages_debug_text(self) -> str:
        return "Attempted to read messages from a local temporary file."
