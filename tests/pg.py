"""A throwaway PostgreSQL cluster for end-to-end tests.

:func:`postgres_cluster` runs ``initdb`` in a fresh temporary directory, starts
``postgres`` on a free 127.0.0.1 port (its Unix socket in the same directory,
fsync off), waits a bounded time until it answers, and on exit stops the
postmaster named in ``postmaster.pid`` and removes the directory, whatever
happened in between. Run as root, the server runs as the ``postgres`` OS user
(PostgreSQL refuses root). Password logins over TCP use SCRAM, so a client has
to send the right password; the ``postgres`` superuser logs in over the socket.

The server binaries come from ``$TAP_BUILDER_PG_BIN``, else the newest
``/usr/lib/postgresql/<version>/bin``, else ``$PATH``. Without them the caller
fails with a message saying what to install: these tests never skip.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

#: How long the server may take to accept connections, and to shut down.
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
#: The OS user a root test process runs the server as.
SERVER_USER = "postgres"


@dataclass
class PostgresCluster:
    """A running cluster: where it lives, its port, and a ``psql`` client."""

    bin_dir: Path
    root: Path
    port: int
    process: subprocess.Popen[bytes]
    host: str = "127.0.0.1"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "postgres.log"

    def psql(self, sql: str, *, database: str = "postgres") -> str:
        """Run SQL as the superuser over the Unix socket; the unaligned output."""
        result = subprocess.run(
            [
                str(self.bin_dir / "psql"),
                "--no-psqlrc",
                "--no-align",
                "--tuples-only",
                "--set=ON_ERROR_STOP=1",
                f"--host={self.root}",
                f"--port={self.port}",
                "--username=postgres",
                f"--dbname={database}",
                "--command",
                sql,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "PGCONNECT_TIMEOUT": "10"},
        )
        assert result.returncode == 0, f"psql failed: {sql}\n{result.stderr}"
        return result.stdout

    def query(self, sql: str, *, database: str = "postgres") -> list[dict[str, Any]]:
        """The rows of a SELECT, as JSON objects (types as PostgreSQL's JSON)."""
        wrapped = f"SELECT coalesce(json_agg(q), '[]'::json) FROM ({sql}) AS q"  # noqa: S608
        rows: list[dict[str, Any]] = json.loads(self.psql(wrapped, database=database))
        return rows

    def postmaster_pid(self) -> int | None:
        """The pid in ``postmaster.pid`` (its first line), if the file is there."""
        try:
            first = (self.data_dir / "postmaster.pid").read_text().splitlines()[0]
        except (FileNotFoundError, IndexError):
            return None
        return int(first)

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_file.read_text(errors="replace")
        except FileNotFoundError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])


def postgres_bin_dir(installs: Path = Path("/usr/lib/postgresql")) -> Path:
    """The directory holding ``initdb``, ``postgres`` and ``psql``."""
    candidates: list[Path] = []
    if configured := os.environ.get("TAP_BUILDER_PG_BIN"):
        candidates.append(Path(configured))
    versions = sorted(
        installs.glob("*/bin"),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates += versions
    if found := shutil.which("initdb"):
        candidates.append(Path(found).parent)
    for candidate in candidates:
        if all((candidate / name).is_file() for name in ("initdb", "postgres", "psql")):
            return candidate
    pytest.fail(
        "PostgreSQL server binaries (initdb, postgres, psql) not found in "
        f"{[str(c) for c in candidates] or '/usr/lib/postgresql/*/bin or $PATH'}; "
        "install the PostgreSQL server (e.g. `apt-get install postgresql`) or set "
        "TAP_BUILDER_PG_BIN to its bin directory",
        pytrace=False,
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _run_as() -> dict[str, Any]:
    """subprocess arguments that drop root to the server's OS user."""
    if os.geteuid() != 0:
        return {}
    try:
        account = pwd.getpwnam(SERVER_USER)
    except KeyError:
        pytest.fail(
            f"running as root, but there is no {SERVER_USER!r} OS user to run the "
            "PostgreSQL server as (PostgreSQL refuses to run as root)",
            pytrace=False,
        )
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}


def _initdb(bin_dir: Path, root: Path, password: str) -> None:
    password_file = root / "superuser-password"
    password_file.write_text(password + "\n")
    result = subprocess.run(
        [
            str(bin_dir / "initdb"),
            f"--pgdata={root / 'data'}",
            "--username=postgres",
            f"--pwfile={password_file}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
            "--no-instructions",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=root,
        **_run_as(),
    )
    password_file.unlink()
    assert result.returncode == 0, f"initdb failed:\n{result.stdout}\n{result.stderr}"


def _wait_until_ready(cluster: PostgresCluster) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if cluster.process.poll() is not None:
            pytest.fail(
                f"postgres exited with {cluster.process.returncode} while starting:\n"
                + cluster.log_tail(),
                pytrace=False,
            )
        ready = subprocess.run(
            [
                str(cluster.bin_dir / "pg_isready"),
                f"--host={cluster.host}",
                f"--port={cluster.port}",
                "--timeout=2",
                "--quiet",
            ],
            timeout=10,
            check=False,
        )
        if ready.returncode == 0:
            return
        if time.monotonic() > deadline:
            pytest.fail(
                f"postgres did not accept connections within {START_TIMEOUT:.0f} s:\n"
                + cluster.log_tail(),
                pytrace=False,
            )
        time.sleep(0.1)


def _stop(cluster: PostgresCluster) -> None:
    """Fast shutdown of the postmaster named in postmaster.pid, then SIGKILL."""
    if cluster.process.poll() is not None:
        return
    # The file names the postmaster; it is the process started here (postgres
    # runs in the foreground), so both are the same pid unless something is off.
    pids = {cluster.process.pid, cluster.postmaster_pid() or cluster.process.pid}
    for how in (signal.SIGINT, signal.SIGKILL):
        for pid in pids:
            with suppress(ProcessLookupError):
                os.kill(pid, how)
        try:
            cluster.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            continue
        return


@contextmanager
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A new cluster for the duration of the ``with`` block (see the module doc)."""
    bin_dir = postgres_bin_dir()
    # Not under pytest's tmp_path: its parents are private to root, and the
    # server's OS user must reach the data and socket directories.
    root = Path(tempfile.mkdtemp(prefix="tap-builder-pg-"))
    try:
        run_as = _run_as()
        if run_as:
            os.chown(root, run_as["user"], run_as["group"])
        _initdb(bin_dir, root, secrets.token_urlsafe(16))
        port = _free_port()
        with (root / "postgres.log").open("wb") as log:
            process = subprocess.Popen(
                [
                    str(bin_dir / "postgres"),
                    "-D",
                    str(root / "data"),
                    "-p",
                    str(port),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    f"unix_socket_directories={root}",
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=root,
                start_new_session=True,
                **run_as,
            )
        cluster = PostgresCluster(
            bin_dir=bin_dir, root=root, port=port, process=process
        )
        try:
            _wait_until_ready(cluster)
            yield cluster
        finally:
            _stop(cluster)
    finally:
        shutil.rmtree(root, ignore_errors=True)
