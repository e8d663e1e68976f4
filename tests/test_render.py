"""Rendering: generated packages are real code, deterministic, and carry user text
only as data."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import typing as t
import unicodedata
from pathlib import Path, PurePosixPath

import pytest

from tap_builder import load_spec, parse_spec_text, render_package, validate_spec
from tap_builder.render.context import SDK_REQUIREMENT, SDK_VERSION
from tap_builder.render.environment import templates_dir
from tap_builder.render.literals import docstring, py_literal
from tests.e2e import SAMPLES, VENV_REQUIREMENTS, install_tap

SAMPLE_STEMS = sorted(p.stem for p in SAMPLES.glob("*.yaml"))

#: Every free-text hazard at once: quotes, triple quotes, backslashes, newlines,
#: Jinja syntax, Python code, control characters and non-ASCII.
HOSTILE = (
    "q\"uo'te \"\"\" ''' back\\slash\\ \n newline\r\t {{ jinja }} {% block %} "
    "{# c #} __import__('os').system('touch CANARY') ${x} é 😀 \x7f \x00 end\\"
)


#: The hostile text without control characters (tab aside), for header values:
#: validation refuses a CR or LF there (it would start another header).
HOSTILE_HEADER = "".join(
    char for char in HOSTILE if char == "\t" or unicodedata.category(char) != "Cc"
)


def _braced(text: str) -> str:
    """The hostile text written for a field that takes variables (literal braces)."""
    return text.replace("{", "{{").replace("}", "}}")


def _render(stem: str) -> dict[PurePosixPath, str]:
    return render_package(validate_spec(load_spec(SAMPLES / f"{stem}.yaml")))


@pytest.mark.parametrize("stem", SAMPLE_STEMS)
def test_generated_python_compiles(stem: str) -> None:
    """Every generated .py file compiles."""
    for path, text in _render(stem).items():
        if path.suffix == ".py":
            compile(text, str(path), "exec")


@pytest.mark.parametrize("stem", SAMPLE_STEMS)
def test_generated_package_passes_ruff(stem: str, tmp_path: Path) -> None:
    """ruff check passes on the generated package with its own configuration."""
    root = tmp_path / stem
    for path, text in _render(stem).items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("stem", SAMPLE_STEMS)
def test_rendering_is_deterministic(stem: str) -> None:
    """The same spec renders byte-identical files, whatever the hash seed."""
    first = _render(stem)
    assert first == _render(stem)
    code = (
        "import json, sys; from pathlib import Path;"
        "from tap_builder import load_spec, validate_spec, render_package;"
        f"spec = load_spec(Path({str(SAMPLES / stem)!r} + '.yaml'));"
        "files = render_package(validate_spec(spec));"
        "print(json.dumps({str(k): v for k, v in files.items()}))"
    )
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        ).stdout
        assert json.loads(out) == {str(k): v for k, v in first.items()}


def test_templates_never_quote_an_expression() -> None:
    """No template puts a quote right before ``{{`` (docstrings go through a filter)."""
    pattern = re.compile(r"[\"']\{\{(?![^}]*\|\s*docstring)")
    for path in templates_dir().rglob("*.jinja"):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            assert not pattern.search(line), f"{path}:{number}: {line}"


def test_generated_pyproject_pins_the_tested_sdk() -> None:
    """The e2e venv installs the singer-sdk range generated taps declare."""
    pyproject = _render("aircall")[PurePosixPath("pyproject.toml")]
    assert json.dumps(SDK_REQUIREMENT) in pyproject
    assert "msgspec" in SDK_REQUIREMENT and SDK_REQUIREMENT.endswith(SDK_VERSION)
    assert any(
        req.startswith("singer-sdk[") and "msgspec" in req and req.endswith(SDK_VERSION)
        for req in VENV_REQUIREMENTS
    )


@pytest.mark.parametrize(
    "value",
    [
        HOSTILE,
        "",
        "plain",
        '"',
        "'",
        "\\",
        'ends with quote"',
        {"a": [1, 2.5, None, True]},
    ],
)
def test_py_literal_round_trips(value: object) -> None:
    """py_literal output evaluates back to the same value."""
    assert ast.literal_eval(py_literal(value)) == value


def test_docstring_filter_cannot_close_the_docstring() -> None:
    """A docstring holding hostile text parses and holds the text, flattened."""
    source = f'"""{docstring(HOSTILE)}"""'
    value = ast.literal_eval(source)
    assert "__import__" in value and "\n" not in value


# --------------------------------------------------------------------------- #
# A hostile spec, end to end
# --------------------------------------------------------------------------- #


def hostile_spec() -> dict[str, t.Any]:
    """A valid spec with the hostile text in every free-text field."""
    return {
        "name": HOSTILE,
        "tap_id": "hostile",
        "domain": HOSTILE,
        "logo": "https://x.test/" + HOSTILE,
        "description": HOSTILE,
        "base_url": "http://127.0.0.1:9/" + _braced(HOSTILE).replace("\n", ""),
        "authentication": {
            "type": "api_key",
            "location": "header",
            "name": "X-Key",
            "value": "{config.key}" + _braced(HOSTILE_HEADER),
        },
        "parameters": [
            {
                "name": "key",
                "label": HOSTILE,
                "description": HOSTILE,
                "secret": True,
            },
            {"name": "extra", "label": HOSTILE, "default": HOSTILE, "required": False},
        ],
        "streams": [
            {
                "name": HOSTILE,
                "id": "items",
                "path": "/" + _braced(HOSTILE),
                "method": "POST",
                "primary_key": "id",
                "query_params": {HOSTILE: _braced(HOSTILE)},
                "headers": {"X-Hostile": _braced(HOSTILE_HEADER)},
                "body": {HOSTILE: [_braced(HOSTILE), 1, None]},
                "records_selector": "$.items[*]",
                "schema": {
                    "type": "object",
                    "description": HOSTILE,
                    "properties": {
                        "id": {"type": "integer"},
                        HOSTILE: {"type": "string"},
                    },
                },
            }
        ],
    }


def test_hostile_text_is_carried_as_data(tmp_path: Path) -> None:
    """Hostile text compiles, round-trips as literals, and never executes."""
    text = json.dumps(hostile_spec())
    connector = validate_spec(parse_spec_text(text, tmp_path / "hostile.json"))
    files = render_package(connector)
    literals: list[object] = []
    for path, source in files.items():
        if path.suffix == ".py":
            tree = ast.parse(source)
            literals += [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)]
    assert _braced(HOSTILE) in literals or any(
        isinstance(v, str) and _braced(HOSTILE) in v for v in literals
    )
    streams_py = files[PurePosixPath("tap_hostile/streams.py")]
    dicts = [
        ast.literal_eval(n)
        for n in ast.walk(ast.parse(streams_py))
        if isinstance(n, ast.Dict)
    ]
    assert {HOSTILE: _braced(HOSTILE)} in dicts
    schema = json.loads(files[PurePosixPath("tap_hostile/schemas/items.json")])
    assert HOSTILE in schema["properties"]
    assert not (tmp_path / "CANARY").exists()


@pytest.mark.slow
def test_hostile_tap_installs_and_reports_text_as_data(
    tap_venv: Path, tmp_path: Path
) -> None:
    """The hostile tap installs; --about and --discover show the text unchanged."""
    spec_file = tmp_path / "hostile.json"
    spec_file.write_text(json.dumps(hostile_spec()))
    tap = install_tap(spec_file, tmp_path / "out", tap_venv)
    about = tap.run("--about", "--format", "json", workdir=tmp_path)
    assert about.returncode == 0, about.stderr
    info = json.loads(about.stdout)
    settings = info["settings"]["properties"]
    assert (
        settings["key"]["title"] == HOSTILE
        and settings["key"]["description"] == HOSTILE
    )
    assert settings["extra"]["default"] == HOSTILE
    discover = tap.run("--discover", config={"key": "k"}, workdir=tmp_path)
    assert discover.returncode == 0, discover.stderr
    catalog = json.loads(discover.stdout)
    assert HOSTILE in catalog["streams"][0]["schema"]["properties"]
    probe = (
        "import json; from tap_hostile import streams;"
        "s = streams.ItemsStream; print(json.dumps([s.path, s.__doc__]))"
    )
    python = tap_venv / "bin" / "python"
    out = subprocess.run(
        [str(python), "-c", probe], capture_output=True, text=True, check=True
    )
    path, _ = json.loads(out.stdout)
    assert path == "/" + _braced(HOSTILE)
    assert not list(tmp_path.rglob("CANARY")) and not Path("CANARY").exists()


FEATURE_SPECS = sorted((SAMPLES / "features").glob("*.yaml"))


@pytest.mark.parametrize("spec_path", FEATURE_SPECS, ids=lambda p: p.stem)
def test_feature_specs_render_code_that_passes_ruff(
    spec_path: Path, tmp_path: Path
) -> None:
    """Every option's generated code compiles and passes ruff."""
    files = render_package(validate_spec(load_spec(spec_path)))
    for path, text in files.items():
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            target.write_bytes(text)
            continue
        target.write_text(text)
        if path.suffix == ".py":
            compile(text, str(path), "exec")
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
