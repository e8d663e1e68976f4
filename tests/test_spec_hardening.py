"""Hostile spec files: bounded reading, YAML bombs, odd types, unsafe values.

Every refusal is the standard validation error (``file:line path: message``,
all problems at once, exit 1), never a traceback, a hang or a huge allocation.
"""

from __future__ import annotations

import copy
import itertools
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tap_builder import (
    SpecError,
    load_spec,
    parse_spec_text,
    render_package,
    validate_spec,
)
from tap_builder.cli import main
from tap_builder.spec import loader, models
from tests.test_validation import DROP, INC, PAGE, S0, issues_of, variant

SAMPLE_SPECS = Path(__file__).resolve().parent.parent / "sample_specs"
ROOT = Path(__file__).resolve().parent.parent


def lines_of(text: str, tmp_path: Path, name: str = "spec.yaml") -> list[str]:
    """The error lines a spec gives (SpecError.lines), file name as written."""
    spec_file = tmp_path / name
    spec_file.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        validate_spec(load_spec(spec_file))
    prefix = f"{spec_file}"
    assert all(line.startswith(prefix) for line in caught.value.lines())
    return [line.removeprefix(prefix) for line in caught.value.lines()]


def cli(spec_file: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    """Run ``tap-builder validate`` in-process: exit code and stderr lines."""
    code = main(["validate", str(spec_file)])
    return code, capsys.readouterr().err.splitlines()


# --------------------------------------------------------------------------- #
# 1. YAML alias bombs
# --------------------------------------------------------------------------- #


def alias_bomb(levels: int = 9, width: int = 10) -> str:
    """'Billion laughs': each level repeats the previous one ``width`` times."""
    names = "abcdefghijklmnopqrstuvwxyz"[:levels]
    out = [f"{names[0]}: &{names[0]} [{', '.join(['lol'] * width)}]"]
    for previous, name in itertools.pairwise(names):
        out.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * width)}]")
    return "\n".join(out) + "\n"


#: Where the 9-level bomb goes over the budget: the 8th *d of e (e[7]), line 5.
#: a=11, b=111, c=1,111, d=11,111 values; aliases add 110 + 1,110 + 11,110 up
#: to d, then 11,111 per *d: the 8th makes 101,218 > 100,000.
BOMB_LINE = (
    ":5 e[7]: YAML aliases repeat more than 100,000 values in all "
    "(*d repeats 11,111); alias less (a schema many streams share can be one "
    "schema_file)"
)

_LIMITED_RUN = """
import resource, sys, time
limit = 500 * 2**20
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from tap_builder.cli import main
started = time.process_time()
code = main(["validate", sys.argv[1]])
print(f"{time.process_time() - started:.3f}")
sys.exit(code)
"""


def test_alias_bomb_fails_fast_in_little_memory(tmp_path: Path) -> None:
    """A ~500-byte bomb (10^9 values expanded) is one clear line, under 500 MB."""
    bomb = alias_bomb()
    assert len(bomb) < 700
    spec_file = tmp_path / "bomb.yaml"
    spec_file.write_text(bomb, encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-c", _LIMITED_RUN, str(spec_file)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=ROOT,
    )
    assert run.stderr.splitlines() == [f"{spec_file}{BOMB_LINE}", "1 problem found."]
    assert run.returncode == 1
    assert float(run.stdout.strip()) < 0.5  # CPU seconds spent validating


def test_alias_bomb_is_refused_while_parsing(tmp_path: Path) -> None:
    """In-process: the same refusal, with little memory allocated on the way."""
    import tracemalloc

    tracemalloc.start()
    try:
        with pytest.raises(SpecError) as caught:
            parse_spec_text(alias_bomb(), tmp_path / "bomb.yaml")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.lines() == [f"{tmp_path / 'bomb.yaml'}{BOMB_LINE}"]
    assert peak < 20 * 2**20


