"""Summaries, Markdown tables and the issue's targets, from the raw runs."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass

from contenders import (
    FLOOR,
    FLOOR_CONCURRENT,
    FLOOR_ORJSON,
    GENERATED,
    GENERATED_C1,
    GENERATED_C8,
    MSDK,
    SDK,
)
from measure import Measurement


@dataclass(frozen=True)
class Run:
    """One timed run of one contender on one dataset."""

    set_key: str
    dataset: str
    contender: str
    round: int
    measurement: Measurement
    expected: dict[str, int]
    #: Latency mode: the most requests the server saw in flight at once.
    in_flight: int | None = None

    @property
    def ok(self) -> bool:
        """Exit code 0 and exactly the expected records per stream."""
        m = self.measurement
        return m.exit_code == 0 and m.records == self.expected

    def problem(self) -> str:
        """Why the run is not ok ('' when it is)."""
        m = self.measurement
        if m.exit_code != 0:
            return f"exit code {m.exit_code}"
        if m.records != self.expected:
            return f"emitted {m.records}, expected {self.expected}"
        return ""


@dataclass(frozen=True)
class Summary:
    """Every run of one contender on one dataset, reduced."""

    set_key: str
    dataset: str
    contender: str
    runs: list[Run]

    @property
    def walls(self) -> list[float]:
        """Wall seconds of each run."""
        return [r.measurement.wall_s for r in self.runs]

    @property
    def wall(self) -> float:
        """Median wall seconds."""
        return statistics.median(self.walls)

    @property
    def cpu(self) -> float:
        """Median CPU (user + system) seconds."""
        return statistics.median(r.measurement.cpu_s for r in self.runs)

    @property
    def rss_mb(self) -> float:
        """Peak RSS over the runs, in MB."""
        return max(r.measurement.max_rss_kb for r in self.runs) / 1024

    @property
    def records(self) -> int:
        """Records the last run emitted."""
        return self.runs[-1].measurement.total_records

    @property
    def ok(self) -> bool:
        """Every run emitted the expected records and exited 0."""
        return all(r.ok for r in self.runs)

    @property
    def in_flight(self) -> int | None:
        """The most requests in flight in any run (latency mode)."""
        found = [r.in_flight for r in self.runs if r.in_flight is not None]
        return max(found) if found else None


def summarize(runs: Iterable[Run]) -> list[Summary]:
    """One summary per (set, dataset, contender), in first-seen order."""
    grouped: dict[tuple[str, str, str], list[Run]] = {}
    for run in runs:
        grouped.setdefault((run.set_key, run.dataset, run.contender), []).append(run)
    return [Summary(*key, group) for key, group in grouped.items()]


def find(summaries: list[Summary], dataset: str, contender: str) -> Summary | None:
    """The summary of ``contender`` on ``dataset`` (None if it did not run)."""
    for summary in summaries:
        if summary.dataset == dataset and summary.contender == contender:
            return summary
    return None


def ratio(a: Summary | None, b: Summary | None) -> float | None:
    """Median wall of ``a`` over that of ``b``."""
    if a is None or b is None or b.wall <= 0:
        return None
    return a.wall / b.wall


def rate(records: int, wall: float) -> str:
    """Records per second, or n/a for a run without a wall time."""
    return f"{records / wall:,.0f}" if wall > 0 else "n/a"


def _x(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


# --------------------------------------------------------------------------- #
# Markdown
# --------------------------------------------------------------------------- #

SET_HEADER = (
    "| contender | records | median wall s | min-max wall s | records/s | CPU s "
    "| peak RSS MB | x floor (wall) | x floor-orjson (wall) |\n"
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def set_table(summaries: list[Summary], dataset: str) -> str:
    """The Markdown table of one dataset's contenders."""
    rows = [s for s in summaries if s.dataset == dataset]
    floor, floor_orjson = find(rows, dataset, FLOOR), find(rows, dataset, FLOOR_ORJSON)
    lines = [SET_HEADER]
    for s in rows:
        records = f"{s.records:,}" + ("" if s.ok else " ⚠")
        lines.append(
            f"| {s.contender} | {records} | {s.wall:.2f} "
            f"| {min(s.walls):.2f}-{max(s.walls):.2f} | {rate(s.records, s.wall)} "
            f"| {s.cpu:.2f} | {s.rss_mb:.0f} | {_x(ratio(s, floor))} "
            f"| {_x(ratio(s, floor_orjson))} |"
        )
    return "\n".join(lines)


