"""Benchmark generated taps against a floor, the SDK at defaults and tap-rest-api-msdk.

Run it with ``nox -s bench`` (or ``nox -s bench -- --quick``). From a fresh clone it
generates the datasets into ``.cache/bench/data``, builds the contenders' venvs
under ``.cache/bench``, starts nginx on 127.0.0.1 (a stdlib server if nginx is
unavailable), runs every contender one at a time in rotating order, checks every
record count, times tap generation for a 100-stream spec, prints Markdown tables
and writes ``bench/results/latest.json`` (every run) and ``latest.md``.

See ``bench/README.md`` for what is measured and how to read the numbers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import contenders as cn
import datagen
import genspeed
import orjson
import reporting
import requests
import servers
import venvs
from measure import Measurement, run_measured, stderr_tail

import tap_builder

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
CACHE = ROOT / ".cache" / "bench"
DATA = CACHE / "data"
RESULTS = BENCH_DIR / "results"
RUN_TIMEOUT_S = 900.0
PREFLIGHT_DATASET = "items_10k_p1000"


@dataclass(frozen=True)
class BenchSet:
    """A group of datasets and the contenders compared on them."""

    key: str
    title: str
    datasets: tuple[str, ...]
    contenders: tuple[str, ...]
    single_run: bool = False


SETS = (
    BenchSet(
        "100k_p100",
        "100,000 records, pages of 100 (1,001 requests)",
        ("items_100k_p100",),
        cn.ALL,
    ),
    BenchSet(
        "100k_p1000",
        "100,000 records, pages of 1,000 (101 requests)",
        ("items_100k_p1000",),
        cn.ALL,
    ),
    BenchSet(
        "pc",
        "Parent-child: 1,000 parents + 5,000 children (1,011 requests)",
        (datagen.PC_DATASET,),
        (cn.FLOOR, cn.FLOOR_ORJSON, cn.SDK, cn.GENERATED),
    ),
    BenchSet(
        "memory",
        "Memory: 10,000 vs 1,000,000 records, pages of 1,000 (1 run each)",
        ("items_10k_p1000", "items_1m_p1000"),
        (cn.FLOOR_ORJSON, cn.GENERATED),
        single_run=True,
    ),
)


class BenchError(RuntimeError):
    """The benchmark cannot go on, or its results are invalid."""


def log(message: str) -> None:
    """Progress on stderr (stdout carries the report)."""
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- #
# Setup
# --------------------------------------------------------------------------- #


def prepare_data(sets: list[BenchSet]) -> None:
    """Generate every dataset the chosen sets (and the preflight) read."""
    names = dict.fromkeys([PREFLIGHT_DATASET, *(d for s in sets for d in s.datasets)])
    DATA.mkdir(parents=True, exist_ok=True)
    for name in names:
        started = time.perf_counter()
        if datagen.ensure_dataset(DATA, name):
            log(f"data: generated {name} in {time.perf_counter() - started:.1f} s")


def prepare_venvs(needed: set[str]) -> cn.Executables:
    """Build the venvs the chosen contenders need; return their executables."""
    sdk_venv, msdk_venv = CACHE / "venv-sdk", CACHE / "venv-msdk"
    if needed & {cn.SDK, cn.GENERATED}:
        specs = [BENCH_DIR / "items.yaml", BENCH_DIR / "pc.yaml"]
        venvs.setup_sdk_venv(
            sdk_venv, BENCH_DIR / "sdk_tap", specs, CACHE / "build", log
        )
    if cn.MSDK in needed:
        venvs.setup_msdk_venv(msdk_venv, log)
    return cn.Executables(
        floor_script=BENCH_DIR / "floor.py",
        sdk_tap=venvs.bin_path(sdk_venv, "tap-benchsdk"),
        generated_items=venvs.bin_path(sdk_venv, "tap-benchitems"),
        generated_pc=venvs.bin_path(sdk_venv, "tap-benchpc"),
        msdk_tap=venvs.bin_path(msdk_venv, "tap-rest-api-msdk"),
    )


# --------------------------------------------------------------------------- #
# Running
# --------------------------------------------------------------------------- #


@dataclass
class Runner:
    """Runs contenders against the server, one at a time."""

    server: servers.Server
    launchers: dict[str, cn.Launcher]
    workdir: Path
    counter: int = 0

    def measure(self, contender: str, dataset: str) -> Measurement:
        """One measured run of ``contender`` on ``dataset``."""
        self.counter += 1
        job = cn.Job(self.server.url, dataset, self.workdir)
        command = self.launchers[contender](job)
        name = f"{self.counter:03d}-{contender}-{dataset}"
        measurement = run_measured(command, self.workdir, name, RUN_TIMEOUT_S)
        if measurement.exit_code != 0:
            log(f"  {contender} failed; its stderr ends with:")
            log(stderr_tail(self.workdir, name))
        return measurement

    def preflight(self, names: list[str]) -> None:
        """Run each contender once on the small dataset; stop at the first failure.

        This also warms the page cache and Python's bytecode caches.
        """
        self.server.prepare([PREFLIGHT_DATASET])
        expected = datagen.expected_counts(PREFLIGHT_DATASET)
        for contender in names:
            m = self.measure(contender, PREFLIGHT_DATASET)
            log(f"preflight: {contender}: {m.records} in {m.wall_s:.2f} s")
            if m.exit_code != 0 or m.records != expected:
                msg = (
                    f"preflight: {contender} on {PREFLIGHT_DATASET} exited "
                    f"{m.exit_code} with records {m.records}; expected {expected}"
                )
                raise BenchError(msg)

    def run_set(self, bench_set: BenchSet, rounds: int) -> list[reporting.Run]:
        """Every round of one set, rotating the contenders' order each round."""
        self.server.prepare(list(bench_set.datasets))
        runs: list[reporting.Run] = []
        rounds = 1 if bench_set.single_run else rounds
        for dataset in bench_set.datasets:
            datagen.warm_page_cache(DATA, dataset)
            expected = datagen.expected_counts(dataset)
            order = list(bench_set.contenders)
            for round_no in range(rounds):
                shift = round_no % len(order)
                for contender in order[shift:] + order[:shift]:
                    m = self.measure(contender, dataset)
                    run = reporting.Run(
                        bench_set.key, dataset, contender, round_no + 1, m, expected
                    )
                    runs.append(run)
                    log(_progress(run, rounds))
        return runs


