"""Run one contender as a child process and measure it.

``spawn.py`` starts the contender and measures it: wall time from ``perf_counter``
around spawn and reaping, CPU time (user + system) and peak RSS from ``os.wait4``'s
resource usage of that child alone. The child writes its Singer messages to a
file; RECORD lines are counted per stream only after the clock has stopped.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_RECORD = re.compile(rb'^\{\s*"type"\s*:\s*"RECORD"\s*,\s*"stream"\s*:\s*"([^"]+)"')
SPAWN = Path(__file__).resolve().with_name("spawn.py")
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

    The command runs under ``spawn.py`` (see there why), in its own process group,
    so a run that outlives ``timeout_s``, or a benchmark that is interrupted, takes
    the whole group down. stderr goes to ``<workdir>/<name>.stderr``. A killed run
    is reported with the launcher's exit code (-9) and no CPU or memory figures.
    """
    out_path, err_path = workdir / f"{name}.jsonl", workdir / f"{name}.stderr"
    result_path = workdir / f"{name}.usage.json"
    launcher = [sys.executable, "-I", "-S", str(SPAWN), str(result_path)]
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            [*launcher, *command],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            cwd=workdir,
            env=child_env(),
            start_new_session=True,
        )
        _wait_or_kill(process, timeout_s)
        elapsed = time.perf_counter() - started
    usage = _read_usage(result_path, elapsed, process.returncode)
    records = count_records(out_path)
    size = out_path.stat().st_size
    out_path.unlink()  # outputs of the 1M-record runs are large
    return Measurement(**usage, records=records, output_bytes=size)


def _wait_or_kill(process: subprocess.Popen[bytes], timeout_s: float) -> None:
    """Wait for the launcher; kill its whole group on timeout or interruption."""
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _kill_group(process)
    except BaseException:  # KeyboardInterrupt, SIGTERM: leave nothing running
        _kill_group(process)
        raise


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _read_usage(path: Path, elapsed: float, launcher_exit: int) -> dict[str, Any]:
    """The launcher's report; without one (killed, crashed), what is known."""
    try:
        usage: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {
            "wall_s": elapsed,
            "user_s": 0.0,
            "sys_s": 0.0,
            "max_rss_kb": 0,
            "exit_code": launcher_exit or -1,
        }
    return usage


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
