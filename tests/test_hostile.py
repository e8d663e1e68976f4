"""Property-based tests: no spec can inject code, and no input crashes validation.

Random valid specs carry hostile text in every free-text field; generation must
not crash, the package must compile, pass ruff and run ``--about`` and
``--discover``, the text must come back as data, and a canary file the text
tries to create must never appear. Malformed YAML, JSON and wrong types must
always give a clear error and never a traceback.
"""

from __future__ import annotations

import ast
import copy
import json
import os
import subprocess
import sys
import unicodedata
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tap_builder import (
    SpecError,
    parse_spec_text,
    render_package,
    validate_spec,
    write_package,
)
from tap_builder.cli import main

CANARY = "CANARY_FILE"
SNIPPETS = [
    '"',
    "'",
    '"""',
    "'''",
    "\\",
    "\\n",
    "\n",
    "\r\n",
    "\t",
    "{{ x }}",
    "{% if 1 %}",
    "{# c #}",
    "${HOME}",
    "$(touch x)",
    f"__import__('os').system('touch {CANARY}')",
    f"open('{CANARY}', 'w')",
    '"; import os; os.system("x") #',
    "é",
    "😀",
    "\u2028",
    "\x00",
    "\x7f",
    "]]>",
    "<script>",
    "|",
    "`",
    "a" * 300,
]
SETTINGS = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,  # capsys is read out after each example
    ],
)

hostile_text = st.one_of(
    st.lists(st.sampled_from(SNIPPETS), min_size=1, max_size=6).map("".join),
    st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40),
)
identifier = st.from_regex(r"\A[a-z][a-z0-9_]{0,12}\Z")
tap_id = st.from_regex(r"\A[a-z][a-z0-9]{0,8}(-[a-z0-9]{1,5}){0,2}\Z")


def header_text(text: str) -> str:
    """Text for a header value: no control characters but tab (validation
    refuses a CR or LF there, as it would start another header)."""
    return "".join(c for c in text if c == "\t" or unicodedata.category(c) != "Cc")


def braced(text: str) -> str:
    """Text for a field that takes variables: every brace literal."""
    return text.replace("{", "{{").replace("}", "}}")


@st.composite
def hostile_specs(draw: st.DrawFn) -> dict[str, Any]:
    """A valid spec with hostile text in every free-text field."""
    text = lambda: draw(hostile_text)  # noqa: E731
    auth = draw(st.sampled_from(["none", "api_key", "basic"]))
    parameters = [
        {"name": "token", "label": text(), "description": text(), "secret": True},
        {"name": "note", "label": text(), "required": False, "default": text()},
    ]
    authentication: dict[str, Any] = {"type": auth}
    if auth == "api_key":
        authentication |= {
            "location": draw(st.sampled_from(["header", "query"])),
            "name": "X-Key",
            "value": "{config.token}" + braced(header_text(text())),
        }
    elif auth == "basic":
        authentication |= {"username": braced(text()), "password": "{config.token}"}
    ids = draw(st.lists(identifier, min_size=1, max_size=3, unique=True))
    return {
        "name": text(),
        "tap_id": draw(tap_id),
        "domain": text(),
        "description": text(),
        "base_url": "http://127.0.0.1:9/" + braced(text()),
        "authentication": authentication,
        "parameters": parameters,
        "streams": [hostile_stream(draw, stream_id, text) for stream_id in ids],
    }


def hostile_stream(draw: st.DrawFn, stream_id: str, text: Any) -> dict[str, Any]:
    """One stream with hostile names, values, body, headers and schema text."""
    field = text()
    stream: dict[str, Any] = {
        "name": text(),
        "id": stream_id,
        "path": "/" + braced(text()),
        "primary_key": "id",
        "query_params": {text(): braced(text()), "n": draw(st.integers())},
        "headers": {"X-Hostile": braced(header_text(text()))},
        "records_selector": "$.items[*]",
        "schema": {
            "type": "object",
            "description": text(),
            "properties": {
                "id": {"type": "integer", "description": text()},
                field: {"type": ["string", "null"], "title": text()},
                "at": {"type": "string", "format": "date-time"},
            },
        },
    }
    if draw(st.booleans()):
        stream |= {"method": "POST", "body": {text(): [braced(text()), None, 1.5]}}
    if draw(st.booleans()):
        stream["pagination"] = {"type": "page_increment", "attribute": "page"}
    if draw(st.booleans()):
        stream["incremental"] = {
            "replication_key": "at",
            "param_name": text(),
            "date_format": "%Y-%m-%d " + text().replace("%", "%%"),
        }
    return stream


