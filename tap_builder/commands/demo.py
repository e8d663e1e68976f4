"""``tap-builder demo``: the whole job on a sample spec, end to end.

Generate the tap, install it into its own virtual environment (as a user would),
sync it against the bundled demo API and show the records.
"""

from __future__ import annotations

import json
import subprocess
import sys
import typing as t
import venv
from pathlib import Path

from tap_builder import generate
from tap_builder.demo import DemoServer, demo_config

if t.TYPE_CHECKING:
    from collections.abc import Sequence


def sample_specs_dir() -> Path:
    """The sample specs: inside the installed wheel, or the source tree."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "_sample_specs", package.parent / "sample_specs"):
        if candidate.is_dir():
            return candidate
    msg = f"the sample specs are missing (looked in {package})"
    raise FileNotFoundError(msg)


def _step(text: str) -> None:
    print(f"==> {text}", flush=True)


def _ensure_venv(folder: Path) -> Path:
    python = folder / "bin" / "python"
    if not python.exists():
        _step(f"creating a virtual environment in {folder}")
        venv.EnvBuilder(with_pip=True, clear=True).create(folder)
    return python


def _install(python: Path, package_dir: Path) -> None:
    _step(f"pip install {package_dir} (first run downloads singer-sdk)")
    command = [
        str(python),
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        str(package_dir),
    ]
    subprocess.run(command, check=True)


def format_table(
    records: Sequence[dict[str, t.Any]], max_columns: int = 6, width: int = 26
) -> str:
    """A plain text table of the first columns of ``records``."""
    columns: list[str] = []
    for record in records:
        columns += [key for key in record if key not in columns]
    columns = columns[:max_columns]

    def cell(value: object) -> str:
        text = value if isinstance(value, str) else json.dumps(value)
        return text if len(text) <= width else text[: width - 1] + "…"

    rows = [[cell(r.get(c)) for c in columns] for r in records]
    widths = [
        max([len(c)] + [len(row[i]) for row in rows]) for i, c in enumerate(columns)
    ]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += [
        "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in rows
    ]
    return "\n".join(lines)


def run_demo(spec_stem: str = "aircall", workdir: Path | None = None) -> int:
    """Generate, install and sync the sample tap ``spec_stem``; print the records."""
    workdir = (workdir or Path("demo-run")).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    spec_path = sample_specs_dir() / f"{spec_stem}.yaml"
    _step(f"generating a tap from {spec_path}")
    connector, package_dir, _ = generate(
        spec_path, workdir / f"tap-{spec_stem}", force=True
    )
    python = _ensure_venv(workdir / "venv")
    _install(python, package_dir)
    executable = python.parent / connector.spec.distribution
    with DemoServer() as server:
        config_path = workdir / "config.json"
        config_path.write_text(json.dumps(demo_config(spec_stem, server.url), indent=2))
        _step(f"{executable.name} --config {config_path}  (demo API at {server.url})")
        result = subprocess.run(
            [str(executable), "--config", str(config_path)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    (workdir / "singer.jsonl").write_text(result.stdout)
    if result.returncode != 0:
        print(result.stderr[-4000:], file=sys.stderr)
        return result.returncode
    _show(result.stdout, workdir)
    return 0


def _show(stdout: str, workdir: Path) -> None:
    by_stream: dict[str, list[dict[str, t.Any]]] = {}
    state: object = None
    for line in stdout.splitlines():
        message = json.loads(line)
        if message["type"] == "RECORD":
            by_stream.setdefault(message["stream"], []).append(message["record"])
        elif message["type"] == "STATE":
            state = message["value"]
    for stream, records in by_stream.items():
        print(f"\n{stream}: {len(records)} records")
        print(format_table(records))
    print(f"\nfinal state: {json.dumps(state)}")
    print(f"Singer messages saved to {workdir / 'singer.jsonl'}")
