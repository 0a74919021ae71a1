"""The emulator's own control endpoint: `/_etl/<name>` beside moto's `/moto-api/`.

Strict modes (lagged reads, the clock that drives TTL and lifecycle expiry, limits) are
switched and driven at run time by tests through small JSON routes, so one emulator process
serves a whole test session. Each mode registers its route here; `install_control()` puts
one WSGI middleware in front of moto's dispatcher that answers `/_etl/...` and hands every
other request to moto untouched.

    GET  /_etl/            -> {route: state, ...} of every registered route
    GET  /_etl/<name>      -> that route's state
    POST /_etl/<name>      -> JSON body in, the route's state out (400 on a bad body)
"""

from __future__ import annotations

import json
from typing import Any, Callable

from moto.moto_server.werkzeug_app import DomainDispatcherApplication

PREFIX = "/_etl/"

# name -> handler(body or None) -> state; body None is a GET
Handler = Callable[[dict[str, Any] | None], dict[str, Any]]
_routes: dict[str, Handler] = {}


def route(name: str, handler: Handler) -> None:
    _routes[name] = handler


def install_control() -> None:
    """Answer `/_etl/...` before moto sees the request. Idempotent."""
    call = DomainDispatcherApplication.__call__
    if getattr(call, "etl_control", False):
        return

    def dispatch(self, environ, start_response):  # type: ignore[no-untyped-def]
        path = environ.get("PATH_INFO", "")
        if path.startswith(PREFIX) or path == PREFIX.rstrip("/"):
            return _answer(environ, start_response)
        return call(self, environ, start_response)

    dispatch.etl_control = True  # type: ignore[attr-defined]
    DomainDispatcherApplication.__call__ = dispatch  # type: ignore[method-assign]


def _answer(environ: dict, start_response: Callable) -> list[bytes]:
    name = environ["PATH_INFO"][len(PREFIX):].strip("/")
    status, payload = "200 OK", None
    try:
        if not name:
            payload = {n: h(None) for n, h in sorted(_routes.items())}
        elif name not in _routes:
            status, payload = "404 Not Found", {"error": f"no route {name!r}; routes: {sorted(_routes)}"}
        elif environ.get("REQUEST_METHOD") == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            raw = environ["wsgi.input"].read(length) if length else b""
            body = json.loads(raw) if raw.strip() else {}
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
            payload = _routes[name](body)
        else:
            payload = _routes[name](None)
    except (ValueError, TypeError, KeyError) as exc:
        status, payload = "400 Bad Request", {"error": f"{type(exc).__name__}: {exc}"}
    data = json.dumps(payload).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]
