"""Generated packages are code a team can own: every sample and feature spec
renders a package that passes ``ruff check`` (its own pyproject: every rule, a
short documented ignore list), ``ruff format --check`` and ``mypy --strict``
with singer-sdk installed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tap_builder import load_spec, render_package, validate_spec
from tests.e2e import SAMPLES

pytestmark = pytest.mark.slow

SPECS = sorted(SAMPLES.glob("*.yaml")) + sorted((SAMPLES / "features").glob("*.yaml"))


def _write(spec: Path, root: Path) -> Path:
    for path, content in render_package(validate_spec(load_spec(spec))).items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    return root


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_generated_package_passes_ruff_and_mypy_strict(
    spec: Path, tap_venv: Path, tmp_path: Path
) -> None:
    """Zero ruff problems, nothing to reformat, zero mypy --strict errors."""
    root = _write(spec, tmp_path / spec.stem)
    ruff = [sys.executable, "-m", "ruff"]
    check = _run([*ruff, "check", "--no-cache", "."], root)
    assert check.returncode == 0, check.stdout + check.stderr
    formatted = _run([*ruff, "format", "--no-cache", "--check", "."], root)
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr
    mypy = [str(tap_venv / "bin" / "python"), "-m", "mypy", "--strict"]
    typed = _run(
        [*mypy, "--no-incremental", "--cache-dir", str(tmp_path / "mc"), "."], root
    )
    assert typed.returncode == 0, typed.stdout + typed.stderr
    assert "Success: no issues found" in typed.stdout
