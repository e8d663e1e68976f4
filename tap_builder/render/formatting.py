"""ruff format over the generated package's Python files, in one process.

The files go to a private temporary folder with the package's own
``pyproject.toml`` (so the result is what ``ruff format --check`` in the package
expects), are formatted by one ``ruff format`` call and read back: one process
for the whole package costs about as much as formatting one file through stdin,
and the caller still gets text only (nothing is written where it could be seen).
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path, PurePosixPath

from ruff import find_ruff_bin

from tap_builder.render.literals import RenderError

#: Seconds ruff may take for one package (it takes well under one).
TIMEOUT = 120


def format_python(
    sources: dict[PurePosixPath, str], pyproject: str
) -> dict[PurePosixPath, str]:
    """``sources`` (path: Python text) as ``ruff format`` writes them.

    Raises:
        RenderError: when ruff cannot format a file (generated code that does
            not parse is a bug in tap-builder).
    """
    if not sources:
        return {}
    with tempfile.TemporaryDirectory(prefix="tap-builder-format-") as folder:
        root = Path(folder)
        (root / "pyproject.toml").write_text(pyproject, encoding="utf-8")
        for path, text in sources.items():
            target = root.joinpath(*path.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        files = [str(root.joinpath(*path.parts)) for path in sources]
        # Long strings are written as parenthesised pieces; where such a string
        # is a call's only argument the parentheses are extra (UP034): ruff's own
        # safe fix removes them before formatting, and sorts the imports that
        # components' macros contribute (I001).
        try:
            _ruff(
                root, ["check", "--fix", "--select", "UP034,I001", "--exit-zero"], files
            )
            result = _ruff(root, ["format"], files)
        except (OSError, subprocess.TimeoutExpired) as exc:
            msg = f"ruff format could not run: {exc}"
            raise RenderError(msg) from exc
        if result.returncode != 0:
            msg = f"ruff format failed on the generated code: {result.stderr.strip()}"
            raise RenderError(msg)
        return {
            path: root.joinpath(*path.parts).read_text(encoding="utf-8")
            for path in sources
        }


def _ruff(
    root: Path, options: list[str], files: list[str]
) -> subprocess.CompletedProcess[str]:
    """Run one ruff command on ``files`` under ``root`` (its config applies)."""
    return subprocess.run(
        [find_ruff_bin(), *options, "--no-cache", "--quiet", "--", *files],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
