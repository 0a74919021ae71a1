"""Capture of malformed lines: one NDJSON record per rejected line.

``{"source_file": uri, "line_number": n, "error": "...", "line": "original text"}``
``line_number`` is 1-based and counts every ``\\n``-separated line of the file
(blank lines included).  ``line`` is the line without its terminator (``\\n`` or
``\\r\\n``), decoded as UTF-8 with invalid bytes replaced by U+FFFD.
The file is rewritten on every run (empty when nothing was rejected), so a retry
never leaves stale rejects behind.
"""

from __future__ import annotations

import os

import orjson


class RejectWriter:
    def __init__(self, path: str):
        self.path = path
        self.count = 0
        d = os.path.dirname(os.path.abspath(path))
        os.makedirs(d, exist_ok=True)
        self._tmp = f"{path}.tmp-{os.getpid()}"
        self._f = open(self._tmp, "wb")

    def write(self, source_uri: str, line_number: int, error: str, raw: bytes) -> None:
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        self._f.write(orjson.dumps({"source_file": source_uri, "line_number": line_number,
                                    "error": error, "line": raw.decode("utf-8", "replace")}))
        self._f.write(b"\n")
        self.count += 1

    def close(self) -> None:
        self._f.close()
        os.replace(self._tmp, self.path)

    def abort(self) -> None:
        self._f.close()
        try:
            os.remove(self._tmp)
        except OSError:
            pass