def test_alias_bomb_is_refused_by_the_pure_python_parser(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without libyaml, the composer is the same and refuses the same way."""
    monkeypatch.setattr(loader, "_SafeLoader", yaml.SafeLoader)
    with pytest.raises(SpecError) as caught:
        parse_spec_text(alias_bomb(), tmp_path / "bomb.yaml")
    assert caught.value.lines() == [f"{tmp_path / 'bomb.yaml'}{BOMB_LINE}"]


def test_aliases_within_the_budget_still_load(tmp_path: Path) -> None:
    """Anchors and aliases in normal use work; issues inside an alias point at it."""
    connector = validate_spec(load_spec(SAMPLE_SPECS / "features" / "lab_records.yaml"))
    assert connector.schemas["ledger_all"] == connector.schemas["ledger"]
    text = textwrap.dedent(
        """\
        name: Demo
        tap_id: demo
        base_url: https://api.example.com
        streams:
          - name: A
            id: a
            path: /a
            headers: &h {X-A: "a\\rb"}
            schema: &shared
              type: object
              properties: {id: {type: integer}}
          - name: B
            id: b
            path: /b
            primary_key: uid
            headers: *h
            schema: *shared
        """
    )
    problem = header_problem("\r", 1)
    assert lines_of(text, tmp_path) == [
        f":8 streams[0].headers.X-A: {problem}",
        ":15 streams[1].primary_key[0]: 'uid' is not a property of the schema "
        "(properties: id)",
        f":16 streams[1].headers.X-A: {problem}",
    ]


def test_small_bomb_under_the_budget_loads(tmp_path: Path) -> None:
    """Aliases repeating up to 100,000 values in all are fine (4 levels: 12,330)."""
    loaded = parse_spec_text(alias_bomb(levels=4), tmp_path / "s.yaml")
    assert len(loaded.data["d"]) == 10
    assert loaded.data["d"][0][0][0] == ["lol"] * 10


def test_recursive_alias_is_refused(tmp_path: Path) -> None:
    """An alias inside the value it names would repeat forever."""
    text = "name: Demo\nloop: &a\n  - x\n  - *a\n"
    assert lines_of(text, tmp_path) == [
        ":4 loop[1]: the alias *a is inside the value it names, which would repeat "
        "forever; an alias must come after its anchor's value ends"
    ]


def test_undefined_alias_is_a_yaml_error(tmp_path: Path) -> None:
    """An alias to no anchor is reported like any YAML syntax error."""
    assert lines_of("name: *nope\n", tmp_path) == [
        ":1 not valid YAML: found undefined alias 'nope'"
    ]


# --------------------------------------------------------------------------- #
# 2. File size, file kind and nesting depth
# --------------------------------------------------------------------------- #

TOO_DEEP = "nested deeper than 64 levels of lists and mappings; a spec needs far fewer"


def test_spec_over_5_mb_is_refused(tmp_path: Path) -> None:
    """5,000,000 bytes are read; one more byte is refused before parsing."""
    spec_file = tmp_path / "big.yaml"
    spec_file.write_text("# " + "x" * (5_000_000 - 3) + "\n", encoding="utf-8")
    assert spec_file.stat().st_size == 5_000_000
    with pytest.raises(SpecError) as caught:
        load_spec(spec_file)  # read and parsed: a comment is an empty spec
    assert caught.value.lines() == [
        f"{spec_file}:1 a spec is a mapping of keys (name, tap_id, ...), not empty"
    ]
    with spec_file.open("a", encoding="utf-8") as handle:
        handle.write("#")
    with pytest.raises(SpecError) as caught:
        load_spec(spec_file)
    assert caught.value.lines() == [
        f"{spec_file}: the spec is larger than 5 MB (5,000,001 bytes); a spec is at "
        "most that (put large schemas in schema_file files)"
    ]


def test_huge_sparse_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    """A 10 GB file is refused from its size (reading it would take minutes)."""
    spec_file = tmp_path / "huge.yaml"
    with spec_file.open("wb") as handle:
        handle.truncate(10 * 2**30)
    with pytest.raises(SpecError) as caught:
        load_spec(spec_file)
    assert caught.value.lines() == [
        f"{spec_file}: the spec is larger than 5 MB (10,737,418,240 bytes); a spec "
        "is at most that (put large schemas in schema_file files)"
    ]


def test_spec_text_over_5_mb_is_refused() -> None:
    """parse_spec_text (front ends without a file) has the same limit."""
    with pytest.raises(SpecError) as caught:
        parse_spec_text("#" * 5_000_001, Path("big.yaml"))
    assert caught.value.lines() == [
        "big.yaml: the spec is larger than 5 MB (5,000,001 characters); a spec is "
        "at most that (put large schemas in schema_file files)"
    ]


NOT_REGULAR = (
    ": cannot read the spec: it is not a regular file (a pipe, device or socket); "
    "give the path of a YAML or JSON file"
)


def test_fifo_is_refused_without_waiting(tmp_path: Path) -> None:
    """A FIFO as the spec path is refused at once (reading it would block)."""
    fifo = tmp_path / "spec.yaml"
    os.mkfifo(fifo)
    run = subprocess.run(
        [sys.executable, "-m", "tap_builder.cli", "validate", str(fifo)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=ROOT,
    )
    assert run.stderr.splitlines() == [f"{fifo}{NOT_REGULAR}", "1 problem found."]
    assert run.returncode == 1


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_device_is_refused(tmp_path: Path) -> None:
    """/dev/zero (endless) is refused, directly or through a symlink."""
    link = tmp_path / "zero.yaml"
    link.symlink_to("/dev/zero")
    for path in (Path("/dev/zero"), link):
        with pytest.raises(SpecError) as caught:
            load_spec(path)
        assert caught.value.lines() == [f"{path}{NOT_REGULAR}"]


def test_directory_is_refused(tmp_path: Path) -> None:
    """A directory as the spec path is one clear line."""
    with pytest.raises(SpecError) as caught:
        load_spec(tmp_path)
    assert caught.value.lines() == [
        f"{tmp_path}: cannot read the spec: it is a directory; give the path of a "
        "YAML or JSON file"
    ]


def nested(depth: int, *, json_text: bool) -> str:
    """A mapping (level 1) holding lists nested to ``depth`` levels in all."""
    inner = "[" * (depth - 1) + "]" * (depth - 1)
    return f'{{"a": {inner}}}' if json_text else f"a: {inner}\n"


@pytest.mark.parametrize("name", ["spec.yaml", "spec.json"])
def test_nesting_up_to_64_levels_loads(tmp_path: Path, name: str) -> None:
    """64 levels (the spec mapping is one) parse."""
    text = nested(64, json_text=name.endswith(".json"))
    loaded = parse_spec_text(text, tmp_path / name)
    assert loader.depth_of(loaded.data) == 64


def test_yaml_nesting_over_64_levels_names_the_field(tmp_path: Path) -> None:
    """The 65th level is refused at its field path and line."""
    path = "a" + "[0]" * 63
    assert lines_of(nested(65, json_text=False), tmp_path) == [f":1 {path}: {TOO_DEEP}"]
    block = "".join(f"{'  ' * i}k{i}:\n" for i in range(65)) + "  " * 65 + "x: 1\n"
    deep_path = ".".join(f"k{i}" for i in range(64))
    assert lines_of(block, tmp_path) == [f":65 {deep_path}: {TOO_DEEP}"]


@pytest.mark.parametrize("name", ["spec.yaml", "spec.json"])
def test_100k_deep_nesting_is_one_line(tmp_path: Path, name: str) -> None:
    """100,000 levels (a RecursionError for json.loads) is one clear line."""
    text = nested(100_000, json_text=name.endswith(".json"))
    issues = issues_of(text, tmp_path, name)
    assert [(i.line, i.message) for i in issues] == [(1, TOO_DEEP)]


def test_json_nesting_over_64_levels_names_the_line(tmp_path: Path) -> None:
    """JSON is checked before it is decoded; the line of the 65th level."""
    text = '{\n"a":\n' + "[" * 63 + "\n[]" + "]" * 63 + "}"
    assert lines_of(text, tmp_path, "spec.json") == [f":4 {TOO_DEEP}"]


def test_brackets_inside_json_strings_are_not_nesting(tmp_path: Path) -> None:
    """The depth check skips strings (with escaped quotes) like the decoder."""
    text = json.dumps({"name": '\\"[[[' * 100, "a": [[1]]})
    loaded = parse_spec_text(text, tmp_path / "spec.json")
    assert loaded.data["a"] == [[1]]


def test_a_100_stream_spec_loads_validates_and_renders(tmp_path: Path) -> None:
    """Many streams are fine: a 100-stream spec generates a 100-stream tap."""
    data = yaml.safe_load((SAMPLE_SPECS / "aircall.yaml").read_text(encoding="utf-8"))
    template = next(s for s in data["streams"] if s["id"] == "users")
    data["streams"] = []
    for n in range(100):
        stream = copy.deepcopy(template)
        stream |= {"id": f"users_{n:03d}", "name": f"Users {n}", "path": f"/u{n}"}
        data["streams"].append(stream)
    shutil.copytree(SAMPLE_SPECS / "schemas", tmp_path / "schemas")
    spec_file = tmp_path / "many.yaml"
    spec_file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    connector = validate_spec(load_spec(spec_file))
    assert len(connector.spec.streams) == 100
    files = render_package(connector)
    schemas = {p.stem for p in files if p.parent.name == "schemas"} - {"__init__"}
    assert schemas == {s.id for s in connector.spec.streams}


# --------------------------------------------------------------------------- #
# 3. Duplicate keys in JSON
# --------------------------------------------------------------------------- #


def test_json_duplicate_key_is_refused_with_its_line(tmp_path: Path) -> None:
    """YAML refuses duplicate keys; JSON now does too, at the duplicate's line."""
    text = '{\n  "name": "Demo",\n  "tap_id": "demo",\n  "name": "Other"\n}\n'
    assert lines_of(text, tmp_path, "spec.json") == [
        ":4 duplicate key 'name' (first on line 2); a key may appear only once in "
        "a mapping"
    ]


def test_json_nested_duplicate_names_its_mapping(tmp_path: Path) -> None:
    """A duplicate inside a stream names the mapping that holds it."""
    data = yaml.safe_load(variant())
    text = json.dumps(data, indent=2).replace(
        '"path": "/users",', '"path": "/users",\n      "path": "/people",', 1
    )
    lines = text.splitlines()
    first = next(n for n, line in enumerate(lines, 1) if '"/users"' in line)
    assert lines_of(text, tmp_path, "spec.json") == [
        f":{first + 1} streams[0]: duplicate key 'path' (first on line {first}); a "
        "key may appear only once in a mapping"
    ]


def test_json_duplicate_without_yaml_lines_is_still_refused(tmp_path: Path) -> None:
    """JSON that YAML cannot read (a key over 1024 characters) has no lines."""
    text = '{"' + "k" * 2000 + '": 1, "name": "a", "name": "b"}'
    assert lines_of(text, tmp_path, "spec.json") == [
        ": duplicate key 'name'; a key may appear only once in a mapping"
    ]


# --------------------------------------------------------------------------- #
# 4. Control characters in header values
# --------------------------------------------------------------------------- #


def header_problem(char: str, at: int) -> str:
    return (
        f"a header value cannot hold control characters ({char!r} at character "
        f"{at}): a line break would end the header and start another; remove it "
        "(a tab is the only one allowed)"
    )


SESSION = {
    "type": "session",
    "login_url": "/login",
    "body": {"user": "u"},
    "token_selector": "$.token",
}
HEADERS = [
    pytest.param(
        variant((f"{S0}.headers", {"X-Trace": "a\r\nX-Injected: 1"})),
        "streams[0].headers.X-Trace",
        header_problem("\r", 1),
        id="stream-header-crlf",
    ),
    pytest.param(
        variant(("authentication.value", "{config.api_key}\n")),
        "authentication.value",
        header_problem("\n", 16),
        id="api-key-in-header",
    ),
    pytest.param(
        variant(("authentication", {"type": "bearer", "token": "abc\x00"})),
        "authentication.token",
        header_problem("\x00", 3),
        id="bearer-token",
    ),
    pytest.param(
        variant(("authentication", {"type": "headers", "headers": {"X-Org": "o\x7f"}})),
        "authentication.headers.X-Org",
        header_problem("\x7f", 1),
        id="headers-auth",
    ),
    pytest.param(
        variant(("authentication", {**SESSION, "prefix": "Token\n"})),
        "authentication.prefix",
        header_problem("\n", 5),
        id="session-prefix",
    ),
    pytest.param(
        variant((f"{S0}.headers", {"X-Trace\n": "1"})),
        "streams[0].headers['X-Trace\\n']",
        "'X-Trace\\n' is not a valid HTTP header name",
        id="stream-header-name-trailing-newline",
    ),
    pytest.param(
        variant(("authentication", {**SESSION, "header": "X-Session\r\n"})),
        "authentication.header",
        "'X-Session\\r\\n' is not a valid HTTP header name",
        id="session-header-name",
    ),
    pytest.param(
        variant(
            (
                f"{PAGE}",
                {
                    "type": "page_increment",
                    "location": "header",
                    "attribute": "X-Page\n",
                },
            )
        ),
        "streams[0].pagination",
        "'X-Page\\n' is not a valid HTTP header name",
        id="pagination-header-name",
    ),
    pytest.param(
        variant(
            (
                f"{PAGE}",
                {"type": "cursor", "next_cursor_header": "X-Next\n", "param": "c"},
            )
        ),
        "streams[0].pagination.next_cursor_header",
        "'X-Next\\n' is not a valid HTTP header name",
        id="cursor-header-name",
    ),
    pytest.param(
        variant(
            (f"{INC}.location", "header"),
            (f"{INC}.param_name", "X-Since"),
            (f"{INC}.window", "P1D"),
            (f"{INC}.end_param", "X-Until\r"),
        ),
        "streams[0].incremental.end_param",
        "'X-Until\\r' is not a valid HTTP header name",
        id="window-end-header-name",
    ),
]


@pytest.mark.parametrize(("text", "path", "message"), HEADERS)
def test_control_characters_in_headers_are_refused(
    tmp_path: Path, text: str, path: str, message: str
) -> None:
    """Every header value or name the spec writes literally refuses CR/LF & co."""
    assert [(i.path, i.message) for i in issues_of(text, tmp_path)] == [(path, message)]


def test_an_issue_is_one_line_whatever_the_key(tmp_path: Path) -> None:
    """Keys and values with line breaks are shown escaped: one line per problem."""
    text = variant((f"{S0}.headers", {"X-A\r\nX-B": "v\n"}))
    assert lines_of(text, tmp_path) == [
        f":44 streams[0].headers['X-A\\r\\nX-B']: {header_problem(chr(10), 1)}",
        ":44 streams[0].headers['X-A\\r\\nX-B']: 'X-A\\r\\nX-B' is not a valid "
        "HTTP header name",
    ]


def test_header_values_may_hold_tabs_and_other_text(tmp_path: Path) -> None:
    """Tabs, non-ASCII text and numbers are not control characters."""
    text = variant(
        (f"{S0}.headers", {"X-A": "a\tb", "X-B": "café", "X-C": 5}),
        ("authentication.value", "key {config.api_key}"),
    )
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(text, encoding="utf-8")
    assert validate_spec(load_spec(spec_file)).spec.streams[0].headers["X-A"] == "a\tb"


def test_control_characters_in_a_query_api_key_are_fine(tmp_path: Path) -> None:
    """An API key sent in the query is URL-encoded, not a header: no rule."""
    text = variant(
        ("authentication.location", "query"),
        ("authentication.name", "key"),
        ("authentication.value", "{config.api_key}\n"),
    )
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(text, encoding="utf-8")
    assert validate_spec(load_spec(spec_file)).spec.authentication.type == "api_key"


# --------------------------------------------------------------------------- #
# 5. Secret parameters with a default
# --------------------------------------------------------------------------- #

PUBLISHED = (
    "a secret parameter cannot have a default: the default would be written into "
    "the generated tap's files (tap.py, README.md, meltano.yml) for anyone to "
    "read; remove it and put the value in the tap's config (use required: false "
    "if the setting is optional)"
)


def test_secret_parameter_default_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A default on a secret: true parameter is an error on its default."""
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(variant(("parameters.0.default", "sk-live-1")), "utf-8")
    code, err = cli(spec_file, capsys)
    assert (code, err) == (
        1,
        [f"{spec_file}:12 parameters[0].default: {PUBLISHED}", "1 problem found."],
    )


def test_secret_parameter_may_be_optional_without_default(tmp_path: Path) -> None:
    """required: false (no default) is the way to make a secret optional."""
    text = variant(("parameters.0.required", False), ("parameters.0.default", None))
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(text, encoding="utf-8")
    parameter = validate_spec(load_spec(spec_file)).spec.parameters[0]
    assert (parameter.secret, parameter.is_required) == (True, False)


def test_no_sample_spec_gives_a_secret_a_default() -> None:
    """The samples follow the rule (and so validate)."""
    for sample in sorted(SAMPLE_SPECS.rglob("*.yaml")):
        spec = validate_spec(load_spec(sample)).spec
        assert all(p.default is None for p in spec.parameters if p.secret), sample


# --------------------------------------------------------------------------- #
# 6. Values that are not JSON, keys that are not strings, boolean schemas
# --------------------------------------------------------------------------- #

SPEC_HEAD = textwrap.dedent(
    """\
    name: Demo
    tap_id: demo
    base_url: https://api.example.com
    streams:
      - name: Items
        id: items
        path: /items
        schema:
          type: object
          properties:
            id: {type: integer}
    """
)
PROPS = "streams[0].schema.properties"
ONLY_JSON = "a spec holds only strings, numbers, booleans, null, lists and mappings"


def prop(line: str) -> str:
    """SPEC_HEAD with one more line under properties (line 12)."""
    return SPEC_HEAD + "        " + line + "\n"


ODD_YAML = [
    pytest.param(
        prop("x: 2024-01-01"),
        f":12 {PROPS}.x: '2024-01-01' is read as a YAML date; quote it to make it "
        "a string",
        id="date",
    ),
    pytest.param(
        prop("x: {type: string, default: 2024-01-01 10:00:00}"),
        f":12 {PROPS}.x.default: '2024-01-01 10:00:00' is read as a YAML date-time; "
        "quote it to make it a string",
        id="datetime",
    ),
    pytest.param(
        prop("x: !!binary aGVsbG8="),
        f":12 {PROPS}.x: binary data (!!binary) is not a JSON value; {ONLY_JSON}",
        id="binary",
    ),
    pytest.param(
        prop("x: !!set {a, b}"),
        f":12 {PROPS}.x: a YAML set (!!set) is not a JSON value; write a list",
        id="set",
    ),
    pytest.param(
        prop("x: !!omap [{a: 1}]"),
        f":12 {PROPS}.x: !!omap is not a JSON value; write a plain mapping",
        id="omap",
    ),
    pytest.param(
        prop("x: !custom {type: string}"),
        f":12 {PROPS}.x: the YAML tag !custom on a mapping is not supported; "
        f"{ONLY_JSON}",
        id="custom-tag-mapping",
    ),
    pytest.param(
        prop("x: !!python/object:os.system ls"),
        f":12 {PROPS}.x: the YAML tag !!python/object:os.system is not supported; "
        f"{ONLY_JSON}",
        id="python-tag",
    ),
    pytest.param(
        prop("x: {enum: [=]}"),
        f":12 {PROPS}.x.enum[0]: an unquoted '=' is a YAML special value; quote it",
        id="value-tag",
    ),
    pytest.param(
        prop("x: {type: number, maximum: !!float big}"),
        f":12 {PROPS}.x.maximum: 'big' is not a number (tagged !!float)",
        id="bad-explicit-float",
    ),
    pytest.param(
        prop("x: {type: boolean, default: !!bool maybe}"),
        f":12 {PROPS}.x.default: 'maybe' is not a boolean (tagged !!bool)",
        id="bad-explicit-bool",
    ),
    pytest.param(
        prop("x: {type: number, maximum: .nan}"),
        f":12 {PROPS}.x.maximum: NaN is not a JSON number; write a number",
        id="nan",
    ),
    pytest.param(
        prop("x: {type: number, maximum: 1.0e+999}"),
        f":12 {PROPS}.x.maximum: infinity (or a number too large) is not a JSON number",
        id="float-overflow",
    ),
    pytest.param(
        prop("x: {type: integer, maximum: " + "9" * 4301 + "}"),
        f":12 {PROPS}.x.maximum: an integer with more than 4300 digits; quote it "
        "to make it a string",
        id="long-int",
    ),
    pytest.param(
        prop("1: {type: string}"),
        f":12 {PROPS}.1: keys must be strings, but '1' is read as an integer; "
        "quote it to make it a string",
        id="int-key",
    ),
    pytest.param(
        prop("null: {type: string}"),
        f":12 {PROPS}.null: keys must be strings, but 'null' is read as null; "
        "quote it to make it a string",
        id="null-key",
    ),
    pytest.param(
        prop("true: {type: string}"),
        f":12 {PROPS}.true: keys must be strings, but 'true' is read as a boolean; "
        "quote it to make it a string",
        id="bool-key",
    ),
    pytest.param(
        prop("2024-01-01: {type: string}"),
        f":12 {PROPS}.2024-01-01: keys must be strings, but '2024-01-01' is read as "
        "a date; quote it to make it a string",
        id="date-key",
    ),
    pytest.param(
        prop("? [a, b]\n        : {type: string}"),
        f":12 {PROPS}: a list cannot be a key; keys must be strings",
        id="list-key",
    ),
    pytest.param(
        prop("<<: {type: string}"),
        f":12 {PROPS}: merge keys (<<) are not supported; write the keys out, or "
        "alias the whole mapping",
        id="merge-key",
    ),
    pytest.param(
        prop("id: {type: string}"),
        f":12 {PROPS}: duplicate key 'id' (first on line 11); a key may appear "
        "only once in a mapping",
        id="duplicate-key",
    ),
]


@pytest.mark.parametrize(("text", "line"), ODD_YAML)
def test_odd_yaml_values_give_a_field_path(
    tmp_path: Path, text: str, line: str
) -> None:
    """Non-JSON YAML anywhere is one line naming the field, not a TypeError."""
    assert lines_of(text, tmp_path) == [line]


def test_every_odd_value_is_reported_at_once(tmp_path: Path) -> None:
    """Several odd values: one line each, in file order."""
    text = (
        "name: 2024-01-01\ntap_id: demo\n1: x\nbase_url: !!binary aGk=\n"
        "streams: !!set {a}\n"
    )
    assert lines_of(text, tmp_path) == [
        ":1 name: '2024-01-01' is read as a YAML date; quote it to make it a string",
        ":3 1: keys must be strings, but '1' is read as an integer; quote it to "
        "make it a string",
        f":4 base_url: binary data (!!binary) is not a JSON value; {ONLY_JSON}",
        ":5 streams: a YAML set (!!set) is not a JSON value; write a list",
    ]


def test_quoted_odd_values_are_plain_strings(tmp_path: Path) -> None:
    """Quoting makes them strings, and the spec is valid."""
    text = prop("x: {type: string, default: '2024-01-01', examples: ['=', '1.0e999']}")
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(text, encoding="utf-8")
    schema = validate_spec(load_spec(spec_file)).schemas["items"]
    assert schema["properties"]["x"]["default"] == "2024-01-01"


ODD_JSON = [
    pytest.param(
        '{"name": NaN}', ":1 name: NaN is not a JSON number; write a number", id="nan"
    ),
    pytest.param(
        '{"name": -Infinity}',
        ":1 name: infinity (or a number too large) is not a JSON number",
        id="infinity",
    ),
    pytest.param(
        '{"name":\n 1e400}',
        ":1 name: infinity (or a number too large) is not a JSON number",
        id="float-overflow",
    ),
    pytest.param(
        '{"name": ' + "9" * 5000 + "}",
        ":1 name: an integer with 5000 digits; at most 4300 (quote it to make it a "
        "string)",
        id="long-int",
    ),
]


@pytest.mark.parametrize(("text", "line"), ODD_JSON)
def test_odd_json_values_give_a_field_path(
    tmp_path: Path, text: str, line: str
) -> None:
    """JSON's non-standard constants and overflowing numbers are refused."""
    assert lines_of(text, tmp_path, "spec.json") == [line]


BOOLEAN_SCHEMAS = [
    pytest.param(
        (f"{S0}.schema.properties.extra", True),
        "streams[0].schema.properties.extra",
        "true as a schema is not supported; write {} to allow any value",
        id="true-property",
    ),
    pytest.param(
        (f"{S0}.schema.properties.extra", False),
        "streams[0].schema.properties.extra",
        "false as a schema is not supported; remove the property (records never "
        "hold it)",
        id="false-property",
    ),
    pytest.param(
        (f"{S0}.schema.properties.tags", {"type": "array", "items": True}),
        "streams[0].schema.properties.tags.items",
        "true as a schema is not supported; write {} to allow any value",
        id="true-items",
    ),
    pytest.param(
        (f"{S0}.schema.properties.tags", {"anyOf": [{"type": "null"}, False]}),
        "streams[0].schema.properties.tags.anyOf[1]",
        "false as a schema is not supported; write {not: {}} to allow no value",
        id="false-in-any-of",
    ),
    pytest.param(
        (
            f"{S0}.schema.properties.meta",
            {"type": "object", "properties": {"deep": True}},
        ),
        "streams[0].schema.properties.meta.properties.deep",
        "true as a schema is not supported; write {} to allow any value",
        id="nested-true-property",
    ),
]


@pytest.mark.parametrize(("edit", "path", "message"), BOOLEAN_SCHEMAS)
def test_boolean_subschemas_are_refused(
    tmp_path: Path, edit: tuple[str, object], path: str, message: str
) -> None:
    """true/false as a subschema: a clear error (taps walk schemas as objects)."""
    issues = issues_of(variant(edit), tmp_path)
    assert [(i.path, i.message) for i in issues] == [(path, message)]


def test_boolean_additional_properties_is_fine(tmp_path: Path) -> None:
    """additionalProperties: false (a flag more than a schema) stays valid."""
    spec_file = tmp_path / "spec.yaml"
    text = variant((f"{S0}.schema.additionalProperties", False))
    spec_file.write_text(text, encoding="utf-8")
    schemas = validate_spec(load_spec(spec_file)).schemas
    assert schemas["users"]["additionalProperties"] is False


SCHEMA_FILES = [
    pytest.param(
        {"type": "object", "properties": {"id": {"type": "integer"}, "x": True}},
        "at properties/x: true as a schema is not supported; write {} to allow "
        "any value",
        id="true-property",
    ),
    pytest.param(
        '{"type": "object", "properties": {"id": {"type": "integer", "maximum": NaN}}}',
        "at properties/id/maximum: NaN is not a JSON number; write a number",
        id="nan",
    ),
    pytest.param(
        '{"type": "object", "properties": {"id": {"enum": '
        + "[" * 70
        + "]" * 70
        + "}}}",
        "nested deeper than 64 levels",
        id="deep",
    ),
    pytest.param(
        '{"type": "object", "properties": {"id": '
        + "[" * 100_000
        + "]" * 100_000
        + "}}",
        "nested deeper than 64 levels",
        id="very-deep",
    ),
]


@pytest.mark.parametrize(("content", "message"), SCHEMA_FILES)
def test_odd_schema_files(tmp_path: Path, content: object, message: str) -> None:
    """A schema_file gets the same rules, reported on schema_file."""
    text = content if isinstance(content, str) else json.dumps(content)
    (tmp_path / "users.json").write_text(text, encoding="utf-8")
    spec = variant((f"{S0}.schema_file", "users.json"), (f"{S0}.schema", DROP))
    issues = issues_of(spec, tmp_path)
    assert [(i.path, i.message) for i in issues] == [
        ("streams[0].schema_file", message)
    ]


# --------------------------------------------------------------------------- #
# 7. Durations, rates and counts in range
# --------------------------------------------------------------------------- #

RATE_SECOND = (
    "is out of range: give at least one request an hour (0.000277778 per second) "
    "and at most 1000 per second"
)
RATE_MINUTE = (
    "is out of range: give at least one request an hour (0.0166667 per minute) "
    "and at most 60000 per minute"
)
WINDOW = ((f"{INC}.end_param", "until"),)

RANGES = [
    pytest.param(
        [(f"{INC}.lookback", "P99999999999999999999D")],
        "streams[0].incremental.lookback",
        "'P99999999999999999999D' is longer than 36,500 days (about 100 years); "
        "give a shorter duration (e.g. P1D, PT6H, P1DT12H)",
        id="lookback-overflow",
    ),
    pytest.param(
        [(f"{INC}.lookback", "P" + "9" * 5000 + "D")],
        "streams[0].incremental.lookback",
        "'P99999999999999999999999999...9999999D' (5,004 characters) is longer than "
        "36,500 days (about 100 years); give a shorter duration (e.g. P1D, PT6H, "
        "P1DT12H)",
        id="lookback-5000-digits",
    ),
    pytest.param(
        [(f"{INC}.window", "PT876000001H"), *WINDOW],
        "streams[0].incremental.window",
        "'PT876000001H' is longer than 36,500 days (about 100 years); give a "
        "shorter duration (e.g. P7D, PT12H)",
        id="window-overflow",
    ),
    pytest.param(
        [(f"{INC}.window", "P0D"), *WINDOW],
        "streams[0].incremental.window",
        "'P0D' is not a positive ISO-8601 duration (e.g. P7D, PT12H)",
        id="window-zero",
    ),
    pytest.param(
        [("rate_limit", {"requests_per_second": 1e-300})],
        "rate_limit.requests_per_second",
        f"1e-300 {RATE_SECOND}",
        id="rate-1e-300",
    ),
    pytest.param(
        [("rate_limit", {"requests_per_second": 1e308})],
        "rate_limit.requests_per_second",
        f"1e+308 {RATE_SECOND}",
        id="rate-1e308",
    ),
    pytest.param(
        [("rate_limit", {"requests_per_second": 0})],
        "rate_limit.requests_per_second",
        f"0 {RATE_SECOND}",
        id="rate-zero",
    ),
    pytest.param(
        [("rate_limit", {"requests_per_minute": 0.01})],
        "rate_limit.requests_per_minute",
        f"0.01 {RATE_MINUTE}",
        id="rate-per-minute-slow",
    ),
    pytest.param(
        [("rate_limit", {"requests_per_minute": -5})],
        "rate_limit.requests_per_minute",
        f"-5 {RATE_MINUTE}",
        id="rate-negative",
    ),
    pytest.param(
        [("rate_limit", {"requests_per_second": True})],
        "rate_limit.requests_per_second",
        "Input should be a valid number",
        id="rate-boolean",
    ),
    pytest.param(
        [(f"{PAGE}.limit", 10**12)],
        "streams[0].pagination.limit",
        "1000000000000 is too large: a page size is at most 1,000,000",
        id="limit-huge",
    ),
    pytest.param(
        [(f"{PAGE}.limit", 1e308)],
        "streams[0].pagination.limit",
        "Input should be a valid integer",
        id="limit-float",
    ),
    pytest.param(
        [(f"{PAGE}.limit", -1)],
        "streams[0].pagination.limit",
        "Input should be greater than 0",
        id="limit-negative",
    ),
    pytest.param(
        [(f"{PAGE}.max_pages", 10**30)],
        "streams[0].pagination.max_pages",
        "1000000000000000000000000000000 is too large: a count is at most "
        "1,000,000,000",
        id="max-pages-huge",
    ),
    pytest.param(
        [(f"{INC}.sorted", True), (f"{INC}.state_every", 10**10)],
        "streams[0].incremental.state_every",
        "10000000000 is too large: a count is at most 1,000,000,000",
        id="state-every-huge",
    ),
    pytest.param(
        [(f"{PAGE}", {"type": "page_increment", "attribute": "p", "start_from": -1})],
        "streams[0].pagination.start_from",
        "Input should be greater than or equal to 0",
        id="start-from-negative",
    ),
    pytest.param(
        [(f"{PAGE}", {"type": "page_increment", "attribute": "p", "start_from": 2e9})],
        "streams[0].pagination.start_from",
        "Input should be a valid integer",
        id="start-from-float",
    ),
]


@pytest.mark.parametrize(("edits", "path", "message"), RANGES)
def test_numbers_out_of_range_are_refused(
    tmp_path: Path, edits: list[tuple[str, object]], path: str, message: str
) -> None:
    """Durations, rates and counts that would overflow or stall at run time."""
    issues = issues_of(variant(*edits), tmp_path)
    assert [(i.path, i.message) for i in issues] == [(path, message)]


def test_numbers_at_the_bounds_are_valid(tmp_path: Path) -> None:
    """The bounds themselves are allowed."""
    text = variant(
        (f"{INC}.lookback", "P36500D"),
        (f"{INC}.window", "PT876000H"),
        (f"{INC}.end_param", "until"),
        (f"{INC}.sorted", True),
        (f"{INC}.state_every", 10**9),
        (f"{PAGE}.limit", 10**6),
        (f"{PAGE}.max_pages", 10**9),
        ("rate_limit", {"requests_per_second": 1 / 3600}),
    )
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(text, encoding="utf-8")
    spec = validate_spec(load_spec(spec_file)).spec
    assert spec.rate_limit is not None and spec.rate_limit.min_interval == 3600
    for rate in ({"requests_per_second": 1000}, {"requests_per_minute": 1 / 60}):
        assert models.RateLimit.model_validate(rate).min_interval in {0.001, 3600}


# --------------------------------------------------------------------------- #
# 8. allowed_hosts
# --------------------------------------------------------------------------- #


def test_allowed_hosts_default_to_none(tmp_path: Path) -> None:
    """No allowed_hosts (or null) means an empty list."""
    for text in (variant(), variant(("allowed_hosts", None))):
        spec_file = tmp_path / "spec.yaml"
        spec_file.write_text(text, encoding="utf-8")
        assert validate_spec(load_spec(spec_file)).spec.allowed_hosts == []


def test_allowed_hosts_are_normalised(tmp_path: Path) -> None:
    """Entries are lowercased; ports and IPv6 addresses are written canonically."""
    hosts = [
        "Files.Example.COM",
        "*.CDN.example.net:08443",
        "10.0.0.5",
        "[2001:DB8::1]:443",
    ]
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(variant(("allowed_hosts", hosts)), encoding="utf-8")
    assert validate_spec(load_spec(spec_file)).spec.allowed_hosts == [
        "files.example.com",
        "*.cdn.example.net:8443",
        "10.0.0.5",
        "[2001:db8::1]:443",
    ]
    field = models.Spec.model_fields["allowed_hosts"]
    assert field.description == (
        "Hosts, besides the API's own, that next-page URLs and redirects may lead "
        "to; requests to them carry no credentials"
    )


EXAMPLE = "e.g. files.example.com, *.example.com or 10.0.0.5:8443"
WILDCARD = (
    "a wildcard is '*.' at the start, for the subdomains of a domain "
    "(e.g. *.example.com)"
)
BAD_HOSTS = [
    (
        "https://files.example.com",
        "'https://files.example.com' is a URL; give only its host, without scheme "
        "and path",
    ),
    (
        "files.example.com/x",
        "'files.example.com/x' has a path; give only the host (and :port)",
    ),
    (
        "user@files.example.com",
        "'user@files.example.com' holds user info (user@); give only the host",
    ),
    (
        "files example.com",
        f"'files example.com' holds whitespace; give one host ({EXAMPLE})",
    ),
    ("", f"must not be empty ({EXAMPLE})"),
    (
        "*",
        f"'*': {WILDCARD}",
    ),
    (
        "a.*.example.com",
        f"'a.*.example.com': {WILDCARD}",
    ),
    (
        "*.com",
        "'*.com' would allow every host under a top-level domain; name a domain "
        "(e.g. *.example.com)",
    ),
    (
        "*.10.0.0.1",
        "'*.10.0.0.1': a wildcard (*.) goes before a domain, not an address",
    ),
    ("example.com:0", "'example.com:0' has an invalid port '0'; a port is 1 to 65535"),
    (
        "example.com:http",
        "'example.com:http' has an invalid port 'http'; a port is 1 to 65535",
    ),
    ("example.com:", "'example.com:' has an invalid port ''; a port is 1 to 65535"),
    ("::1", "'::1': an IPv6 address goes in brackets (e.g. [2001:db8::1])"),
    ("[::g]", "'[::g]' is not an IPv6 address in brackets (e.g. [2001:db8::1]:8443)"),
    ("10.0.0.256", "'10.0.0.256' is not a valid IPv4 address"),
    (
        "bücher.de",
        "'bücher.de' is not ASCII; write the name in its IDNA form (xn--...)",
    ),
    (
        "-bad-.example.com",
        "'-bad-.example.com' is not a valid host name: dot-separated labels of "
        f"letters, digits and '-' ({EXAMPLE})",
    ),
]


@pytest.mark.parametrize(("entry", "message"), BAD_HOSTS, ids=[h for h, _ in BAD_HOSTS])
def test_invalid_allowed_hosts_name_the_entry(
    tmp_path: Path, entry: str, message: str
) -> None:
    """Each bad entry is an error at allowed_hosts[i] saying what is valid."""
    text = variant(("allowed_hosts", ["api.example.com", entry]))
    issues = issues_of(text, tmp_path)
    assert [(i.path, i.message) for i in issues] == [("allowed_hosts[1]", message)]


def test_duplicate_allowed_hosts_are_refused(tmp_path: Path) -> None:
    """Entries equal after lowercasing are duplicates."""
    text = variant(
        ("allowed_hosts", ["a.example.com", "b.example.com", "A.example.com"])
    )
    issues = issues_of(text, tmp_path)
    assert [(i.path, i.message) for i in issues] == [
        ("allowed_hosts[2]", "duplicate host 'a.example.com' (allowed_hosts[0] has it)")
    ]


def test_allowed_hosts_must_be_a_list_of_strings(tmp_path: Path) -> None:
    """Wrong types are field errors like any other."""
    issues = issues_of(variant(("allowed_hosts", ["a.example.com", 5])), tmp_path)
    assert [(i.path, i.message) for i in issues] == [
        ("allowed_hosts[1]", "Input should be a valid string")
    ]


# --------------------------------------------------------------------------- #
# Property test: odd YAML/JSON anywhere never gives a traceback
# --------------------------------------------------------------------------- #

FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    max_examples=250,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)

