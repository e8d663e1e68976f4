"""The benchmark output: ``latest.md`` (tables) and ``latest.json`` (every run)."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import reporting
from genspeed import GenerationTiming
from plan import (
    LATENCY_ITEMS,
    LATENCY_MEMORY,
    LATENCY_S,
    MEMORY_LARGE,
    MEMORY_SMALL,
    TARGET_DATASETS,
    BenchSet,
)
from datagen import PC100_DATASET

NOTES = (
    "Medians of the runs; each round runs the contenders one at a time, in an "
    "order rotated every round. CPU is user + system time of the tap process and "
    "peak RSS its maximum resident set, both from wait4 in a small launcher "
    "(bench/spawn.py), so the benchmark's own size does not leak into them.",
    "floor / floor-orjson: requests page loop, one JSON parse per page, one "
    "RECORD line per record, buffered stdout; no schema conformance or state.",
    "tap-rest-api-msdk runs on the singer-sdk it pins, with page_number_paginator "
    "(next_page_token_path $.page, ?page=N from 1, stops at the empty page) and a "
    "flat schema given in its config: it flattens nested objects and dumps lists "
    "to JSON strings. It has no parent-child streams.",
    "Ratios compare contenders measured in the same sitting; absolute seconds "
    "depend on the machine and on whatever else it is doing.",
    f"Latency mode: a stdlib ThreadingHTTPServer in the benchmark process answers "
    f"every request {LATENCY_S * 1000:.0f} ms late (the same page files) and counts "
    "the requests in flight. floor-concurrent is floor.py with a pool of 8 threads "
    "(8 pages ahead, stopping at the first empty page; a page's children "
    "together), written in sequential order. generated-c1 / -c8 are the taps "
    "generated from items.yaml and pc.yaml plus max_concurrency: 8, run with the "
    "max_concurrency setting at 1 and 8. Airbyte's concurrent runtime is not "
    "measured.",
)


def machine_info(server_version: str) -> dict[str, Any]:
    """Where and when the benchmark ran."""
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "platform": platform.platform(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "server": server_version,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


@dataclass
class Report:
    """Everything one benchmark run measured, and how it was run."""

    machine: dict[str, Any]
    versions: dict[str, dict[str, str]]
    options: dict[str, Any]
    sets: list[BenchSet]
    runs: list[reporting.Run]
    generation: GenerationTiming | None
    elapsed_s: float = 0.0
    summaries: list[reporting.Summary] = field(init=False)
    memory: list[reporting.MemoryRow] = field(init=False)
    latency_memory: list[reporting.MemoryRow] = field(init=False)
    targets: list[reporting.Target] = field(init=False)

    def __post_init__(self) -> None:
        self.summaries = reporting.summarize(self.runs)
        memory_contenders = next(
            (s.contenders for s in self.sets if s.key == "memory"), ()
        )
        self.memory = reporting.memory_rows(
            self.summaries, MEMORY_SMALL, MEMORY_LARGE, memory_contenders
        )
        latency_contenders = next(
            (s.contenders for s in self.sets if s.key == "latency_memory"), ()
        )
        self.latency_memory = reporting.memory_rows(
            self.summaries, *LATENCY_MEMORY, latency_contenders
        )
        best = None if self.generation is None else self.generation.best_s
        self.targets = reporting.targets(
            self.summaries, self.memory, best, TARGET_DATASETS
        )
        if any(s.latency for s in self.sets):
            self.targets += reporting.latency_targets(
                self.summaries,
                self.latency_memory,
                {"latency_items": LATENCY_ITEMS, "latency_pc": PC100_DATASET},
            )

    @property
    def problems(self) -> list[str]:
        """One line per run with a wrong record count or exit code."""
        return [
            f"{r.contender} on {r.dataset} round {r.round}: {r.problem()}"
            for r in self.runs
            if not r.ok
        ]


def _header(report: Report) -> list[str]:
    m, v = report.machine, report.versions
    sdk, msdk = v.get("venv-sdk", {}), v.get("venv-msdk", {})
    used = [f"tap-builder {v['bench']['tap-builder']}"]
    if sdk:
        used.append(
            f"singer-sdk {sdk.get('singer-sdk')} + msgspec {sdk.get('msgspec')} "
            "(sdk-handwritten, generated)"
        )
    if msdk:
        used.append(
            f"tap-rest-api-msdk {msdk.get('tap-rest-api-msdk')} "
            f"on singer-sdk {msdk.get('singer-sdk')}"
        )
    used.append(f"orjson {v['bench']['orjson']}, requests {v['bench']['requests']}")
    runs = report.options["runs"]
    return [
        f"# Benchmark {m['date']} · {m['platform']} · {m['cpu_model']} · "
        f"{m['cpus_usable']} CPUs · Python {m['python']} · {m['server']}",
        f"{runs} run{'s' if runs > 1 else ''} per set"
        f"{' (--quick)' if report.options['quick'] else ''}; load average at start "
        f"{m['load_average_at_start']}; whole benchmark {report.elapsed_s / 60:.1f} "
        f"min with setup. Versions: {'; '.join(used)}.",
    ]


def _tables(report: Report) -> list[str]:
    parts: list[str] = []
    for bench_set in report.sets:
        parts.append(f"## {bench_set.title}")
        own = [s for s in report.summaries if s.set_key == bench_set.key]
        if bench_set.key == "latency_memory":
            rows = report.latency_memory
            parts.append(reporting.memory_table(rows, "1k", "100k"))
            continue
        if bench_set.is_memory:
            parts.append(reporting.memory_table(report.memory, "10k", "1M"))
            continue
        if bench_set.latency:
            parts += [
                reporting.latency_table(own, d) for d in bench_set.datasets
            ]
            continue
        parts += [reporting.set_table(own, d) for d in bench_set.datasets]
    return parts


def _generation(timing: GenerationTiming | None) -> list[str]:
    if timing is None:
        return []
    runs = ", ".join(f"{s:.3f}" for s in timing.seconds)
    return [
        "## Generation speed",
        f"{timing.streams}-stream spec → {timing.files} files (load + validate + "
        f"render + write, in-process): best {timing.best_s:.3f} s (runs: {runs} s)",
    ]


def to_markdown(report: Report) -> str:
    """The report as Markdown; it starts with the date and machine line."""
    parts = _header(report)
    if report.problems:
        parts += ["## PROBLEMS", "\n".join(f"- {p}" for p in report.problems)]
    parts += _tables(report) + _generation(report.generation)
    targets = "\n".join(t.line() for t in report.targets)
    parts += ["## Targets", f"```text\n{targets}\n```"]
    parts += ["## Notes", "\n".join(f"- {n}" for n in NOTES)]
    return "\n\n".join(parts) + "\n"


def to_json(report: Report) -> dict[str, Any]:
    """Every run and every input that shaped it."""
    return {
        "machine": report.machine,
        "versions": report.versions,
        "options": report.options,
        "elapsed_s": report.elapsed_s,
        "problems": report.problems,
        "runs": [_run_json(r) for r in report.runs],
        "generation": None if report.generation is None else asdict(report.generation),
        "targets": [
            {
                "target": t.label,
                "value": t.value,
                "limit": t.limit,
                "verdict": t.verdict,
            }
            for t in report.targets
        ],
        "notes": list(NOTES),
    }


def _run_json(run: reporting.Run) -> dict[str, Any]:
    return {
        "set": run.set_key,
        "dataset": run.dataset,
        "contender": run.contender,
        "round": run.round,
        **asdict(run.measurement),
        "cpu_s": run.measurement.cpu_s,
        "expected": run.expected,
        "ok": run.ok,
        "problem": run.problem(),
        "max_in_flight": run.in_flight,
    }


def write(report: Report, folder: Path) -> str:
    """Write ``latest.md`` and ``latest.json`` into ``folder``; return the Markdown."""
    folder.mkdir(parents=True, exist_ok=True)
    text = to_markdown(report)
    (folder / "latest.md").write_text(text, encoding="utf-8")
    raw = json.dumps(to_json(report), indent=2) + "\n"
    (folder / "latest.json").write_text(raw, encoding="utf-8")
    return text
