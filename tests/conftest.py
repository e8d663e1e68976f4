"""Shared fixtures: the demo API, the shared tap venv and installed sample taps."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tap_builder.demo import DemoServer
from tests.e2e import SAMPLES, InstalledTap, install_tap, shared_venv


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--update-golden`` rewrites tests/golden/ from the current templates."""
    parser.addoption("--update-golden", action="store_true", default=False)


@pytest.fixture(scope="session")
def demo_server() -> Iterator[DemoServer]:
    """The demo API on 127.0.0.1, one per test session."""
    with DemoServer() as server:
        yield server


@pytest.fixture
def server(demo_server: DemoServer) -> DemoServer:
    """The demo API with an empty request log."""
    demo_server.clear_requests()
    return demo_server


@pytest.fixture(scope="session")
def tap_venv() -> Path:
    """The virtual environment every generated tap is installed into."""
    return shared_venv()


@pytest.fixture(scope="session")
def sample_tap(
    tap_venv: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], InstalledTap]:
    """Generate and install a sample spec's tap once per session."""
    installed: dict[str, InstalledTap] = {}

    def get(stem: str) -> InstalledTap:
        if stem not in installed:
            out = tmp_path_factory.mktemp(f"gen-{stem}") / f"tap-{stem}"
            installed[stem] = install_tap(SAMPLES / f"{stem}.yaml", out, tap_venv)
        return installed[stem]

    return get
