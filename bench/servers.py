"""The benchmark's HTTP server: nginx serving precomputed pages, or a stdlib fallback.

Both serve the same routes from ``.cache/bench/data``, on 127.0.0.1 only:

- ``/<dataset>/items?page=N`` -> ``<dataset>/page-N.json``
- ``/pc/parents?page=N`` -> ``pc/parents/page-N.json``
- ``/pc/parents/<id>/children`` -> ``pc/children/<id>.json``
- ``/health`` -> 200 (start-up probe)

nginx is the default: it answers in microseconds, so the client is what the
benchmark measures. It runs with its own config, prefix, pid file and error log
under ``.cache/bench/nginx/``, in the foreground (``daemon off``) as a child of this
process, and is stopped by pid with SIGQUIT (graceful shutdown), then waited for.
When nginx is missing (and cannot be installed with apt-get) a
``ThreadingHTTPServer`` with keep-alive and bodies preloaded in memory stands in;
the report says so.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Protocol

import requests

HOST = "127.0.0.1"
READY_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 15.0
SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/sbin")
HTTP_OK = 200

NGINX_CONF = """\
# Written by bench/servers.py for one benchmark run; safe to delete.
daemon off;
master_process on;
worker_processes 1;
{user}
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;

events {{
    worker_connections 256;
}}

http {{
    access_log off;
    default_type application/json;
    sendfile on;
    tcp_nodelay on;
    keepalive_timeout 120s;
    keepalive_requests 1000000;
    client_body_temp_path {prefix}/temp/body;
    proxy_temp_path {prefix}/temp/proxy;
    fastcgi_temp_path {prefix}/temp/fastcgi;
    uwsgi_temp_path {prefix}/temp/uwsgi;
    scgi_temp_path {prefix}/temp/scgi;

    server {{
        listen {host}:{port};
        server_name localhost;
        root {data};

        location ~ ^/(?<ds>[a-z0-9_]+)/items$ {{
            if ($arg_page !~ "^[0-9]+$") {{ return 404; }}
            try_files /$ds/page-$arg_page.json =404;
        }}
        location = /pc/parents {{
            if ($arg_page !~ "^[0-9]+$") {{ return 404; }}
            try_files /pc/parents/page-$arg_page.json =404;
        }}
        location ~ ^/pc/parents/(?<parent>[0-9]+)/children$ {{
            try_files /pc/children/$parent.json =404;
        }}
        location = /health {{
            return 200 "ok";
        }}
        location / {{
            return 404;
        }}
    }}
}}
"""


class ServerError(RuntimeError):
    """The benchmark server could not be started."""


class Server(Protocol):
    """What the benchmark needs from a server."""

    url: str
    kind: str
    version: str

    def prepare(self, datasets: list[str]) -> None:
        """Get ready to serve ``datasets`` (the fallback loads them into memory)."""

    def stop(self) -> None:
        """Stop serving and release everything that was started."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def wait_until_ready(url: str, alive: Callable[[], bool]) -> None:
    """Poll ``url`` until it answers 200.

    Raises:
        ServerError: the server exited or did not answer in time.
    """
    deadline = time.monotonic() + READY_TIMEOUT_S
    with requests.Session() as session:
        session.trust_env = False  # never through a proxy
        while time.monotonic() < deadline:
            if not alive():
                msg = "it exited during start-up"
                raise ServerError(msg)
            with contextlib.suppress(requests.RequestException):
                if session.get(url, timeout=1).status_code == HTTP_OK:
                    return
            time.sleep(0.05)
    msg = f"it did not answer {url} within {READY_TIMEOUT_S:.0f} s"
    raise ServerError(msg)


# --------------------------------------------------------------------------- #
# nginx
# --------------------------------------------------------------------------- #


def find_nginx() -> str | None:
    """The nginx executable on PATH (or in an sbin folder), if any."""
    return shutil.which("nginx") or shutil.which(
        "nginx", path=os.pathsep.join(SBIN_DIRS)
    )


