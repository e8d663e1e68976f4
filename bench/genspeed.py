"""Generation speed: how long tap-builder takes to turn a 100-stream spec into a tap.

The spec is ``bench/items.yaml`` with its one stream copied 100 times (distinct
names, ids and paths), written as YAML, the format users write. One measurement
is the whole in-process pipeline: ``validate_spec(load_spec(...))``,
``render_package`` and ``write_package`` into a fresh folder.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import tap_builder

_NAME = "  - name: Items\n"
_ID = "    id: items\n"
_PATH = "    path: /{config.dataset}/items\n"


@dataclass(frozen=True)
class GenerationTiming:
    """Seconds per attempt, and what one attempt produced."""

    streams: int
    seconds: list[float]
    files: int

    @property
    def best_s(self) -> float:
        """The fastest attempt."""
        return min(self.seconds)


def many_stream_spec(items_spec: Path, streams: int) -> str:
    """The text of ``items_spec`` with its one stream repeated ``streams`` times."""
    text = items_spec.read_text(encoding="utf-8")
    head, stream = text.split("streams:\n", 1)
    if not all(marker in stream for marker in (_NAME, _ID, _PATH)):
        msg = f"{items_spec}: its stream no longer has the name/id/path lines to copy"
        raise ValueError(msg)
    copies = [
        stream.replace(_NAME, f"  - name: Items {n:03d}\n")
        .replace(_ID, f"    id: items_{n:03d}\n")
        .replace(_PATH, f"    path: /{{config.dataset}}/items_{n:03d}\n")
        for n in range(streams)
    ]
    return head + "streams:\n" + "".join(copies)


def generate_once(spec: Path, out_dir: Path) -> int:
    """Load, validate, render and write; return the number of files written."""
    connector = tap_builder.validate_spec(tap_builder.load_spec(spec))
    files = tap_builder.render_package(connector)
    return len(tap_builder.write_package(files, out_dir))


def time_generation(
    items_spec: Path, workdir: Path, streams: int = 100, attempts: int = 3
) -> GenerationTiming:
    """Time ``attempts`` generations of a ``streams``-stream spec under ``workdir``."""
    spec = workdir / "spec-100-streams.yaml"
    spec.write_text(many_stream_spec(items_spec, streams), encoding="utf-8")
    seconds: list[float] = []
    files = 0
    for attempt in range(attempts):
        started = time.perf_counter()
        files = generate_once(spec, workdir / f"tap-{attempt}")
        seconds.append(time.perf_counter() - started)
    return GenerationTiming(streams=streams, seconds=seconds, files=files)
