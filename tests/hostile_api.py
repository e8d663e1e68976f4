"""A hostile API for security tests: two HTTP servers on 127.0.0.1.

``api`` is the API a generated tap is configured for; it answers records, but
its next-page URLs, ``Link`` headers and redirects lead to ``other`` (another
port: another origin), or to ``localhost`` instead of ``127.0.0.1``. ``other``
plays the attacker's host: it answers anything and keeps every request it gets,
so a test can prove no credential ever reached it. ``api`` also has endpoints
that abuse a client: oversized and gzip-bomb bodies, a body that trickles,
absurd ``Retry-After`` values, offsets that alternate, deeply nested JSON,
error bodies that echo the request, token and login endpoints that redirect.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

#: The longest any handler keeps a connection busy (trickling bodies).
MAX_HANDLER_SECONDS = 20.0


@dataclass(frozen=True)
class Seen:
    """One request as a server received it."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    def dump(self) -> str:
        """Everything the request carried, as text to search for secrets."""
        head = "\n".join(f"{k}: {v}" for k, v in self.headers.items())
        body = self.body.decode("latin-1")
        return f"{self.method} {self.path}?{self.query}\n{head}\n\n{body}"


Route = Callable[["Handler", "HostileAPI"], None]


class Handler(BaseHTTPRequestHandler):
    """Dispatches to the server's routes; logs every request first."""

    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        seen = Seen(self.command, parts.path, parts.query, dict(self.headers), body)
        self.server.seen.append(seen)
        self.query = parse_qs(parts.query)
        self.request_body = body
        route = self.server.routes.get(parts.path, self.server.fallback)
        route(self, self.server.owner)

    do_GET = _handle  # noqa: N815
    do_POST = _handle  # noqa: N815

    def send_json(
        self, value: Any, status: int = 200, headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(value).encode()
        self.send_bytes(data, status, headers)

    def send_bytes(
        self,
        data: bytes,
        status: int = 200,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def redirect(self, status: int, location: str) -> None:
        self.send_response(status)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    @property
    def page(self) -> int:
        return int(self.query.get("page", ["1"])[0])


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, owner: HostileAPI, routes: dict[str, Route], fallback: Route):
        super().__init__(("127.0.0.1", 0), Handler)
        self.owner = owner
        self.routes = routes
        self.fallback = fallback
        self.seen: list[Seen] = []


#: What the API answers on its own pages: one record, then the next page elsewhere.
FIRST_PAGE = [{"id": 1}]
#: What the other host answers: a record the tap must never have asked for with
#: credentials (and, when the host is allowed, the record of page 2).
OTHER_PAGE = [{"id": 2}]


class HostileAPI:
    """The API and the other host, started together; use as a context manager."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.token_requests = 0
        self.bodies: dict[str, bytes] = {}
        self.api = _Server(self, self._api_routes(), _not_found)
        self.other = _Server(self, {}, _other_answer)
        self._threads = [
            threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.05})
            for s in (self.api, self.other)
        ]

    def __enter__(self) -> HostileAPI:
        for thread in self._threads:
            thread.daemon = True
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for server in (self.api, self.other):
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    @property
    def api_origin(self) -> str:
        return f"http://127.0.0.1:{self.api.server_address[1]}"

    @property
    def other_origin(self) -> str:
        return f"http://127.0.0.1:{self.other.server_address[1]}"

    @property
    def localhost_origin(self) -> str:
        return f"http://localhost:{self.api.server_address[1]}"

    @property
    def api_url(self) -> str:
        return self.api_origin + "/v1"

    def clear(self) -> None:
        self.api.seen.clear()
        self.other.seen.clear()
        self.token_requests = 0

    def _api_routes(self) -> dict[str, Route]:
        return {
            "/v1/items": _next_url(lambda api: api.other_origin),
            "/v1/items-localhost": _next_url(lambda api: api.localhost_origin),
            "/v1/linked": _linked,
            "/v1/moved302": _moved(302),
            "/v1/moved307": _moved(307),
            "/v1/oauth/token": _token,
            "/v1/oauth/moved": _moved(307, "/oauth/token"),
            "/v1/oauth/soon": _token_expires_soon,
            "/v1/login": _login,
            "/v1/login-moved": _moved(307, "/login"),
            "/v1/big": _body_named("big"),
            "/v1/gzbomb": _gzip_bomb,
            "/v1/trickle": _trickle,
            "/v1/wait-long": _retry_after("99999999"),
            "/v1/wait-huge": _retry_after("9" * 400),
            "/v1/offsets": _alternating_offsets,
            "/v1/deep": _deep,
            "/v1/echo-error": _echo_error,
            "/v1/secret-straddle": _body_named("straddle", status=400),
        }


def _not_found(handler: Handler, api: HostileAPI) -> None:
    handler.send_json({"error": "not found"}, 404)


def _other_answer(handler: Handler, api: HostileAPI) -> None:
    """The attacker's host: records for GETs, a token for POSTs."""
    if handler.command == "POST":
        handler.send_json(
            {"access_token": "stolen", "session": {"token": "stolen"}},
        )
        return
    handler.send_json({"items": OTHER_PAGE, "next": None})


def _next_url(target: Callable[[HostileAPI], str]) -> Route:
    def route(handler: Handler, api: HostileAPI) -> None:
        path = urlsplit(handler.path).path
        if handler.page > 1:  # reached on the API itself: no further page
            handler.send_json({"items": OTHER_PAGE, "next": None})
            return
        handler.send_json(
            {"items": FIRST_PAGE, "next": f"{target(api)}{path}?page=2"},
        )

    return route


def _linked(handler: Handler, api: HostileAPI) -> None:
    link = f'<{api.other_origin}/v1/linked?page=2>; rel="next"'
    handler.send_json({"items": FIRST_PAGE}, headers={"Link": link})


def _moved(status: int, to: str | None = None) -> Route:
    def route(handler: Handler, api: HostileAPI) -> None:
        path = to or urlsplit(handler.path).path.removeprefix("/v1")
        handler.redirect(status, f"{api.other_origin}/v1{path}")

    return route


def _token(handler: Handler, api: HostileAPI) -> None:
    api.token_requests += 1
    form = parse_qs(handler.request_body.decode())
    answer: dict[str, Any] = {"access_token": 'tok en/"é-access', "expires_in": 3600}
    if "refresh_token" in form:
        answer["refresh_token"] = f"rotated-{api.token_requests}"
    handler.send_json(answer)


def _token_expires_soon(handler: Handler, api: HostileAPI) -> None:
    api.token_requests += 1
    handler.send_json({"access_token": "short-lived", "expires_in": "soon"})


def _login(handler: Handler, api: HostileAPI) -> None:
    api.token_requests += 1
    handler.send_json({"session": {"token": 'sess ion/"é-token'}})


def _body_named(name: str, status: int = 200) -> Route:
    def route(handler: Handler, api: HostileAPI) -> None:
        handler.send_bytes(api.bodies[name], status)

    return route


def _gzip_bomb(handler: Handler, api: HostileAPI) -> None:
    """50 MB of zeros inside a gzip body of about 50 KB."""
    data = gzip.compress(b"[" + b" " * (50 * 1024 * 1024) + b"]", compresslevel=9)
    handler.send_bytes(data, headers={"Content-Encoding": "gzip"})


def _trickle(handler: Handler, api: HostileAPI) -> None:
    """Headers at once, then one byte every 0.1 s, never finishing in time."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", "100000")
    handler.end_headers()
    handler.wfile.write(b'{"items": [')
    started = time.monotonic()
    try:
        while (
            not api.stop.is_set() and time.monotonic() - started < MAX_HANDLER_SECONDS
        ):
            handler.wfile.write(b" ")
            handler.wfile.flush()
            time.sleep(0.1)
    except OSError:
        return  # the tap hung up, as it should


def _retry_after(value: str) -> Route:
    def route(handler: Handler, api: HostileAPI) -> None:
        handler.send_json({"error": "slow down"}, 429, headers={"Retry-After": value})

    return route


def _alternating_offsets(handler: Handler, api: HostileAPI) -> None:
    """next_offset 10, 20, 10, 20, ... for ever."""
    offset = int(handler.query.get("offset", ["0"])[0])
    following = 20 if offset == 10 else 10
    handler.send_json({"items": [{"id": offset}], "next_offset": following})


def _deep(handler: Handler, api: HostileAPI) -> None:
    depth = 100_000
    handler.send_bytes(b'{"items": ' + b"[" * depth + b"]" * depth + b"}")


def _echo_error(handler: Handler, api: HostileAPI) -> None:
    """A 400 whose body echoes the request headers (credentials included)."""
    echoed = " ".join(f"{k}={v}" for k, v in handler.headers.items())
    handler.send_bytes(
        f"bad request: {echoed}".encode("latin-1"), 400, None, "text/plain"
    )
