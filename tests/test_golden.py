"""Golden files: each sample spec renders exactly the reviewed package.

New spec options must leave the output of specs that do not use them
byte-identical; a template or context change shows up here as a diff to review.
Refresh with ``pytest tests/test_golden.py --update-golden`` and read the git diff.
"""

from __future__ import annotations

import difflib
from pathlib import Path, PurePosixPath

import pytest

from tap_builder import __version__, load_spec, render_package, validate_spec
from tests.e2e import SAMPLES

GOLDEN = Path(__file__).parent / "golden"
#: Sample specs by their golden folder: sample_specs/<stem>.yaml in <stem>/,
#: sample_specs/features/<stem>.yaml in features/<stem>/.
STEMS = sorted(p.stem for p in SAMPLES.glob("*.yaml")) + sorted(
    f"features/{p.stem}" for p in (SAMPLES / "features").glob("*.yaml")
)
RUNTIME = Path(__file__).parent.parent / "tap_builder" / "runtime"
#: The offline-test replayer is the same file in every package: kept once.
REPLAY = PurePosixPath("tests/replay.py")
SHARED_REPLAY = GOLDEN / "replay.py"


def _rendered(stem: str) -> dict[str, str]:
    files = render_package(validate_spec(load_spec(SAMPLES / f"{stem}.yaml")))
    out: dict[str, str] = {}
    for path, content in files.items():
        if path.parent.name == "runtime":  # copies (checked below): which ones
            out[str(path)] = f"copy of tap_builder/runtime/{path.name}\n"
            continue
        text = content if isinstance(content, str) else content.hex()
        # The tool's version differs between a checkout and an install; the
        # generated tap's own version (0.1.0) must stay as it is.
        out[str(path)] = text.replace(
            f"tap-builder {__version__}", "tap-builder {version}"
        )
    return out


def _shared_replay(rendered: dict[str, str]) -> str:
    """The package's replay.py, which must equal the one golden copy."""
    return rendered.pop(str(REPLAY))


@pytest.mark.parametrize("stem", STEMS)
def test_sample_renders_the_golden_package(
    stem: str, request: pytest.FixtureRequest
) -> None:
    """Every file, and no other, matches tests/golden/<stem>/."""
    rendered = _rendered(stem)
    replay = _shared_replay(rendered)
    root = GOLDEN / stem
    if request.config.getoption("--update-golden"):
        SHARED_REPLAY.write_text(replay, encoding="utf-8")
        for old in sorted(root.rglob("*"), reverse=True) if root.exists() else []:
            old.unlink() if old.is_file() else old.rmdir()
        for name, text in rendered.items():
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    expected = {
        str(PurePosixPath(p.relative_to(root).as_posix())): p.read_text(
            encoding="utf-8"
        )
        for p in root.rglob("*")
        if p.is_file()
    }
    assert sorted(rendered) == sorted(expected), "files added or removed"
    if replay != SHARED_REPLAY.read_text(encoding="utf-8"):
        diff = "".join(
            difflib.unified_diff(
                SHARED_REPLAY.read_text(encoding="utf-8").splitlines(True),
                replay.splitlines(True),
                "golden/replay.py",
                f"{stem}/{REPLAY}",
            )
        )
        pytest.fail(f"{stem}/{REPLAY} differs from golden/replay.py:\n{diff}")
    for name, text in rendered.items():
        if text != expected[name]:
            diff = "".join(
                difflib.unified_diff(
                    expected[name].splitlines(True), text.splitlines(True), name, name
                )
            )
            pytest.fail(f"{stem}/{name} differs from the golden file:\n{diff}")


@pytest.mark.parametrize("stem", STEMS)
def test_generated_runtime_is_the_shipped_runtime(stem: str) -> None:
    """Each runtime module in a package is tap_builder/runtime/<module> behind a
    header, and the modules emitted are the ones listed in the golden package."""
    files = render_package(validate_spec(load_spec(SAMPLES / f"{stem}.yaml")))
    emitted = {p: c for p, c in files.items() if p.parent.name == "runtime"}
    assert emitted
    for path, content in emitted.items():
        assert str(content).endswith((RUNTIME / path.name).read_text("utf-8"))
