"""Background runs (Test, live infer): a child process each, progress, cancel."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import threading
import time
import typing as t
from dataclasses import dataclass, field

#: The longest a run may take before it is ended (a hung API).
MAX_SECONDS = 300


@dataclass
class Job:
    """One run: its process, what it reported so far, and its result."""

    id: str
    kind: str
    stream: str
    process: subprocess.Popen[str]
    started: float = field(default_factory=time.monotonic)
    responses: int = 0
    state: str = "running"  # running, done, cancelled, failed
    result: dict[str, t.Any] | None = None
    ended: float | None = None

    def status(self) -> dict[str, t.Any]:
        """JSON-ready status: state, the progress line and (when done) the result."""
        elapsed = (self.ended or time.monotonic()) - self.started
        plural = "" if self.responses == 1 else "s"
        progress = (
            f"{self.kind} {self.stream!r}: {self.responses} response{plural} "
            f"in {elapsed:.1f} s"
        )
        if self.state == "cancelled":
            progress += " (cancelled)"
        return {
            "id": self.id,
            "kind": self.kind,
            "stream": self.stream,
            "state": self.state,
            "progress": progress,
            "result": self.result,
        }


class Jobs:
    """The runs of one studio, by id."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def start(self, kind: str, stream: str, payload: dict[str, t.Any]) -> Job:
        """Start a worker process for ``payload`` (it holds the test config)."""
        process = subprocess.Popen(
            [sys.executable, "-m", "tap_builder.studio.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        job = Job(id=secrets.token_hex(8), kind=kind, stream=stream, process=process)
        with self._lock:
            self._jobs[job.id] = job
        threading.Thread(target=self._watch, args=(job, payload), daemon=True).start()
        return job

    def get(self, job_id: str) -> Job | None:
        """The job with this id, if any."""
        with self._lock:
            return self._jobs.get(job_id)

    def cancel(self, job_id: str) -> Job | None:
        """End the job's process; its state becomes ``cancelled``."""
        job = self.get(job_id)
        if job is not None and job.state == "running":
            job.state = "cancelled"
            job.process.kill()
        return job

    def close(self) -> None:
        """End every running process (the studio is stopping)."""
        with self._lock:
            running = [j for j in self._jobs.values() if j.state == "running"]
        for job in running:
            job.state = "cancelled"
            job.process.kill()

    def _watch(self, job: Job, payload: dict[str, t.Any]) -> None:
        process = job.process
        assert process.stdin is not None  # noqa: S101 - pipes were asked for
        assert process.stdout is not None  # noqa: S101
        assert process.stderr is not None  # noqa: S101
        timer = threading.Timer(MAX_SECONDS, process.kill)
        timer.start()
        try:
            try:
                process.stdin.write(json.dumps(payload))
                process.stdin.close()
            except OSError:  # the process ended already (cancelled)
                pass
            errors: list[str] = []
            for line in process.stderr:
                if line.startswith("progress "):
                    job.responses = int(line.split()[1])
                else:
                    errors.append(line.rstrip())
            output = process.stdout.read()
            process.wait()
        finally:
            timer.cancel()
            for pipe in (process.stdin, process.stdout, process.stderr):
                pipe.close()
        job.ended = time.monotonic()
        if job.state == "cancelled":
            return
        try:
            job.result = json.loads(output)
            job.state = "done"
        except ValueError:
            job.state = "failed"
            last = errors[-1] if errors else f"exit code {process.returncode}"
            job.result = {"ok": False, "error": f"the run stopped: {last}"}
