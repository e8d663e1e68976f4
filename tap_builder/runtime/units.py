"""Running the units of a ``parallel_streams`` sync as child processes.

:mod:`.parallel` decides what runs (the units and their catalogs); this module
runs them: one child process per unit, at most the configured number at once,
their output passed on as whole lines, their STATE merged, and every child
stopped when one fails.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import typing as t
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from .budget import BUDGET_SHARE_ENV
from .cli import _option_values
from .jsonio import decode_json

if t.TYPE_CHECKING:
    from types import FrameType

    from .parallel import ParallelStreamsTap

#: Set in the environment of a child process: it syncs its unit itself.
CHILD_ENV = "TAP_PARALLEL_UNIT"
#: Seconds a stopped child may take to exit before it is killed.
STOP_SECONDS = 5.0
#: Output chunks waiting to be written (bounds memory when stdout is slow).
_QUEUE_CHUNKS = 64
_ENCODER = msgspec.json.Encoder(decimal_format="number")
_STATE_MARK = b'"STATE"'


class StreamsFailedError(Exception):
    """A unit's child process failed; the message names its stream."""


@dataclass
class Unit:
    """A top-level stream with its child streams, synced by one child process."""

    streams: tuple[str, ...]
    process: subprocess.Popen[bytes] | None = None
    bookmarks: dict[str, t.Any] = field(default_factory=dict)
    threads: list[threading.Thread] = field(default_factory=list)
    last_error: str = ""

    @property
    def name(self) -> str:
        """The top-level stream's id."""
        return self.streams[0]


