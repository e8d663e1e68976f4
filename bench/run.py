"""Benchmark generated taps against a floor, the SDK at defaults and tap-rest-api-msdk.

Run it with ``nox -s bench`` (``nox -s bench -- --quick`` for a smoke run). From a
fresh clone it generates the datasets into ``.cache/bench/data``, builds the
contenders' venvs under ``.cache/bench``, starts nginx on 127.0.0.1 (a stdlib
server when nginx is unavailable), runs the contenders one at a time in rotating
order, checks every record count, times tap generation for a 100-stream spec,
prints Markdown tables and writes ``bench/results/latest.md`` and ``latest.json``.
Exit code 1 when any run emitted the wrong records (or setup failed).

See ``bench/README.md`` for what is measured and how to read the numbers.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import contenders as cn
import datagen
import genspeed
import orjson
import reporting
import requests
import results
import servers
import venvs
from measure import Measurement, run_measured, stderr_tail
from datagen import PC100_DATASET
from plan import LATENCY_S, PREFLIGHT_DATASET, SETS, BenchSet

import tap_builder

BENCH_DIR = Path(__file__).resolve().parent
CACHE = BENCH_DIR.parent / ".cache" / "bench"
DATA = CACHE / "data"
RUN_TIMEOUT_S = 900.0


class BenchError(RuntimeError):
    """The benchmark cannot go on."""


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
    if needed & {cn.SDK, cn.GENERATED, cn.GENERATED_C1, cn.GENERATED_C8}:
        build = CACHE / "build"
        specs = [BENCH_DIR / "items.yaml", BENCH_DIR / "pc.yaml"]
        specs += [
            venvs.concurrent_spec(spec, build, cn.WORKERS) for spec in list(specs)
        ]
        venvs.setup_sdk_venv(sdk_venv, BENCH_DIR / "sdk_tap", specs, build, log)
    if cn.MSDK in needed:
        venvs.setup_msdk_venv(msdk_venv, log)
    return cn.Executables(
        floor_script=BENCH_DIR / "floor.py",
        sdk_tap=venvs.bin_path(sdk_venv, "tap-benchsdk"),
        generated_items=venvs.bin_path(sdk_venv, "tap-benchitems"),
        generated_pc=venvs.bin_path(sdk_venv, "tap-benchpc"),
        msdk_tap=venvs.bin_path(msdk_venv, "tap-rest-api-msdk"),
        generated_items_concurrent=venvs.bin_path(sdk_venv, "tap-benchitemsc"),
        generated_pc_concurrent=venvs.bin_path(sdk_venv, "tap-benchpcc"),
    )


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


# --------------------------------------------------------------------------- #
# Running
# --------------------------------------------------------------------------- #


@dataclass
class Runner:
    """Runs contenders against the server, strictly one at a time."""

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
            log(f"  {contender} failed (exit {measurement.exit_code}); stderr ends:")
            log(stderr_tail(self.workdir, name))
        return measurement

    def preflight(self, names: list[str]) -> None:
        """Run each contender once on the small dataset; stop at the first failure.

        This also warms the page cache and each venv's bytecode.

        Raises:
            BenchError: a contender failed or emitted the wrong records.
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
        rounds = 1 if bench_set.single_run else rounds
        runs: list[reporting.Run] = []
        for dataset in bench_set.datasets:
            datagen.warm_page_cache(DATA, dataset)
            expected = datagen.expected_counts(dataset)
            order = list(bench_set.contenders)
            for number in range(1, rounds + 1):
                shift = (number - 1) % len(order)
                for contender in order[shift:] + order[:shift]:
                    latency = self.server if bench_set.latency else None
                    if isinstance(latency, servers.LatencyServer):
                        latency.reset_in_flight()
                    m = self.measure(contender, dataset)
                    in_flight = (
                        latency.max_in_flight
                        if isinstance(latency, servers.LatencyServer)
                        else None
                    )
                    run = reporting.Run(
                        bench_set.key, dataset, contender, number, m, expected, in_flight
                    )
                    log(_progress(run, rounds))
                    runs.append(run)
        return runs