def _progress(run: reporting.Run, rounds: int) -> str:
    m = run.measurement
    status = "ok" if run.ok else f"PROBLEM: {run.problem()}"
    return (
        f"[{run.dataset} round {run.round}/{rounds}] {run.contender}: "
        f"{m.wall_s:.2f} s wall, {m.cpu_s:.2f} s CPU, "
        f"{m.max_rss_kb / 1024:.0f} MB, {m.total_records:,} records, {status}"
    )


# --------------------------------------------------------------------------- #
# Reporting
# --------------------------------------------------------------------------- #


def machine_info(server: servers.Server) -> dict[str, Any]:
    """Where and when the benchmark ran."""
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "platform": platform.platform(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "server": server.kind,
        "server_version": server.version,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def versions(needed: set[str]) -> dict[str, dict[str, str]]:
    """Package versions in each environment that ran a contender."""
    found = {
        "bench": {
            "tap-builder": tap_builder.__version__,
            "orjson": orjson.__version__,
            "requests": requests.__version__,
        }
    }
    if needed & {cn.SDK, cn.GENERATED}:
        names = ["singer-sdk", "msgspec", "requests", "tap-benchitems", "tap-benchsdk"]
        found["venv-sdk"] = venvs.package_versions(CACHE / "venv-sdk", names)
    if cn.MSDK in needed:
        names = ["tap-rest-api-msdk", "singer-sdk", "requests"]
        found["venv-msdk"] = venvs.package_versions(CACHE / "venv-msdk", names)
    return found


def markdown(
    info: dict[str, Any],
    sets: list[BenchSet],
    summaries: list[reporting.Summary],
    memory: list[reporting.MemoryRow],
    generation: genspeed.GenerationTiming | None,
    goals: list[reporting.Target],
    notes: list[str],
) -> str:
    """The whole report as Markdown."""
    parts = [
        f"# tap-builder benchmark, {info['date']}",
        f"{info['platform']} · {info['cpu_model']} · {info['cpus_usable']} CPUs · "
        f"Python {info['python']} · server: {info['server_version']} · "
        f"load at start {info['load_average_at_start']}",
    ]
    for bench_set in sets:
        if bench_set.key == "memory":
            parts += [
                f"## {bench_set.title}",
                reporting.memory_table(memory, "10k", "1M"),
            ]
            continue
        for dataset in bench_set.datasets:
            parts += [f"## {bench_set.title}", reporting.set_table(summaries, dataset)]
    if generation is not None:
        runs = ", ".join(f"{s:.3f}" for s in generation.seconds)
        parts += [
            "## Generation speed",
            f"{generation.streams}-stream spec → {generation.files} files: "
            f"best {generation.best_s:.3f} s (runs: {runs} s)",
        ]
    parts += ["## Targets", "```text", *(g.line() for g in goals), "```"]
    if notes:
        parts += ["## Notes", *(f"- {n}" for n in notes)]
    return "\n\n".join(parts) + "\n"


def raw_results(
    info: dict[str, Any],
    args: argparse.Namespace,
    runs: list[reporting.Run],
    generation: genspeed.GenerationTiming | None,
    goals: list[reporting.Target],
    extra: dict[str, Any],
) -> dict[str, Any]:
    """Everything measured, for latest.json."""
    return {
        "machine": info,
        "args": {"runs": args.runs, "quick": args.quick, "sets": args.sets},
        **extra,
        "runs": [
            {
                "set": r.set_key,
                "dataset": r.dataset,
                "contender": r.contender,
                "round": r.round,
                **asdict(r.measurement),
                "cpu_s": r.measurement.cpu_s,
                "expected": r.expected,
                "ok": r.ok,
                "problem": r.problem(),
            }
            for r in runs
        ],
        "generation": None if generation is None else asdict(generation),
        "targets": [
            {
                "target": g.label,
                "value": g.value,
                "limit": g.limit,
                "verdict": g.verdict,
            }
            for g in goals
        ],
    }


NOTES = [
    "Medians of the runs; each round runs the contenders one at a time, "
    "in an order rotated every round. CPU is user + system of the tap process; "
    "peak RSS is its maximum resident set (both from wait4).",
    "tap-rest-api-msdk runs on the singer-sdk it pins, with page_number_paginator "
    "(next_page_token_path $.page, ?page=N from 1) and a flat schema: it flattens "
    "nested objects and dumps lists to JSON strings. It has no parent-child streams.",
    "floor / floor-orjson: requests page loop, one JSON parse per page, one "
    "RECORD line per record, buffered stdout; no schema conformance or state.",
]


# --------------------------------------------------------------------------- #
# Main
# --------------------------------------------------------------------------- #


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="rounds per set (3)")
    parser.add_argument(
        "--quick", action="store_true", help="one round per set: a ~2 minute smoke run"
    )
    parser.add_argument(
        "--sets",
        default=",".join(s.key for s in SETS),
        help="comma-separated subset of: " + ", ".join(s.key for s in SETS),
    )
    parser.add_argument(
        "--stdlib-server",
        action="store_true",
        help="use the stdlib fallback server even when nginx is available",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.runs = 1
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    unknown = set(args.sets.split(",")) - {s.key for s in SETS}
    if unknown:
        parser.error(f"unknown set(s): {', '.join(sorted(unknown))}")
    return args


def _terminate(signum: int, frame: FrameType | None) -> None:
    """SIGTERM/SIGHUP: unwind like Ctrl-C, so servers and children are stopped."""
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    """The whole benchmark; returns the exit code."""
    started = time.perf_counter()
    sets = [s for s in SETS if s.key in args.sets.split(",")]
    needed = {c for s in sets for c in s.contenders}
    prepare_data(sets)
    executables = prepare_venvs(needed)
    server = servers.start_server(CACHE, DATA, log, force_stdlib=args.stdlib_server)
    log(f"server: {server.version} at {server.url}")
    try:
        info = machine_info(server)
        with tempfile.TemporaryDirectory(prefix="tap-bench-") as tmp:
            runner = Runner(server, cn.launchers(executables), Path(tmp))
            runner.preflight(sorted(needed, key=cn.ALL.index))
            runs = [r for s in sets for r in runner.run_set(s, args.runs)]
            generation = _generation()
    finally:
        server.stop()
    return report(args, info, sets, runs, generation, needed, started)


def _generation() -> genspeed.GenerationTiming:
    with tempfile.TemporaryDirectory(prefix="tap-bench-gen-") as tmp:
        timing = genspeed.time_generation(BENCH_DIR / "items.yaml", Path(tmp))
    log(f"generation: best {timing.best_s:.3f} s of {timing.seconds}")
    return timing


def report(
    args: argparse.Namespace,
    info: dict[str, Any],
    sets: list[BenchSet],
    runs: list[reporting.Run],
    generation: genspeed.GenerationTiming,
    needed: set[str],
    started: float,
) -> int:
    """Print and write the results; return 1 if any run was wrong."""
    summaries = reporting.summarize(runs)
    memory = reporting.memory_rows(
        summaries, "items_10k_p1000", "items_1m_p1000", (cn.FLOOR_ORJSON, cn.GENERATED)
    )
    datasets = {"p1000": "items_100k_p1000", "pc": datagen.PC_DATASET}
    goals = reporting.targets(summaries, memory, generation.best_s, datasets)
    problems = [
        f"{r.contender} on {r.dataset} round {r.round}: {r.problem()}"
        for r in runs
        if not r.ok
    ]
    elapsed = time.perf_counter() - started
    notes = [*NOTES, f"Whole benchmark (setup included): {elapsed / 60:.1f} min."]
    notes += [f"PROBLEM: {p}" for p in problems]
    text = markdown(info, sets, summaries, memory, generation, goals, notes)
    extra = {"versions": versions(needed), "elapsed_s": elapsed, "problems": problems}
    RESULTS.mkdir(parents=True, exist_ok=True)
    raw = raw_results(info, args, runs, generation, goals, extra)
    (RESULTS / "latest.json").write_text(json.dumps(raw, indent=2) + "\n", "utf-8")
    (RESULTS / "latest.md").write_text(text, "utf-8")
    print(text, flush=True)
    log(f"wrote {RESULTS / 'latest.md'} and {RESULTS / 'latest.json'}")
    if problems:
        log(
            "FAILED: record counts or exit codes were wrong:\n  "
            + "\n  ".join(problems)
        )
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python bench/run.py [--quick] [--runs N] [--sets ...]``."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    try:
        return run(args)
    except (BenchError, servers.ServerError, venvs.SetupError) as exc:
        log(f"bench: error: {exc}")
        return 1
    except KeyboardInterrupt:
        log("bench: interrupted; everything started was stopped")
        return 130


if __name__ == "__main__":
    sys.exit(main())
