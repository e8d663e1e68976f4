"""The README's test command runs on the interpreter that is there and fails,
never skips, when that interpreter is too old."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_test_command_fails_on_an_unsupported_python() -> None:
    """On Python < 3.11 loading the noxfile exits 1 with the reason."""
    code = (
        "import runpy, sys; sys.version_info = (3, 10, 13); "
        "runpy.run_path('noxfile.py')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "tap-builder needs Python 3.11 or newer" in result.stderr


def test_sessions_use_the_running_interpreter() -> None:
    """No session pins a version nox might not find (it would skip and pass)."""
    text = (REPO / "noxfile.py").read_text()
    assert "PYTHON = None" in text
    assert "error_on_missing_interpreters = True" in text