def _render(spec: dict[str, Any], tmp_path: Path) -> dict[PurePosixPath, str | bytes]:
    connector = validate_spec(parse_spec_text(json.dumps(spec), tmp_path / "spec.json"))
    return render_package(connector)


def _literals(files: dict[PurePosixPath, str | bytes]) -> list[Any]:
    found: list[Any] = []
    for path, source in files.items():
        if path.suffix == ".py":
            tree = ast.parse(str(source))  # compiles, or the test fails here
            compile(tree, str(path), "exec")
            found += [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)]
    return found


@settings(SETTINGS, max_examples=60)
@given(spec=hostile_specs())
def test_hostile_specs_render_to_code_that_holds_the_text(
    spec: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Any valid hostile spec renders; its texts come back as literals or JSON."""
    tmp_path = tmp_path_factory.mktemp("hostile")
    files = _render(spec, tmp_path)
    literals = _literals(files)
    package = f"tap_{spec['tap_id'].replace('-', '_')}"
    for stream in spec["streams"]:
        assert stream["path"] in literals
        schema_file = PurePosixPath(package, "schemas", f"{stream['id']}.json")
        schema = json.loads(files[schema_file])
        assert schema["properties"].keys() >= stream["schema"]["properties"].keys()
    tap_py = str(files[PurePosixPath(f"{package}/tap.py")])
    tap_literals = _literals({PurePosixPath("tap.py"): tap_py})
    assert spec["parameters"][1]["default"] in tap_literals
    assert not Path(CANARY).exists()


#: ruff's rules for sound code: pyflakes, syntax errors, security, Pylint errors.
SOUNDNESS = ("--select", "F,E9,S,PLE")


@pytest.mark.slow
@settings(SETTINGS, max_examples=12)
@given(spec=hostile_specs())
def test_hostile_taps_pass_ruff_and_run(
    spec: dict[str, Any], tap_venv: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The code is sound (pyflakes, syntax, security and error rules of ruff);
    --about and --discover run; the text is data.

    Style rules on arbitrary text are not asserted here: every sample and feature
    spec passes the package's whole rule set (tests/test_generated_quality.py),
    and the edge cases found so far have their own tests below.
    """
    tmp_path = tmp_path_factory.mktemp("hostile-run")
    package = tmp_path / "pkg"
    write_package(_render(spec, tmp_path), package)
    lint = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", *SOUNDNESS, str(package)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout[-3000:]
    module = f"tap_{spec['tap_id'].replace('-', '_')}"
    env = {**os.environ, "PYTHONPATH": str(package)}
    python = str(tap_venv / "bin" / "python")
    about = subprocess.run(
        [python, "-m", module, "--about", "--format", "json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert about.returncode == 0, about.stderr[-3000:]
    info = json.loads(about.stdout)
    assert (
        info["settings"]["properties"]["token"]["title"]
        == spec["parameters"][0]["label"]
    )
    assert (
        info["settings"]["properties"]["note"]["default"]
        == spec["parameters"][1]["default"]
    )
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"token": "t"}))
    discover = subprocess.run(
        [python, "-m", module, "--discover", "--config", str(config)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert discover.returncode == 0, discover.stderr[-3000:]
    streams = json.loads(discover.stdout)["streams"]
    assert sorted(s["tap_stream_id"] for s in streams) == sorted(
        s["id"] for s in spec["streams"]
    )
    assert not list(tmp_path.rglob(CANARY)) and not Path(CANARY).exists()


# --------------------------------------------------------------------------- #
# Fuzzing validation
# --------------------------------------------------------------------------- #

BASE = yaml.safe_load(
    (Path(__file__).parent.parent / "sample_specs" / "helpdesk.yaml").read_text()
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


PATHS = _paths(BASE)[1:]


def _validate_text(
    text: str, suffix: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / f"spec{suffix}"
    spec.write_text(text, encoding="utf-8", errors="surrogatepass")
    code = main(["validate", str(spec)])
    err = capsys.readouterr().err
    assert code in (0, 1)
    assert "Traceback" not in err and "error: " not in err, err
    if code == 1:
        lines = err.strip().splitlines()
        assert lines[-1].endswith("found.") and len(lines) >= 2


@settings(SETTINGS, max_examples=300)
@given(path=st.sampled_from(PATHS), value=json_values)
def test_wrong_types_anywhere_give_clear_errors(
    path: tuple[Any, ...],
    value: Any,
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Any value at any spec path: a valid spec or one line per problem."""
    data = copy.deepcopy(BASE)
    node = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    tmp_path = tmp_path_factory.mktemp("fuzz")
    (tmp_path / "schemas").mkdir()
    _validate_text(json.dumps(data), ".json", tmp_path, capsys)


@settings(SETTINGS, max_examples=300)
@given(text=st.text(max_size=200))
def test_malformed_yaml_gives_clear_errors(
    text: str,
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Arbitrary text as YAML: always a clear error line, never a traceback."""
    _validate_text(text, ".yaml", tmp_path_factory.mktemp("yaml"), capsys)


@settings(SETTINGS, max_examples=300)
@given(text=st.text(max_size=200), cut=st.integers(min_value=0, max_value=400))
def test_malformed_json_gives_clear_errors(
    text: str,
    cut: int,
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Cut or garbled JSON: always a clear error line, never a traceback."""
    base = json.dumps(BASE)
    _validate_text(base[:cut] + text, ".json", tmp_path_factory.mktemp("json"), capsys)


def test_spec_error_lines_name_a_field() -> None:
    """A sanity check of the fuzz oracle: a known bad spec names its field."""
    with pytest.raises(SpecError) as caught:
        validate_spec(parse_spec_text(json.dumps({"name": 1}), Path("x.json")))
    assert any(issue.path == "name" for issue in caught.value.issues)


@pytest.mark.parametrize(
    "name", ['"', '" q', 'q "', '"""', '\\"x', "  ' ", 'a """ b', "x\x1by"]
)
def test_names_made_of_quotes_give_lint_clean_docstrings(
    name: str, tmp_path: Path
) -> None:
    """A name that starts or ends with a quote still yields docstrings that pass
    the generated package's own ruff rules (select ALL) after formatting."""
    spec = {
        "name": name,
        "tap_id": "a",
        "base_url": "https://api.example.com",
        "streams": [
            {
                "name": name,
                "id": "a",
                "path": "/",
                "schema": {"type": "object", "properties": {"id": {"type": "integer"}}},
            }
        ],
    }
    package = tmp_path / "pkg"
    write_package(_render(spec, tmp_path), package)
    lint = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", str(package)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout[-3000:]


def test_a_long_authentication_value_is_lint_clean(tmp_path: Path) -> None:
    """A long literal written in pieces as a call's only argument: no extra
    parentheses (UP034) once rendered, under the package's own rules."""
    spec = {
        "name": "A",
        "tap_id": "a",
        "base_url": "https://api.example.com",
        "authentication": {
            "type": "api_key",
            "location": "header",
            "name": "X-Key",
            "value": "{config.token}" + "a" * 300,
        },
        "parameters": [{"name": "token", "secret": True}],
        "streams": [
            {
                "name": "A",
                "id": "a",
                "path": "/",
                "schema": {"type": "object", "properties": {"id": {"type": "integer"}}},
            }
        ],
    }
    package = tmp_path / "pkg"
    write_package(_render(spec, tmp_path), package)
    lint = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", str(package)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout[-3000:]