def write_private(path: Path, data: bytes) -> None:
    """Write a new file only its owner can read (0600; never an existing one)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


class Runner:
    """Runs the units' child processes and merges what they write."""

    def __init__(
        self,
        tap: ParallelStreamsTap,
        units: list[Unit],
        width: int,
        input_state: dict[str, t.Any],
    ) -> None:
        """Run ``units`` of ``tap``, ``width`` at once, from ``input_state``."""
        self.tap = tap
        self.units = units
        self.width = width
        self.input_state = input_state
        self.lines: queue.Queue[tuple[int, list[bytes] | None]] = queue.Queue(
            _QUEUE_CHUNKS
        )
        self.out = sys.stdout.buffer
        self.err_lock = threading.Lock()
        self.last_state: bytes | None = None
        self.stopping = threading.Event()

    # -- the run ------------------------------------------------------------- #

    def run(self) -> str | None:
        """Sync every unit, at most ``width`` at once; why it failed, or None.

        When a child process fails, the others are stopped first.
        """
        sys.stdout.flush()
        previous = {
            signum: signal.signal(signum, self._on_signal)
            for signum in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            with tempfile.TemporaryDirectory(prefix="tap-parallel-") as folder:
                self._run_in(Path(folder))
        except StreamsFailedError as exc:
            return str(exc)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        return None

    def _run_in(self, folder: Path) -> None:
        commands = self._commands(folder)
        waiting = list(range(len(self.units)))
        running: set[int] = set()
        try:
            while waiting or running:
                while waiting and len(running) < self.width:
                    index = waiting.pop(0)
                    self._start(index, commands[index])
                    running.add(index)
                if self.lines.empty():
                    self.out.flush()
                index, chunk = self.lines.get()
                if chunk is not None:
                    self._forward(self.units[index], chunk)
                    continue
                running.discard(index)
                self._finish(self.units[index])
        finally:
            self.out.flush()
            self._stop_all()

    def _commands(self, folder: Path) -> list[list[str]]:
        package = type(self.tap).__module__.split(".")[0]
        base = [sys.executable, "-m", package]
        for value in _option_values(sys.argv[1:], "--config"):
            base += ["--config", value]
        if self.input_state:
            state_file = folder / "state.json"
            write_private(state_file, _ENCODER.encode(self.input_state))
            base += ["--state", str(state_file)]
        commands = []
        for number, unit in enumerate(self.units):
            catalog_file = folder / f"catalog-{number}.json"
            write_private(catalog_file, _ENCODER.encode(self.tap.unit_catalog(unit)))
            commands.append([*base, "--catalog", str(catalog_file)])
        return commands

    def _start(self, index: int, command: list[str]) -> None:
        unit = self.units[index]
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={
                **os.environ,
                CHILD_ENV: unit.name,
                BUDGET_SHARE_ENV: str(self.width),
            },
        )
        unit.process = process
        unit.threads = [
            threading.Thread(
                target=self._read_output, args=(index, process), daemon=True
            ),
            threading.Thread(target=self._pass_errors, args=(unit,), daemon=True),
        ]
        for thread in unit.threads:
            thread.start()

    def _finish(self, unit: Unit) -> None:
        """A unit's output ended: its process's exit decides how the sync goes on.

        Raises:
            StreamsFailedError: when it failed.
        """
        assert unit.process is not None  # noqa: S101
        code = unit.process.wait()
        for thread in unit.threads:
            thread.join()
        if code != 0:
            self.stopping.set()
            children = unit.streams[1:]
            family = f" (with {', '.join(children)})" if children else ""
            reason = unit.last_error or f"exit code {code}"
            msg = (
                f"stream {unit.name}{family} failed and the other streams were "
                f"stopped: {reason}"
            )
            raise StreamsFailedError(msg)

    # -- output -------------------------------------------------------------- #

    def _read_output(self, index: int, process: subprocess.Popen[bytes]) -> None:
        """Put the child's standard output on the queue, as whole lines."""
        assert process.stdout is not None  # noqa: S101
        pipe = t.cast("t.BinaryIO", process.stdout)
        rest = b""
        while chunk := pipe.read1(1 << 16):  # type: ignore[attr-defined]
            *lines, rest = (rest + chunk).split(b"\n")
            if lines and not self._put(index, lines):
                break
        else:
            if rest:
                self._put(index, [rest])
        for _ in pipe:  # a stopped child: let it finish writing
            pass
        self._put(index, None)

    def _put(self, index: int, chunk: list[bytes] | None) -> bool:
        while not self.stopping.is_set():
            try:
                self.lines.put((index, chunk), timeout=0.1)
            except queue.Full:
                continue
            return True
        return False

    def _pass_errors(self, unit: Unit) -> None:
        """Copy the child's standard error to ours, line by line."""
        assert unit.process is not None  # noqa: S101
        assert unit.process.stderr is not None  # noqa: S101
        err = sys.stderr.buffer
        for line in unit.process.stderr:
            if line.strip():
                unit.last_error = message_of(line)
            with self.err_lock:
                err.write(line)
                err.flush()

    def _forward(self, unit: Unit, lines: list[bytes]) -> None:
        out = self.out
        for line in lines:
            if _STATE_MARK in line[:32] and self._is_state(unit, line):
                self._write_state()
            elif line.strip():
                out.write(line + b"\n")

    def _is_state(self, unit: Unit, line: bytes) -> bool:
        """Whether ``line`` is a STATE message (its unit's bookmarks are kept)."""
        try:
            message = decode_json(line)
        except ValueError:
            return False
        if not isinstance(message, dict) or message.get("type") != "STATE":
            return False
        value = message.get("value")
        bookmarks = value.get("bookmarks") if isinstance(value, dict) else None
        if isinstance(bookmarks, dict):
            unit.bookmarks = {
                name: bookmarks[name] for name in unit.streams if name in bookmarks
            }
        return True

    def _write_state(self) -> None:
        """The merged STATE: input state, each unit's streams as its child has them."""
        value = dict(self.input_state)
        bookmarks = dict(value.get("bookmarks") or {})
        for unit in self.units:
            bookmarks.update(unit.bookmarks)
        value["bookmarks"] = bookmarks
        line = _ENCODER.encode({"type": "STATE", "value": value})
        if line != self.last_state:
            self.last_state = line
            self.out.write(line + b"\n")
            self.out.flush()

    # -- stopping ------------------------------------------------------------ #

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        del frame
        name = signal.Signals(signum).name
        msg = f"stopped by {name}: the streams' processes were stopped"
        self.stopping.set()
        raise StreamsFailedError(msg)

    def _stop_all(self) -> None:
        """Stop every child still running; join every thread."""
        self.stopping.set()
        live = [u.process for u in self.units if u.process and u.process.poll() is None]
        for process in live:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
        for process in live:
            try:
                process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for unit in self.units:
            for thread in unit.threads:
                thread.join(timeout=STOP_SECONDS)


def message_of(line: bytes) -> str:
    """A log line's message: the text after the SDK's ``|`` separated fields."""
    text = line.decode("utf-8", "replace").strip()
    return text.rsplit(" | ", 1)[-1][:300]
