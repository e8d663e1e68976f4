"""What each optimization of the generated taps buys: turn them off one at a time.

Runs the generated ``items`` tap (100k records, pages of 1,000) as it is, and
with one optimization switched back to the SDK's default, in rotating order,
and prints the median wall time of each variant. Needs a finished ``nox -s bench``
(its venv, taps and data). Usage: ``python bench/ablation.py [--runs 3]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import servers  # noqa: E402

CACHE = ROOT / ".cache" / "bench"
PYTHON = CACHE / "venv-sdk" / "bin" / "python"

#: Variant -> code run before the tap's CLI, undoing one optimization.
VARIANTS: dict[str, str] = {
    "as generated": "",
    "SDK conformance (RECURSIVE) and record hook, no compiled conformer": (
        "from singer_sdk import Stream\n"
        "from singer_sdk.helpers.conform import TypeConformanceLevel\n"
        "from tap_benchitems import runtime\n"
        "runtime.BuilderStream.TYPE_CONFORMANCE_LEVEL = "
        "TypeConformanceLevel.RECURSIVE\n"
        "runtime.BuilderStream._generate_record_messages = "
        "Stream._generate_record_messages\n"
        "runtime.compile_conformer = lambda schema, on_drop: (lambda record: record)\n"
    ),
    "SDK writer (simplejson, flush per message)": (
        "from singer_sdk.io_base import SingerWriter\n"
        "from tap_benchitems import tap\n"
        "tap.TapBenchitems.message_writer_class = SingerWriter\n"
    ),
    "JSONPath for every selector": (
        "from tap_benchitems import runtime\n"
        "runtime.selector_keys = lambda selector: None\n"
    ),
    "SDK _generate_record_messages": (
        "from singer_sdk import Stream\n"
        "from tap_benchitems import runtime\n"
        "runtime.BuilderStream._generate_record_messages = "
        "Stream._generate_record_messages\n"
    ),
}
LAUNCH = "from tap_benchitems.tap import main\nmain()\n"


def run_once(prelude: str, config: Path) -> float:
    """Wall seconds of one sync (output discarded)."""
    code = prelude + LAUNCH
    start = time.perf_counter()
    subprocess.run(
        [str(PYTHON), "-c", code, "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    return time.perf_counter() - start


def main() -> int:
    """Run every variant ``--runs`` times, in rotating order; print medians."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    binary = servers.find_nginx()
    if binary is None:
        print("nginx is needed (run nox -s bench first)", file=sys.stderr)
        return 1
    server = servers.NginxServer(
        binary=binary, prefix=CACHE / "nginx", data_dir=CACHE / "data"
    )
    server.start()
    timings: dict[str, list[float]] = {name: [] for name in VARIANTS}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "config.json"
            settings = {"api_url": server.url, "dataset": "items_100k_p1000"}
            config.write_text(json.dumps(settings))
            names = list(VARIANTS)
            for round_number in range(args.runs):
                shift = round_number % len(names)
                for name in names[shift:] + names[:shift]:
                    timings[name].append(run_once(VARIANTS[name], config))
    finally:
        server.stop()
    base = statistics.median(timings["as generated"])
    print(
        "| variant (100k records, pages of 1,000) | median wall s | vs as generated |"
    )
    print("|---|---:|---:|")
    for name, values in timings.items():
        median = statistics.median(values)
        print(f"| {name} | {median:.2f} | {median / base:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