def _progress(run: reporting.Run, rounds: int) -> str:
    m = run.measurement
    status = "ok" if run.ok else f"PROBLEM: {run.problem()}"
    flight = "" if run.in_flight is None else f"{run.in_flight} in flight, "
    return (
        f"[{run.dataset} {run.round}/{rounds}] {run.contender}: "
        f"{m.wall_s:.2f} s wall, {flight}{m.cpu_s:.2f} s CPU, "
        f"{m.max_rss_kb / 1024:.0f} MB, {m.total_records:,} records, {status}"
    )


def time_generation() -> genspeed.GenerationTiming:
    """Generation speed for a 100-stream spec (in-process, best of 3)."""
    with tempfile.TemporaryDirectory(prefix="tap-bench-gen-") as tmp:
        timing = genspeed.time_generation(BENCH_DIR / "items.yaml", Path(tmp))
    log(f"generation: best {timing.best_s:.3f} s")
    return timing


# --------------------------------------------------------------------------- #
# Main
# --------------------------------------------------------------------------- #


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="rounds per set (3)")
    parser.add_argument(
        "--quick", action="store_true", help="one round per set (a smoke run)"
    )
    keys = [s.key for s in SETS]
    parser.add_argument(
        "--sets",
        default=",".join(keys),
        help=f"comma-separated subset of: {', '.join(keys)} (all)",
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
    if unknown := set(args.sets.split(",")) - set(keys):
        parser.error(f"unknown set(s): {', '.join(sorted(unknown))}")
    return args


def run(args: argparse.Namespace) -> results.Report:
    """Set up, measure every set, time generation; stop everything started."""
    started = time.perf_counter()
    sets = [s for s in SETS if s.key in args.sets.split(",")]
    needed = {c for s in sets for c in s.contenders}
    prepare_data(sets)
    launchers = cn.launchers(prepare_venvs(needed))
    server = servers.start_server(CACHE, DATA, log, force_stdlib=args.stdlib_server)
    log(f"server: {server.version} at {server.url}")
    slow: servers.LatencyServer | None = None
    try:
        machine = results.machine_info(server.version)
        with tempfile.TemporaryDirectory(prefix="tap-bench-") as tmp:
            runner = Runner(server, launchers, Path(tmp))
            contenders = dict.fromkeys([*cn.ALL, *cn.LATENCY_ALL])
            runner.preflight([c for c in contenders if c in needed])
            runs = [
                run
                for s in sets
                if not s.latency
                for run in runner.run_set(s, args.runs)
            ]
            if any(s.latency for s in sets):
                slow = servers.LatencyServer(DATA, LATENCY_S, PC100_DATASET)
                slow.start()
                log(f"latency server: {slow.version} at {slow.url}")
                machine["latency_server"] = slow.version
                slow_runner = Runner(slow, launchers, Path(tmp))
                runs += [
                    run
                    for s in sets
                    if s.latency
                    for run in slow_runner.run_set(s, args.runs)
                ]
    finally:
        server.stop()
        if slow is not None:
            slow.stop()
    report = results.Report(
        machine=machine,
        versions=versions(needed),
        options={"runs": args.runs, "quick": args.quick, "sets": args.sets},
        sets=sets,
        runs=runs,
        generation=time_generation(),
    )
    report.elapsed_s = time.perf_counter() - started
    return report


def _terminate(signum: int, frame: FrameType | None) -> None:
    """SIGTERM/SIGHUP: unwind like Ctrl-C, so the server and children are stopped."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """``python bench/run.py [--quick] [--runs N] [--sets ...]``; the exit code."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    try:
        report = run(args)
    except (BenchError, servers.ServerError, venvs.SetupError) as exc:
        log(f"bench: error: {exc}")
        return 1
    except KeyboardInterrupt:
        log("bench: interrupted; the server and the running contender were stopped")
        return 130
    print(results.write(report, BENCH_DIR / "results"), flush=True)
    log(f"wrote {BENCH_DIR / 'results' / 'latest.md'} and latest.json")
    if report.problems:
        log(
            "bench: FAILED, wrong records or exit codes:\n  "
            + "\n  ".join(report.problems)
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