YAML_SCALARS = [
    "1",
    "-7",
    "0x1F",
    "0o17",
    "1_000",
    "1:30",
    "1.5",
    ".nan",
    "-.inf",
    "1.0e+999",
    "2024-01-01",
    "2024-01-01 10:00:00",
    "2024-01-01T10:00:00Z",
    "true",
    "False",
    "null",
    "~",
    "''",
    "=",
    "<<",
    "!!binary aGVsbG8=",
    "!!int abc",
    "!!float x",
    "!!bool maybe",
    "!!str 5",
    "!!null x",
    "!foo bar",
    "!!python/name:os.system",
    "*a",
    "*b",
    "x",
    "'a: b'",
    '"\\u0000\\r\\n"',
    "9" * 4400,
]
yaml_scalar = st.sampled_from(YAML_SCALARS) | st.text(
    st.characters(blacklist_categories=("Cs",)), max_size=6
).map(lambda text: json.dumps(text, ensure_ascii=False))
yaml_tag = st.sampled_from(["", "", "", "&a ", "&b ", "!!set ", "!!omap ", "!x "])


def _yaml_collections(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    lists = st.lists(children, max_size=4).map(lambda xs: f"[{', '.join(xs)}]")
    maps = st.lists(st.tuples(yaml_scalar, children), max_size=4).map(
        lambda pairs: "{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}"
    )
    return st.tuples(yaml_tag, lists | maps).map("".join)


def _mostly(plain: list[str], odd: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A plain value (so validation goes on to its later checks) or an odd one;
    one time in ten, lists nested 50 to 400 deep."""
    deep = st.integers(50, 400).map(lambda n: "[" * n + "]" * n)
    return st.integers(0, 9).flatmap(
        lambda n: deep if n == 0 else st.sampled_from(plain) if n < 4 else odd
    )


yaml_values = st.recursive(yaml_scalar, _yaml_collections, max_leaves=12)
yaml_schemas = _mostly(["{type: string}", "{type: [integer, 'null']}"], yaml_values)
yaml_headers = _mostly(["v", "'{config.x}'", "1", '"a\\r\\nb"'], yaml_values)

JSON_ATOMS = [
    "1",
    "-0",
    "1.5",
    "1e400",
    "-1e400",
    "NaN",
    "Infinity",
    "-Infinity",
    "true",
    "null",
    '"x"',
    '"\\u0000"',
    "9" * 4400,
    '"a\\/b"',
]
json_key = st.sampled_from(['"a"', '"b"', '"id"', '"type"', '""'])


def _json_collections(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    lists = st.lists(children, max_size=4).map(lambda xs: f"[{', '.join(xs)}]")
    maps = st.lists(st.tuples(json_key, children), max_size=4).map(
        lambda pairs: "{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}"
    )
    return lists | maps


json_values = st.recursive(
    st.sampled_from(JSON_ATOMS), _json_collections, max_leaves=12
)
json_schemas = _mostly(
    ['{"type": "string"}', '{"type": ["integer", "null"]}'], json_values
)
json_headers = _mostly(['"v"', '"{config.x}"', "1", '"a\\r\\nb"'], json_values)

YAML_TEMPLATE = (
    "spec_version: 2\nname: Fuzz\ntap_id: fuzz\nbase_url: https://api.example.com\n{top}"
    "streams:\n  - name: Items\n    id: items\n    path: /items\n"
    "    headers: {{X-A: {header}}}\n"
    "    schema: {{type: object, properties: "
    "{{id: {{type: integer}}, {key}: {value}}}}}\n"
)
JSON_TEMPLATE = (
    '{{"spec_version": 2, "name": "Fuzz", "tap_id": "fuzz", '
    '"base_url": "https://api.example.com", '
    '{top}"streams": [{{"name": "Items", "id": "items", "path": "/items", '
    '"headers": {{"X-A": {header}}}, "schema": {{"type": "object", "properties": '
    '{{"id": {{"type": "integer"}}, {key}: {value}}}}}}}]}}'
)


def _check_no_traceback(
    text: str, name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec_file = tmp_path / name
    spec_file.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        validate_spec(load_spec(spec_file))
    except SpecError as exc:
        assert exc.lines()
        for line in exc.lines():  # one line per problem, naming the file
            assert line.startswith(str(spec_file)) and line.isprintable(), line
    code, err = cli(spec_file, capsys)
    assert code in (0, 1)
    if code == 1:
        *problems, summary = err
        assert problems and summary.endswith("found."), err
        assert all(line.startswith(str(spec_file)) for line in problems), err
    else:
        assert err == [], err


@settings(FUZZ)
@given(
    top=st.none() | st.tuples(yaml_scalar, yaml_values),
    key=yaml_scalar,
    value=yaml_schemas,
    header=yaml_headers,
)
def test_odd_yaml_anywhere_never_gives_a_traceback(
    top: tuple[str, str] | None,
    key: str,
    value: str,
    header: str,
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Dates, binary, sets, tags, aliases, odd keys, deep nesting: SpecError only."""
    text = YAML_TEMPLATE.format(
        top=f"{top[0]}: {top[1]}\n" if top else "", key=key, value=value, header=header
    )
    _check_no_traceback(text, "spec.yaml", tmp_path_factory.mktemp("y"), capsys)


@settings(FUZZ)
@given(
    top=st.none() | st.tuples(json_key, json_values),
    key=json_key,
    value=json_schemas,
    header=json_headers,
)
def test_odd_json_anywhere_never_gives_a_traceback(
    top: tuple[str, str] | None,
    key: str,
    value: str,
    header: str,
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """NaN, overflow, huge integers, duplicate keys, deep nesting: SpecError only."""
    text = JSON_TEMPLATE.format(
        top=f"{top[0]}: {top[1]}, " if top else "", key=key, value=value, header=header
    )
    _check_no_traceback(text, "spec.json", tmp_path_factory.mktemp("j"), capsys)


def test_fuzz_templates_are_valid_specs(tmp_path: Path) -> None:
    """The fuzz oracle's sanity check: plain values in the templates validate."""
    yaml_text = YAML_TEMPLATE.format(
        top="", key="x", value="{type: string}", header="v"
    )
    json_text = JSON_TEMPLATE.format(
        top="", key='"x"', value='{"type": "string"}', header='"v"'
    )
    for name, text in (("s.yaml", yaml_text), ("s.json", json_text)):
        (tmp_path / name).write_text(text, encoding="utf-8")
        connector = validate_spec(load_spec(tmp_path / name))
        assert set(connector.schemas["items"]["properties"]) == {"id", "x"}
