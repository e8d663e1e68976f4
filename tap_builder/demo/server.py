"""The demo API server: a stdlib HTTP server on 127.0.0.1 and its request log.

Requests are parsed into :class:`~tap_builder.demo.routing.ApiRequest` s and
dispatched to the emulated APIs registered in :data:`tap_builder.demo.apis.APIS`
(each under its own path prefix, see
:data:`tap_builder.demo.configs.API_PREFIXES`). A :class:`FaultPlan` can make the
server misbehave first. Every request, answered or refused, is recorded so tests
can assert where auth, paging and filter parameters went.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, cast
from urllib.parse import parse_qs, parse_qsl, unquote, urlsplit

from tap_builder.demo.apis import APIS, lab_jobs
from tap_builder.demo.faults import FaultInjector, FaultPlan
from tap_builder.demo.routing import ApiError, ApiRequest, ApiResponse, dispatch

_LOOPBACK = frozenset({"127.0.0.1", "localhost"})


@dataclass(frozen=True)
class RecordedRequest:
    """One request the demo server received.

    Attributes:
        method: HTTP method.
        path: URL path without the query string, as sent.
        query: Query parameters (``parse_qs`` with blank values kept).
        headers: Request headers with lower-cased names.
        body: The parsed JSON body, or None when there was none (or it was invalid).
        status: The HTTP status the server answered.
    """

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    status: int
    #: ``time.monotonic()`` when the request arrived.
    at: float = 0.0


# --------------------------------------------------------------------------- #
# HTTP plumbing
# --------------------------------------------------------------------------- #

Recorder = Callable[[RecordedRequest], None]


class InFlight:
    """Counts requests being answered, and the most there were at once."""

    def __init__(self) -> None:
        """No request yet."""
        self._lock = threading.Lock()
        self.now = 0
        self.most = 0

    def arrive(self) -> None:
        """A request arrived."""
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def leave(self) -> None:
        """Its answer is being sent."""
        with self._lock:
            self.now -= 1

    def reset(self) -> None:
        """Forget the most so far."""
        with self._lock:
            self.most = self.now


class _HTTPServer(ThreadingHTTPServer):
    """Threading server that records requests and keeps errors quiet."""

    daemon_threads = True
    block_on_close = False

    def __init__(
        self,
        address: tuple[str, int],
        recorder: Recorder,
        faults: FaultInjector,
        latency: float = 0.0,
    ) -> None:
        self.recorder = recorder
        self.faults = faults
        #: Seconds every answer waits before it is computed (a slow API).
        self.latency = latency
        self.in_flight = InFlight()
        super().__init__(address, _RequestHandler)

    def handle_error(self, request: object, client_address: object) -> None:
        """Ignore connection errors (clients closing keep-alive sockets)."""


def _parse_body(raw: bytes, content_type: str = "") -> tuple[Any, str | None]:
    """The parsed body (None when empty) and an error message, if invalid.

    Form bodies (OAuth2 token requests) become a dict of their fields.
    """
    if not raw.strip():
        return None, None
    if content_type.startswith("application/x-www-form-urlencoded"):
        return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True)), None
    try:
        return json.loads(raw), None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return None, f"the body is not valid JSON: {error}"


class _RequestHandler(BaseHTTPRequestHandler):
    """Turns HTTP requests into :func:`dispatch` calls, with keep-alive."""

    protocol_version = "HTTP/1.1"
    server_version = "tap-builder-demo/1.0"
    #: Headers and body go out in separate writes; without this, Nagle's
    #: algorithm and delayed ACKs add ~40 ms to every keep-alive response.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        """Answer any method the same way: through the route table."""
        self._answer()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET  # noqa: N815

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet: never print requests (they may carry credentials)."""

    def _answer(self) -> None:
        server = cast(_HTTPServer, self.server)
        server.in_flight.arrive()
        self._counted = True
        try:
            self._answer_counted(server)
        finally:
            self._leave()

    def _leave(self) -> None:
        """The answer goes out now: the request stops counting as in flight.

        Called before the answer's bytes are written, so a client that sends
        its next request the moment this answer arrives is never counted twice.
        """
        if getattr(self, "_counted", False):
            self._counted = False
            cast(_HTTPServer, self.server).in_flight.leave()

    def _answer_counted(self, server: _HTTPServer) -> None:
        arrived = time.monotonic()
        if server.latency:
            time.sleep(server.latency)
        split = urlsplit(self.path)
        query = parse_qs(split.query, keep_blank_values=True)
        headers = {name.lower(): value for name, value in self.headers.items()}
        body, problem = _parse_body(
            self._read_body(), self.headers.get("Content-Type") or ""
        )
        path = unquote(split.path)
        request = ApiRequest(self.command, path, query, headers, body, {})
        fault = server.faults.choose(f"{self.command} {self.path} {body!r}", path)
        if fault is not None:
            status = self._inject(fault, request)
            recorded = RecordedRequest(
                self.command, split.path, query, headers, body, status, arrived
            )
            server.recorder(recorded)
            return
        if problem:
            response = ApiError(400, problem).response()
        else:
            response = _safe_dispatch(request)
        recorded = RecordedRequest(
            self.command, split.path, query, headers, body, response.status, arrived
        )
        server.recorder(recorded)
        self._send(response)

    def _inject(self, fault: str, request: ApiRequest) -> int:
        """Misbehave as ``fault`` says; returns the status sent (0: none)."""
        if fault in _STATUS_FAULTS:
            status, headers = _STATUS_FAULTS[fault]()
            message = f"injected fault {fault}"
            self._send(ApiResponse(status, {"error": message}, tuple(headers)))
            return status
        if fault == "reset":
            linger = struct.pack("ii", 1, 0)  # close with RST, not FIN
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            self.close_connection = True
            return 0
        if fault == "slow":
            server = cast(_HTTPServer, self.server)
            time.sleep(server.faults.plan.slow_seconds)
            response = _safe_dispatch(request)
            with contextlib.suppress(OSError):
                self._send(response)
            return response.status
        self._send_raw(_BODY_FAULTS[fault](), fault)
        return 200

    def _send_raw(self, payload: bytes, fault: str) -> None:
        content_type = "text/html" if fault == "not-json" else "application/json"
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self._leave()
        self.end_headers()
        self.wfile.write(payload)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            return b""
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
            chunks.append(self.rfile.read(size))
            self.rfile.readline()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            continue
        return b"".join(chunks)

    def _send(self, response: ApiResponse) -> None:
        lines = response.status == 200 and dict(response.headers).get("Content-Type")
        if isinstance(response.payload, bytes):  # a file: CSV, XML, gzip, zip
            payload = response.payload
        elif lines == "application/x-ndjson" and isinstance(response.payload, list):
            text = "\n".join(json.dumps(item) for item in response.payload) + "\n"
            payload = text.encode("utf-8")
        else:
            payload = json.dumps(response.payload).encode("utf-8")
        self.send_response(response.status)
        if not lines:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in response.headers:
            self.send_header(name, value)
        self._leave()
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)