LATENCY_HEADER = (
    "| contender | records | median wall s | min-max wall s | max in flight "
    "| CPU s | peak RSS MB | x floor-concurrent (wall) | speed-up vs sdk-handwritten |\n"
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def latency_table(summaries: list[Summary], dataset: str) -> str:
    """The Markdown table of one latency-mode dataset."""
    rows = [s for s in summaries if s.dataset == dataset]
    concurrent = find(rows, dataset, FLOOR_CONCURRENT)
    sdk = find(rows, dataset, SDK)
    lines = [LATENCY_HEADER]
    for s in rows:
        records = f"{s.records:,}" + ("" if s.ok else " ⚠")
        flight = "n/a" if s.in_flight is None else str(s.in_flight)
        lines.append(
            f"| {s.contender} | {records} | {s.wall:.2f} "
            f"| {min(s.walls):.2f}-{max(s.walls):.2f} | {flight} | {s.cpu:.2f} "
            f"| {s.rss_mb:.0f} | {_x(ratio(s, concurrent))} "
            f"| {_x(_speedup(sdk, s))} |"
        )
    return "\n".join(lines)


@dataclass(frozen=True)
class MemoryRow:
    """Peak RSS of one contender on the small and the large dataset."""

    contender: str
    small: Summary
    large: Summary

    @property
    def growth_pct(self) -> float:
        """RSS growth from the small to the large dataset, in percent."""
        if self.small.rss_mb <= 0:
            return float("nan")
        return (self.large.rss_mb / self.small.rss_mb - 1) * 100


def memory_rows(
    summaries: list[Summary], small: str, large: str, contenders: Iterable[str]
) -> list[MemoryRow]:
    """Memory rows for the contenders that ran on both datasets."""
    rows = []
    for contender in contenders:
        a, b = find(summaries, small, contender), find(summaries, large, contender)
        if a is not None and b is not None:
            rows.append(MemoryRow(contender, a, b))
    return rows


def memory_table(rows: list[MemoryRow], small_label: str, large_label: str) -> str:
    """Markdown table of the memory rows."""
    lines = [
        f"| contender | peak RSS MB at {small_label} | peak RSS MB at {large_label} "
        f"| growth | wall s at {large_label} | records/s at {large_label} |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        flag = "" if row.small.ok and row.large.ok else " ⚠"
        small, large = row.small.rss_mb, row.large.rss_mb
        lines.append(
            f"| {row.contender}{flag} | {small:.1f} | {large:.1f} "
            f"| {row.growth_pct:+.1f}% | {row.large.wall:.2f} "
            f"| {rate(row.large.records, row.large.wall)} |"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------- #
# Targets
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Target:
    """One target of the issue and how this run did against it."""

    label: str
    value: float | None
    limit: float
    unit: str
    at_most: bool = True

    @property
    def passed(self) -> bool | None:
        """True / False, or None when the numbers are missing."""
        if self.value is None:
            return None
        return self.value <= self.limit if self.at_most else self.value >= self.limit

    @property
    def verdict(self) -> str:
        """PASS, MISS or n/a."""
        return {True: "PASS", False: "MISS", None: "n/a"}[self.passed]

    def line(self) -> str:
        """``PASS  label: value (target ≤ limit)``."""
        shown = "not measured" if self.value is None else f"{self.value:.2f}{self.unit}"
        goal = f"{'≤' if self.at_most else '≥'} {self.limit:g}{self.unit}"
        return f"{self.verdict:4}  {self.label}: {shown} (target {goal})"


def _speedup(slow: Summary | None, fast: Summary | None) -> float | None:
    return None if slow is None or fast is None else slow.wall / fast.wall


def targets(
    summaries: list[Summary],
    memory: list[MemoryRow],
    generation_s: float | None,
    datasets: dict[str, str],
) -> list[Target]:
    """The issue's targets; ``datasets`` names the p1000 and parent-child datasets."""
    p1000, pc = datasets["p1000"], datasets["pc"]
    generated = find(summaries, p1000, GENERATED)
    growth = next((r.growth_pct for r in memory if r.contender == GENERATED), None)
    return [
        Target(
            "100k p1000: generated vs floor (wall)",
            ratio(generated, find(summaries, p1000, FLOOR)),
            1.0,
            "x",
        ),
        Target(
            "100k p1000: generated vs floor-orjson (wall)",
            ratio(generated, find(summaries, p1000, FLOOR_ORJSON)),
            1.8,
            "x",
        ),
        Target(
            "100k p1000: generated speed-up over sdk-handwritten",
            _speedup(find(summaries, p1000, SDK), generated),
            4.0,
            "x",
            at_most=False,
        ),
        Target(
            "100k p1000: generated speed-up over tap-rest-api-msdk",
            _speedup(find(summaries, p1000, MSDK), generated),
            4.0,
            "x",
            at_most=False,
        ),
        Target(
            "parent-child: generated vs floor (wall)",
            ratio(find(summaries, pc, GENERATED), find(summaries, pc, FLOOR)),
            2.0,
            "x",
        ),
        Target("memory: generated peak RSS growth 10k → 1M", growth, 10.0, "%"),
        Target("generation: 100-stream spec, best of 3", generation_s, 1.0, " s"),
    ]


def latency_targets(
    summaries: list[Summary], memory: list[MemoryRow], datasets: dict[str, str]
) -> list[Target]:
    """The latency-mode targets (100 ms per request)."""
    items, pc = datasets["latency_items"], datasets["latency_pc"]
    c8 = find(summaries, items, GENERATED_C8)
    growth = next((r.growth_pct for r in memory if r.contender == GENERATED_C8), None)
    c1, plain = find(summaries, items, GENERATED_C1), find(summaries, items, SDK)
    return [
        Target(
            "latency 50 pages: generated-c8 vs floor-concurrent (wall)",
            ratio(c8, find(summaries, items, FLOOR_CONCURRENT)),
            1.5,
            "x",
        ),
        Target(
            "latency 50 pages: generated-c8 speed-up over sdk-handwritten",
            _speedup(find(summaries, items, SDK), c8),
            4.0,
            "x",
            at_most=False,
        ),
        Target(
            "latency parent-child: generated-c8 speed-up over sdk-handwritten",
            _speedup(find(summaries, pc, SDK), find(summaries, pc, GENERATED_C8)),
            5.0,
            "x",
            at_most=False,
        ),
        Target(
            "latency 50 pages: generated-c1 vs sdk-handwritten (no worse, wall)",
            ratio(c1, plain),
            1.0,
            "x",
        ),
        Target(
            "latency memory: generated-c8 peak RSS growth 1k → 100k",
            growth,
            10.0,
            "%",
        ),
    ]