def install_nginx(log: Callable[[str], None]) -> str | None:
    """Install nginx with apt-get when running as root; return its path or None."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for refresh in (False, True):
        if refresh:  # a fresh container has no package lists yet
            log("nginx: apt-get update")
            _apt(["update", "-q"], env)
        for package in ("nginx-light", "nginx"):
            log(f"nginx: not found; apt-get install -y -q {package}")
            if _apt(["install", "-y", "-q", package], env) and (found := find_nginx()):
                return found
    return None


def _apt(args: list[str], env: dict[str, str]) -> bool:
    done = subprocess.run(
        ["apt-get", *args], env=env, capture_output=True, check=False, timeout=600
    )
    return done.returncode == 0


def nginx_version(binary: str) -> str:
    """``nginx/1.22.1``, as ``nginx -v`` reports it."""
    done = subprocess.run([binary, "-v"], capture_output=True, text=True, check=False)
    text = (done.stderr or done.stdout).strip()
    return text.rsplit(":", 1)[-1].strip() or "nginx (unknown version)"


@dataclass
class NginxServer:
    """An nginx master process started by this benchmark, serving ``data_dir``."""

    binary: str
    prefix: Path
    data_dir: Path
    url: str = ""
    kind: str = "nginx"
    version: str = ""
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def conf(self) -> Path:
        """The config file this benchmark writes."""
        return self.prefix / "nginx.conf"

    @property
    def pid_file(self) -> Path:
        """The nginx pid file."""
        return self.prefix / "nginx.pid"

    def start(self, attempts: int = 3) -> None:
        """Start nginx on a free port (retrying if another process takes it first).

        Raises:
            ServerError: nginx would not start; the error log's tail says why.
        """
        self.version = nginx_version(self.binary)
        (self.prefix / "temp").mkdir(parents=True, exist_ok=True)
        self._stop_stale()
        reason = ""
        for _ in range(attempts):
            port = free_port()
            self._write_conf(port)
            with (self.prefix / "stderr.log").open("wb") as stderr:
                self.process = subprocess.Popen(
                    [self.binary, "-c", str(self.conf), "-p", str(self.prefix)],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                )
            self.url = f"http://{HOST}:{port}"
            try:
                wait_until_ready(f"{self.url}/health", self._alive)
            except ServerError as exc:
                reason = f"{exc}; {self._log_tail()}"
                self.stop()
                continue
            return
        msg = f"nginx would not start: {reason}"
        raise ServerError(msg)

    def prepare(self, datasets: list[str]) -> None:
        """Nothing to do: nginx reads the page files (from the page cache)."""

    def stop(self) -> None:
        """Graceful stop by pid (SIGQUIT), then wait; SIGKILL after a timeout."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGQUIT)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _write_conf(self, port: int) -> None:
        user = ""
        if os.geteuid() == 0:
            # As root, workers would run as `nobody`, who may not read the clone.
            user = f"user {pwd.getpwuid(0).pw_name};"
        self.conf.write_text(
            NGINX_CONF.format(
                user=user, prefix=self.prefix, host=HOST, port=port, data=self.data_dir
            ),
            encoding="utf-8",
        )

    def _log_tail(self) -> str:
        lines: list[str] = []
        for name in ("stderr.log", "error.log"):
            with contextlib.suppress(OSError):
                text = (self.prefix / name).read_text(errors="replace")
                lines += text.strip().splitlines()[-3:]
        return " | ".join(lines) or "no log output"

    def _stop_stale(self) -> None:
        """Stop an nginx an earlier, killed benchmark run left behind."""
        try:
            pid = int(self.pid_file.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            return
        if str(self.conf).encode() in cmdline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGQUIT)
                _wait_gone(pid)


def _wait_gone(pid: int) -> None:
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


# --------------------------------------------------------------------------- #
# stdlib fallback
# --------------------------------------------------------------------------- #

_ITEMS = re.compile(r"^/([a-z0-9_]+)/items$")
_CHILDREN = re.compile(r"^/pc/parents/([0-9]+)/children$")
_PAGE = re.compile(r"^[0-9]+$")


def route(raw_path: str) -> str | None:
    """The data file (relative to the data folder) that serves ``raw_path``."""
    parts = urllib.parse.urlsplit(raw_path)
    page = urllib.parse.parse_qs(parts.query).get("page", [""])[0]
    if match := _CHILDREN.match(parts.path):
        return f"pc/children/{match.group(1)}.json"
    if not _PAGE.match(page):
        return None
    if parts.path == "/pc/parents":
        return f"pc/parents/page-{page}.json"
    if match := _ITEMS.match(parts.path):
        return f"{match.group(1)}/page-{page}.json"
    return None


