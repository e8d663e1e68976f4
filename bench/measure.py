"""Run one contender as a child process and measure it.

Wall time comes from ``perf_counter`` around start and reaping; CPU time (user +
system) and peak RSS from ``os.wait4``'s resource usage of that child alone. The
child writes its Singer messages to a file; RECORD lines are counted per stream
only after the clock has stopped.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

_RECORD = re.compile(rb'^\{\s*"type"\s*:\s*"RECORD"\s*,\s*"stream"\s*:\s*"([^"]+)"')
_PROXY_VARS = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}


@dataclass(frozen=True)
class Measurement:
    """What one run of one contender cost and produced."""

    wall_s: float
    user_s: float
    sys_s: float
    max_rss_kb: int
    exit_code: int
    records: dict[str, int]
    output_bytes: int

    @property
    def cpu_s(self) -> float:
        """User plus system CPU seconds."""
        return self.user_s + self.sys_s

    @property
    def total_records(self) -> int:
        """Records over all streams."""
        return sum(self.records.values())


def child_env() -> dict[str, str]:
    """This process's environment without proxy settings (loopback goes direct)."""
    return {k: v for k, v in os.environ.items() if k.lower() not in _PROXY_VARS}


def run_measured(
    command: list[str], workdir: Path, name: str, timeout_s: float
) -> Measurement:
    """Run ``command`` with stdout to ``<workdir>/<name>.jsonl``; measure it.

    stderr goes to ``<workdir>/<name>.stderr``. A run that outlives ``timeout_s``
    is killed (and reported with its signal as a negative exit code).
    """
    out_path, err_path = workdir / f"{name}.jsonl", workdir / f"{name}.stderr"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            cwd=workdir,
            env=child_env(),
        )
        status, usage = _reap(process, timeout_s)
        wall = time.perf_counter() - started
    records = count_records(out_path)
    size = out_path.stat().st_size
    out_path.unlink()  # outputs of the 1M-record runs are large
    return Measurement(
        wall_s=wall,
        user_s=usage.ru_utime,
        sys_s=usage.ru_stime,
        max_rss_kb=usage.ru_maxrss,
        exit_code=os.waitstatus_to_exitcode(status),
        records=records,
        output_bytes=size,
    )


def _reap(
    process: subprocess.Popen[bytes], timeout_s: float
) -> tuple[int, os.struct_rusage]:
    """Wait for ``process`` with ``wait4`` (killing it after ``timeout_s``)."""
    lock = threading.Lock()
    reaped = False

    def kill() -> None:
        with lock:
            if not reaped:
                process.kill()

    timer = threading.Timer(timeout_s, kill)
    timer.start()
    try:
        _, status, usage = os.wait4(process.pid, 0)
        with lock:
            reaped = True
    finally:
        timer.cancel()
        if not reaped:  # interrupted: do not leave the child running
            kill()
            _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return status, usage


def count_records(path: Path) -> dict[str, int]:
    """RECORD messages per stream in a Singer messages file."""
    counts: Counter[str] = Counter()
    with path.open("rb") as lines:
        for line in lines:
            if match := _RECORD.match(line):
                counts[match.group(1).decode()] += 1
            elif b'"RECORD"' in line:  # another key order or spacing
                message = json.loads(line)
                if message.get("type") == "RECORD":
                    counts[message["stream"]] += 1
    return dict(counts)


def stderr_tail(workdir: Path, name: str, lines: int = 15) -> str:
    """The last lines a run wrote to stderr."""
    path = workdir / f"{name}.stderr"
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])