def _retry_after_date() -> list[tuple[str, str]]:
    return [("Retry-After", formatdate(time.time(), usegmt=True))]


#: Faults answered with an error status: status and extra headers.
_STATUS_FAULTS: dict[str, Callable[[], tuple[int, list[tuple[str, str]]]]] = {
    "429": lambda: (429, [("Retry-After", "0")]),
    "429-date": lambda: (429, _retry_after_date()),
    "500": lambda: (500, []),
    "502": lambda: (502, []),
    "503": lambda: (503, [("Retry-After", "0")]),
    "permanent": lambda: (500, []),
}

#: Faults answered 200 with a broken body.
_BODY_FAULTS: dict[str, Callable[[], bytes]] = {
    "truncated": lambda: b'{"calls": [{"id": 1, "direction": "inbo',
    "not-json": lambda: b"<html><body>Service temporarily unavailable</body></html>",
    "empty": lambda: b"",
}


def _safe_dispatch(request: ApiRequest) -> ApiResponse:
    """:func:`dispatch` over :data:`APIS`, a handler bug becoming a JSON 500."""
    try:
        return dispatch(request, APIS)
    except Exception as error:  # the server must keep answering
        return ApiError(500, f"demo server error: {type(error).__name__}").response()


class DemoServer:
    """The demo API server on 127.0.0.1, serving every sample spec's API.

    The socket is bound when the object is created (port 0 picks a free port),
    so :attr:`url` is known before :meth:`start`.

    Example:
        >>> with DemoServer() as server:
        ...     config = demo_config("aircall", server.url)
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: FaultPlan | None = None,
        latency: float = 0.0,
    ) -> None:
        """Bind the server socket.

        Args:
            host: ``127.0.0.1`` (or ``localhost``); nothing else is allowed.
            port: TCP port, 0 for any free one.
            faults: Transient (and permanent) failures to inject; none by default.
            latency: Seconds every answer is delayed (a slow API); the most
                requests in flight at once is :attr:`max_in_flight`.

        Raises:
            ValueError: for a host other than the loopback address.
        """
        if host not in _LOOPBACK:
            msg = f"the demo server only binds 127.0.0.1, not {host!r}"
            raise ValueError(msg)
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        lab_jobs.reset()  # report-job ids start at job-1 on every new server
        self._faults = FaultInjector(faults or FaultPlan())
        self._httpd = _HTTPServer(
            ("127.0.0.1", port), self._record, self._faults, latency
        )
        self._thread: threading.Thread | None = None
        self._closed = False

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    @property
    def faults_injected(self) -> dict[str, int]:
        """How many faults of each kind were injected so far."""
        return dict(self._faults.injected)

    @property
    def max_in_flight(self) -> int:
        """The most requests answered at once since start or the last clear."""
        return self._httpd.in_flight.most

    @property
    def port(self) -> int:
        """The bound TCP port."""
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """The root URL, e.g. ``http://127.0.0.1:8123`` (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        """Forget the recorded requests."""
        with self._lock:
            self._requests.clear()
        self._httpd.in_flight.reset()

    def start(self) -> DemoServer:
        """Serve in a daemon thread (no-op when already serving).

        Returns:
            This server, so ``server = DemoServer().start()`` works.
        """
        if self._closed:
            msg = "this demo server was stopped; create a new one"
            raise RuntimeError(msg)
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"demo-server-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
        self._httpd.server_close()

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted, then close the socket."""
        if self._thread is not None or self._closed:
            msg = "serve_forever needs a fresh, unstarted demo server"
            raise RuntimeError(msg)
        try:
            self._httpd.serve_forever(poll_interval=0.2)
        finally:
            self._closed = True
            self._httpd.server_close()

    def __enter__(self) -> DemoServer:
        """Start serving."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop serving."""
        self.stop()