class _PageHandler(BaseHTTPRequestHandler):
    """Answers from the server's in-memory bodies; HTTP/1.1 keep-alive."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _PageServer

    def do_GET(self) -> None:
        if urllib.parse.urlsplit(self.path).path == "/health":
            self._send(HTTP_OK, b"ok")
            return
        relative = route(self.path)
        body = self.server.bodies.get(relative) if relative else None
        if body is None:
            self._send(404, b'{"error": "not found"}')
        else:
            self._send(HTTP_OK, body)

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """No access log (as nginx's ``access_log off``)."""


class _PageServer(ThreadingHTTPServer):
    daemon_threads = True
    bodies: dict[str, bytes]


@dataclass
class StdlibServer:
    """``ThreadingHTTPServer`` in a thread of this process; bodies in memory."""

    data_dir: Path
    reason: str
    url: str = ""
    kind: str = "stdlib"
    version: str = ""
    _server: _PageServer | None = field(default=None, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    def start(self) -> None:
        """Listen on a free port of 127.0.0.1."""
        self._server = _PageServer((HOST, 0), _PageHandler)
        self._server.bodies = {}
        self.url = f"http://{HOST}:{self._server.server_address[1]}"
        self.version = f"stdlib ThreadingHTTPServer fallback ({self.reason})"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        wait_until_ready(f"{self.url}/health", self._thread.is_alive)

    def prepare(self, datasets: list[str]) -> None:
        """Load the page files of ``datasets`` into memory (and drop the others)."""
        bodies: dict[str, bytes] = {}
        for name in datasets:
            for path in (self.data_dir / name).rglob("*.json"):
                bodies[path.relative_to(self.data_dir).as_posix()] = path.read_bytes()
        if self._server is not None:
            self._server.bodies = bodies

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=STOP_TIMEOUT_S)


def start_server(
    cache_dir: Path, data_dir: Path, log: Callable[[str], None], *, force_stdlib: bool
) -> Server:
    """Start nginx (installing it if need be), else the stdlib fallback."""
    reason = "--stdlib-server was given"
    if not force_stdlib:
        binary = find_nginx() or install_nginx(log)
        if binary is None:
            reason = "nginx is not installed"
        else:
            nginx = NginxServer(binary, cache_dir / "nginx", data_dir)
            try:
                nginx.start()
            except ServerError as exc:
                reason = str(exc)
            else:
                return nginx
    log(f"server: falling back to the stdlib ThreadingHTTPServer: {reason}")
    fallback = StdlibServer(data_dir, reason)
    fallback.start()
    return fallback


# --------------------------------------------------------------------------- #
# latency mode
# --------------------------------------------------------------------------- #


class _InFlight:
    """Requests being answered now, and the most at once since the last reset."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0

    def __enter__(self) -> None:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def __exit__(self, *exc: object) -> None:
        with self.lock:
            self.now -= 1


class _SlowPageServer(_PageServer):
    delay: float
    in_flight: _InFlight
    pc_dataset: str


class _SlowPageHandler(_PageHandler):
    """Waits ``delay`` seconds before each answer; ``/pc/`` reads ``pc_dataset``."""

    server: _SlowPageServer

    def do_GET(self) -> None:
        if urllib.parse.urlsplit(self.path).path == "/health":
            self._send(HTTP_OK, b"ok")
            return
        with self.server.in_flight:
            time.sleep(self.server.delay)
            relative = route(self.path)
            if relative is not None and relative.startswith("pc/"):
                relative = self.server.pc_dataset + relative[2:]
            body = self.server.bodies.get(relative) if relative else None
            if body is None:
                self._send(404, b'{"error": "not found"}')
            else:
                self._send(HTTP_OK, body)


@dataclass
class LatencyServer:
    """A slow API: the same pages, each answered after ``delay`` seconds.

    A ``ThreadingHTTPServer`` (a thread per connection, so concurrent requests
    wait side by side) in a thread of this process, bodies in memory. It counts
    the requests in flight: :meth:`reset_in_flight` before a run,
    :attr:`max_in_flight` after it. ``/pc/...`` serves ``pc_dataset``.
    """

    data_dir: Path
    delay: float
    pc_dataset: str
    url: str = ""
    kind: str = "latency"
    version: str = ""
    _server: _SlowPageServer | None = field(default=None, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    def start(self) -> None:
        """Listen on a free port of 127.0.0.1."""
        server = _SlowPageServer((HOST, 0), _SlowPageHandler)
        server.bodies = {}
        server.delay = 0.0  # answer the readiness probe at once
        server.in_flight = _InFlight()
        server.pc_dataset = self.pc_dataset
        self._server = server
        self.url = f"http://{HOST}:{server.server_address[1]}"
        self.version = f"stdlib ThreadingHTTPServer, {self.delay * 1000:.0f} ms/request"
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        wait_until_ready(f"{self.url}/health", self._thread.is_alive)
        server.delay = self.delay

    def prepare(self, datasets: list[str]) -> None:
        """Load the page files of ``datasets`` into memory."""
        bodies: dict[str, bytes] = {}
        for name in datasets:
            for path in (self.data_dir / name).rglob("*.json"):
                bodies[path.relative_to(self.data_dir).as_posix()] = path.read_bytes()
        if self._server is not None:
            self._server.bodies = bodies

    def reset_in_flight(self) -> None:
        """Start counting afresh, once the requests of the last run are answered.

        A contender that requested pages ahead may exit while the server still
        sleeps on them; they would count as the next contender's.
        """
        if self._server is None:
            return
        counter = self._server.in_flight
        deadline = time.monotonic() + READY_TIMEOUT_S
        while counter.now and time.monotonic() < deadline:
            time.sleep(0.01)
        with counter.lock:
            counter.most = counter.now

    @property
    def max_in_flight(self) -> int:
        """The most requests answered at once since the last reset."""
        return 0 if self._server is None else self._server.in_flight.most

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=STOP_TIMEOUT_S)
