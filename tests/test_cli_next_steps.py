"""What ``generate`` says to do next must work from where the user stands."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tap_builder.cli import main, pip_path

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("target", "shown"),
    [
        (Path("tap-aircall"), "./tap-aircall"),
        (Path("out/tap-aircall"), "./out/tap-aircall"),
        (Path("../tap-aircall"), "../tap-aircall"),
        (Path("/tmp/tap aircall"), "'/tmp/tap aircall'"),
    ],
)
def test_pip_path_is_a_folder_not_a_package_name(target: Path, shown: str) -> None:
    assert pip_path(target) == shown


def test_generate_prints_a_pip_command_that_installs_the_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["generate", str(REPO / "sample_specs" / "aircall.yaml")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "next: pip install ./tap-aircall && tap-aircall --about"
    assert os.path.isdir(tmp_path / "tap-aircall")
