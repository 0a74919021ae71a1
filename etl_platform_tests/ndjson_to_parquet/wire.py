"""An HTTP relay between boto3 clients and the embedded AWS that records what crosses the wire.

Tests point a process's AWS_ENDPOINT_URL (or a client's endpoint) at `Relay.url`; every
request is forwarded unchanged to the emulator and recorded (method, path, Range header,
response body bytes), and so is every client connection. It counts what the processes under
test really send, whichever code path sent it (Spark's Python workers included), which a
counter inside the code under test could not. Connections count S3 clients: a boto3 client
keeps one connection alive for its sequential requests, so a client per file shows as one
connection per file.
"""

from __future__ import annotations

import http.client
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection"}


@dataclass(frozen=True)
class Request:
    method: str
    path: str            # without the query string, URL-decoded: /<bucket>/<key>
    range: str | None    # the Range header, if any
    response_bytes: int  # bytes of the response body


class Relay:
    def __init__(self, upstream: str):
        target = urlsplit(upstream)
        self.upstream = (target.hostname, target.port)
        self.requests: list[Request] = []
        self.connections = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> "Relay":
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def gets(self, path_prefix: str = "/") -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.method == "GET" and r.path.startswith(path_prefix)]

    def _handler(self):
        relay = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as AWS: one connection per client

            def setup(self):
                super().setup()
                with relay._lock:
                    relay.connections += 1

            def log_message(self, *args):
                pass

            def _relay(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                upstream = http.client.HTTPConnection(*relay.upstream, timeout=120)
                try:
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    response = upstream.getresponse()
                    payload = response.read()
                    self.send_response_only(response.status, response.reason)
                    for key, value in response.getheaders():
                        if key.lower() not in HOP_BY_HOP:
                            self.send_header(key, value)
                    self.send_header("Content-Length", response.getheader("Content-Length", "0")
                                     if self.command == "HEAD" else str(len(payload)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(payload)
                finally:
                    upstream.close()
                with relay._lock:
                    relay.requests.append(Request(self.command, unquote(urlsplit(self.path).path),
                                                  self.headers.get("Range"), len(payload)))

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _relay

        return Handler
