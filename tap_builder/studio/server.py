"""Serving the studio on 127.0.0.1 with uvicorn, in the foreground or a thread."""

from __future__ import annotations

import contextlib
import secrets
import socket
import threading
import time
import typing as t
import webbrowser
from pathlib import Path

import uvicorn

from tap_builder.studio.app import Studio, create_app
from tap_builder.studio.workspace import Workspace

if t.TYPE_CHECKING:
    from types import TracebackType

#: The only address the studio listens on.
HOST = "127.0.0.1"


class StudioServer:
    """The studio on 127.0.0.1; ``url`` holds the token.

    Example:
        >>> with StudioServer(Path("aircall.yaml")) as studio:  # doctest: +SKIP
        ...     print(studio.url)
    """

    def __init__(
        self, spec: Path | None = None, *, port: int = 0, root: Path | None = None
    ) -> None:
        workspace_root = (root or (spec.parent if spec else Path.cwd())).resolve()
        self.workspace = Workspace(workspace_root)
        if spec is not None:
            name = str(spec.resolve().relative_to(workspace_root))
            if spec.exists():
                self.workspace.open(name)
        self.token = secrets.token_urlsafe(32)
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind((HOST, port))
        self.port: int = self.socket.getsockname()[1]
        self.studio = Studio(self.workspace, self.token, self.port)
        config = uvicorn.Config(
            create_app(self.studio),
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
        self.server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def base(self) -> str:
        """``http://127.0.0.1:PORT`` (no token)."""
        return f"http://{HOST}:{self.port}"

    @property
    def url(self) -> str:
        """The URL to open: it carries the token."""
        return f"{self.base}/?token={self.token}"

    def serve_forever(self) -> None:
        """Serve until interrupted (Ctrl-C)."""
        try:
            self.server.run(sockets=[self.socket])
        finally:
            self.studio.jobs.close()

    def start(self) -> None:
        """Serve in a background thread; returns once it accepts connections."""
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                msg = "the studio did not start"
                raise RuntimeError(msg)
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop serving and end every run."""
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.studio.jobs.close()
        self.socket.close()

    def __enter__(self) -> StudioServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def run_studio(spec: Path | None, *, port: int, open_browser: bool) -> int:
    """``tap-builder studio``: print the URL, open a browser, serve until Ctrl-C."""
    server = StudioServer(spec, port=port)
    print(f"tap-builder studio: {server.url}", flush=True)
    print(f"working in {server.workspace.root} (Ctrl-C to stop)", flush=True)
    if open_browser:
        threading.Timer(0.5, webbrowser.open, args=(server.url,)).start()
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0
