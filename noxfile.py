"""Developer tasks: ``nox -s tests``, ``lint``, ``typecheck``, ``demo``."""

from __future__ import annotations

import sys

# Sessions run on the interpreter that runs nox (the one that made .venv), so
# the test command never skips for want of a particular version; anything older
# than the oldest supported version fails loudly instead.
if sys.version_info < (3, 11):  # noqa: UP036 - the check is the point
    sys.exit(f"tap-builder needs Python 3.11 or newer; nox runs on {sys.version}")

import nox

nox.options.sessions = ["tests"]
nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True

PYTHON = None


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Lint, type-check, then the whole test suite (unit and end to end)."""
    session.install("-e", ".[test]")
    session.run("ruff", "check", "tap_builder", "tests", "noxfile.py")
    session.run("ruff", "format", "--check", "tap_builder", "tests", "noxfile.py")
    session.run("mypy")
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff check and format check."""
    session.install("ruff")
    session.run("ruff", "check", "tap_builder", "tests", "noxfile.py")
    session.run("ruff", "format", "--check", "tap_builder", "tests", "noxfile.py")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict over tap_builder."""
    session.install("-e", ".[test]")
    session.run("mypy")


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """Generate, install and sync the sample tap against the demo API."""
    session.install(".")
    session.run("tap-builder", "demo", *session.posargs)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmark generated taps (bench/README.md); ``-- --quick``: smoke run."""
    session.install(".", "orjson", "requests")
    session.run("python", "bench/run.py", *session.posargs)
