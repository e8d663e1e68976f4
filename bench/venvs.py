"""Virtual environments for the contenders, under ``.cache/bench/``.

- ``venv-sdk``: singer-sdk 0.54 (with msgspec), the hand-written tap
  (``bench/sdk_tap``) and the taps tap-builder generates from ``bench/*.yaml``.
- ``venv-msdk``: tap-rest-api-msdk with the older singer-sdk it pins.

A venv is created once; the pip steps run every time (they are quick when
everything is installed), and the local taps are reinstalled every time, so the
benchmark always measures the current code.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import yaml

import tap_builder

SDK_REQUIREMENTS = ["singer-sdk[msgspec]~=0.54.9", "typing-extensions", "hatchling"]
# The version whose source bench/contenders.py was written against.
MSDK_REQUIREMENT = "tap-rest-api-msdk==1.4.2"
PIP_TIMEOUT_S = 1800

Log = Callable[[str], None]


class SetupError(RuntimeError):
    """A venv or package could not be set up."""


def bin_path(venv: Path, name: str) -> Path:
    """An executable inside ``venv``."""
    return venv / "bin" / name


def ensure_venv(venv: Path, log: Log) -> None:
    """Create ``venv`` unless a working one is there."""
    if bin_path(venv, "python").exists():
        return
    shutil.rmtree(venv, ignore_errors=True)
    log(f"setup: creating {venv}")
    _run([sys.executable, "-m", "venv", str(venv)])


def pip_install(venv: Path, *args: str) -> None:
    """``pip install -q ARGS`` inside ``venv``.

    Raises:
        SetupError: pip failed (its output is in the message).
    """
    _run(
        [
            str(bin_path(venv, "python")),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            *args,
        ]
    )


def _run(command: list[str]) -> str:
    done = subprocess.run(
        command, capture_output=True, text=True, check=False, timeout=PIP_TIMEOUT_S
    )
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip()[-3000:]
        msg = f"`{' '.join(command)}` failed ({done.returncode}):\n{output}"
        raise SetupError(msg)
    return done.stdout


def generate_tap(spec: Path, out_dir: Path) -> list[str]:
    """Generate a tap from ``spec`` into ``out_dir``; return its dependencies."""
    tap_builder.generate(spec, out_dir, force=True)
    pyproject = tomllib.loads((out_dir / "pyproject.toml").read_text("utf-8"))
    return list(pyproject["project"].get("dependencies", []))


def concurrent_spec(spec: Path, build_dir: Path, workers: int) -> Path:
    """``spec`` with ``max_concurrency: workers`` and tap id ``<id>c``, written out."""
    data = yaml.safe_load(spec.read_text(encoding="utf-8"))
    data["tap_id"] += "c"
    data["max_concurrency"] = workers
    build_dir.mkdir(parents=True, exist_ok=True)
    target = build_dir / f"{spec.stem}_concurrent.yaml"
    target.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return target


def setup_sdk_venv(
    venv: Path, sdk_tap: Path, specs: list[Path], build_dir: Path, log: Log
) -> None:
    """singer-sdk, the hand-written tap and freshly generated taps in ``venv``."""
    ensure_venv(venv, log)
    generated: list[Path] = []
    requirements = list(SDK_REQUIREMENTS)
    for spec in specs:
        out_dir = build_dir / f"tap-{spec.stem}"
        log(f"setup: generating {out_dir.name} from {spec.name}")
        requirements += generate_tap(spec, out_dir)
        generated.append(out_dir)
    log(f"setup: pip install into {venv.name}")
    pip_install(venv, *dict.fromkeys(requirements))
    local = [str(sdk_tap), *map(str, generated)]
    pip_install(venv, "--no-deps", "--no-build-isolation", "--force-reinstall", *local)
    _run([str(bin_path(venv, "python")), "-m", "pip", "check"])


def setup_msdk_venv(venv: Path, log: Log) -> None:
    """tap-rest-api-msdk in its own ``venv``."""
    ensure_venv(venv, log)
    log(f"setup: pip install {MSDK_REQUIREMENT} into {venv.name}")
    pip_install(venv, MSDK_REQUIREMENT)


def package_versions(venv: Path, names: list[str]) -> dict[str, str]:
    """Installed versions of ``names`` inside ``venv`` (missing ones are left out)."""
    script = (
        "import importlib.metadata as m, json, sys\n"
        "out = {}\n"
        "for n in sys.argv[1:]:\n"
        "    try: out[n] = m.version(n)\n"
        "    except m.PackageNotFoundError: pass\n"
        "print(json.dumps(out))\n"
    )
    output = _run([str(bin_path(venv, "python")), "-c", script, *names])
    return {str(k): str(v) for k, v in json.loads(output).items()}
