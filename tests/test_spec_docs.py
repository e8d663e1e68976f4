"""docs/spec.md and the spec's JSON Schema, checked against the models and runtime.

The page's conventions (key tables after ``<!-- keys: LOCATION -->``, YAML
examples after ``<!-- example: KIND -->``) are described at its top.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import types
import typing as t
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jsonschema
import pytest
from pydantic import BaseModel
from singer_sdk.helpers.jsonpath import extract_jsonpath

from tap_builder import SpecError, load_spec, parse_spec_text, validate_spec
from tap_builder.cli import main
from tap_builder.components import AUTHENTICATORS
from tap_builder.spec import models
from tap_builder.spec.fields import jsonpath_problem
from tap_builder.spec.schema import (
    DIALECT,
    SCHEMA_ID,
    SHORTHANDS,
    spec_json_schema,
    spec_json_schema_text,
)

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "spec.md"
#: Examples are validated as if the spec sat here (``item.schema.json`` exists).
EXAMPLE_SPEC = ROOT / "sample_specs" / "features" / "docs-example.yaml"
SAMPLES = sorted((ROOT / "sample_specs").glob("*.yaml")) + sorted(
    (ROOT / "sample_specs" / "features").glob("*.yaml")
)
TEXT = DOC.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- #
# Reading the page
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Row:
    """One row of a key table."""

    key: str
    type: str
    default: str
    meaning: str
    example: str
    line: int

    @property
    def text(self) -> str:
        return " | ".join((self.type, self.default, self.meaning, self.example))


_KEYS_MARKER = re.compile(r"^<!-- keys: (.+?) -->$")
_COLUMNS = ["key", "type", "default", "what it does", "example"]


def _cells(line: str) -> list[str]:
    inner = line.strip().removeprefix("|").removesuffix("|")
    return [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", inner)]


def key_tables(text: str) -> dict[str, list[Row]]:
    """Every ``<!-- keys: LOCATION -->`` table, by location."""
    lines = text.splitlines()
    tables: dict[str, list[Row]] = {}
    for number, line in enumerate(lines):
        if not (match := _KEYS_MARKER.match(line.strip())):
            continue
        location = match.group(1).strip()
        assert location not in tables, f"line {number + 1}: second table {location}"
        header = lines[number + 1]
        assert _cells(header) == _COLUMNS, f"line {number + 2}: columns {header!r}"
        rows: list[Row] = []
        for offset, row_line in enumerate(lines[number + 3 :], start=number + 4):
            if not row_line.startswith("|"):
                break
            cells = _cells(row_line)
            assert len(cells) == len(_COLUMNS), f"line {offset}: {len(cells)} cells"
            key = re.fullmatch(r"`([^`]+)`", cells[0])
            assert key, f"line {offset}: the key {cells[0]!r} is not in backticks"
            rows.append(Row(key.group(1), *cells[1:], line=offset))
        tables[location] = rows
    return tables


@dataclass(frozen=True)
class Example:
    """A YAML block and where it goes."""

    kind: str
    error: str | None
    text: str
    line: int

    @property
    def id(self) -> str:
        return f"line{self.line}-{self.kind}{'-invalid' if self.error else ''}"


_EXAMPLE = re.compile(
    r'<!-- example: (spec|wrapper|top|stream)(?: invalid "([^"]+)")? -->\n'
    r"```yaml\n(.*?)```",
    re.DOTALL,
)


def yaml_examples(text: str) -> list[Example]:
    """Every YAML block with its marker."""
    return [
        Example(m.group(1), m.group(2), m.group(3), text.count("\n", 0, m.start()) + 1)
        for m in _EXAMPLE.finditer(text)
    ]


TABLES = key_tables(TEXT)
EXAMPLES = yaml_examples(TEXT)
WRAPPER = next(e for e in EXAMPLES if e.kind == "wrapper")


# --------------------------------------------------------------------------- #
# Walking the models
# --------------------------------------------------------------------------- #


def _models_in(annotation: object, listed: bool = False) -> list[tuple[type, bool]]:
    """The models an annotation holds, and whether each sits in a list."""
    origin = t.get_origin(annotation)
    if origin is t.Annotated:
        return _models_in(t.get_args(annotation)[0], listed)
    if origin in (t.Union, types.UnionType):
        return [m for arg in t.get_args(annotation) for m in _models_in(arg, listed)]
    if origin in (tuple, list):
        args = [a for a in t.get_args(annotation) if a is not Ellipsis]
        return [m for arg in args for m in _models_in(arg, listed=True)]
    if origin is dict:
        return [m for arg in t.get_args(annotation) for m in _models_in(arg, listed)]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [(annotation, listed)]
    return []


def _variant(model: type[BaseModel]) -> str:
    (value,) = t.get_args(model.model_fields["type"].annotation)
    return str(value)


def model_locations() -> dict[str, type[BaseModel]]:
    """Every model reachable from Spec, by the location its key table names."""
    found: dict[str, type[BaseModel]] = {"spec": models.Spec}
    todo: list[tuple[type[BaseModel], str]] = [(models.Spec, "")]
    while todo:
        model, prefix = todo.pop()
        for name, info in model.model_fields.items():
            key = info.alias or name
            members = _models_in(info.annotation)
            for sub, listed in members:
                path = f"{prefix}{key}{'[]' if listed else ''}"
                location = f"{path} type={_variant(sub)}" if len(members) > 1 else path
                assert location not in found, location
                found[location] = sub
                todo.append((sub, f"{path}."))
    return found


LOCATIONS = model_locations()


def _keys(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def _inline(value: object) -> str:
    """A default as the page writes it: YAML flow style."""
    if isinstance(value, BaseModel):
        value = value.model_dump(by_alias=True)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_inline(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value) if not value or value != value.strip() else value
    return str(value)


def expected_default(model: type[BaseModel], key: str) -> str:
    """``required``, ``not set`` or the default in backticks."""
    info = next(i for n, i in model.model_fields.items() if (i.alias or n) == key)
    if info.is_required():
        return "required"
    value = info.get_default(call_default_factory=True, validated_data={})
    return "not set" if value is None else f"`{_inline(value)}`"


SCHEMA = spec_json_schema()
_TYPE_WORDS = {
    "string": "string",
    "integer": "integer",
    "number": "number",
    "boolean": "boolean",
    "array": "list",
    "object": "mapping",
}


def _property_schema(model: type[BaseModel], key: str) -> dict[str, t.Any]:
    definition = (
        SCHEMA if model is models.Spec else SCHEMA["definitions"][model.__name__]
    )
    return t.cast("dict[str, t.Any]", definition["properties"][key])


def _json_types(schema: dict[str, t.Any]) -> set[str]:
    """The JSON types a property allows (references followed one level)."""
    found: set[str] = set()
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        found |= _json_types(SCHEMA["definitions"][name])
    kind = schema.get("type")
    found |= {kind} if isinstance(kind, str) else set(kind or ())
    for keyword in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(keyword, []):
            found |= _json_types(option)
    return found - {"null"}


def _values(schema: dict[str, t.Any]) -> set[str]:
    """The enum and const values a property allows (not through references)."""
    found = {str(v) for v in schema.get("enum", [])}
    if "const" in schema:
        found.add(str(schema["const"]))
    for keyword in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(keyword, []):
            found |= _values(option)
    return found


# --------------------------------------------------------------------------- #
# The key tables
# --------------------------------------------------------------------------- #


def test_every_model_and_variant_has_one_key_table() -> None:
    """One table per model location (every variant too), and no table elsewhere."""
    assert set(TABLES) == set(LOCATIONS), (
        f"undocumented: {sorted(set(LOCATIONS) - set(TABLES))}; "
        f"no such model: {sorted(set(TABLES) - set(LOCATIONS))}"
    )
    assert "streams[].pagination type=cursor" in LOCATIONS
    assert "authentication type=session" in LOCATIONS


@pytest.mark.parametrize("location", sorted(LOCATIONS))
def test_each_table_lists_exactly_the_models_keys(location: str) -> None:
    """Every key of the model is documented, and no key the model lacks."""
    model = LOCATIONS[location]
    documented = [row.key for row in TABLES.get(location, [])]
    assert len(documented) == len(set(documented)), f"{location}: a key twice"
    assert set(documented) == set(_keys(model)), (
        f"{location}: missing {sorted(set(_keys(model)) - set(documented))}, "
        f"not in the model {sorted(set(documented) - set(_keys(model)))}"
    )


@pytest.mark.parametrize("location", sorted(LOCATIONS))
def test_each_row_has_the_models_default_type_and_values(location: str) -> None:
    """Defaults as the model has them; the schema's types and enum values named."""
    model = LOCATIONS[location]
    for row in TABLES.get(location, []):
        where = f"docs/spec.md:{row.line} {location}.{row.key}"
        assert all((row.type, row.default, row.meaning, row.example)), where
        assert row.default.startswith(expected_default(model, row.key)), (
            f"{where}: default {row.default!r}, the model says "
            f"{expected_default(model, row.key)!r}"
        )
        prop = _property_schema(model, row.key)
        for kind in sorted(_json_types(prop)):
            assert _TYPE_WORDS[kind] in row.type, f"{where}: type lacks {kind}"
        for value in sorted(_values(prop)):
            assert f"`{value}`" in row.text, f"{where}: value {value!r} not shown"


def test_key_table_reader_catches_a_missing_and_an_extra_key() -> None:
    """The checks above fail on a page that drifted (guards the parser itself)."""
    drifted = TEXT.replace("| `client_auth` |", "| `client_authx` |")
    rows = key_tables(drifted)["authentication type=oauth2"]
    keys = {row.key for row in rows}
    assert "client_auth" not in keys and "client_authx" in keys
    assert keys != set(_keys(AUTHENTICATORS["oauth2"].model))


# --------------------------------------------------------------------------- #
# The YAML examples
# --------------------------------------------------------------------------- #


def test_every_yaml_block_is_a_marked_example() -> None:
    """No YAML block escapes the checks; there are examples of every kind."""
    assert len(re.findall(r"^```yaml$", TEXT, re.MULTILINE)) == len(EXAMPLES)
    kinds = {e.kind for e in EXAMPLES}
    assert kinds == {"spec", "wrapper", "top", "stream"}
    assert any(e.error for e in EXAMPLES)


def _spec_data(example: Example) -> dict[str, t.Any]:
    fragment = parse_spec_text(example.text, EXAMPLE_SPEC).data
    if example.kind in {"spec", "wrapper"}:
        return t.cast("dict[str, t.Any]", fragment)
    data = copy.deepcopy(parse_spec_text(WRAPPER.text, EXAMPLE_SPEC).data)
    if example.kind == "top":
        data.update(fragment)
    else:
        stream = data["streams"][0]
        if {"schema", "schema_file"} & set(fragment):
            stream.pop("schema")
        stream.update(fragment)
    return t.cast("dict[str, t.Any]", data)


def _validate(data: dict[str, t.Any]) -> None:
    loaded = parse_spec_text(json.dumps(data), EXAMPLE_SPEC.with_suffix(".json"))
    validate_spec(loaded)


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.id for e in EXAMPLES])
def test_yaml_example_validates(example: Example) -> None:
    """Each example is a valid spec (or fails as it says), and fits the schema."""
    data = _spec_data(example)
    if example.error is None:
        _validate(data)
        jsonschema.validate(data, SCHEMA)  # a valid spec always fits the schema
        return
    with pytest.raises(SpecError) as caught:
        _validate(data)
    messages = [issue.message for issue in caught.value.issues]
    assert any(example.error in m for m in messages), messages


def test_complete_example_is_validated_as_written(tmp_path: Path) -> None:
    """A ``spec`` example is a file tap-builder accepts, through load_spec."""
    (complete,) = [e for e in EXAMPLES if e.kind == "spec"]
    spec_file = tmp_path / "aircall.yaml"
    spec_file.write_text(complete.text, encoding="utf-8")
    connector = validate_spec(load_spec(spec_file))
    assert [s.id for s in connector.spec.streams] == ["calls", "users"]


# --------------------------------------------------------------------------- #
# The patterns the page promises
# --------------------------------------------------------------------------- #


def test_last_record_id_cursor() -> None:
    """``$.data[-1].id`` is the last record's id, in the SDK's JSONPath and the tap."""
    from tap_builder.runtime.paging import CursorPaginator

    page = {"data": [{"id": "a"}, {"id": "b"}, {"id": "c"}], "has_more": True}
    for path in ("$.data[-1].id", "$.data[-1:].id"):
        assert jsonpath_problem(path) is None
        assert list(extract_jsonpath(path, input=page)) == ["c"]
    assert jsonpath_problem("$.data[(@.length-1)].id") is not None

    paginator = CursorPaginator(decode=lambda body: body, selector="$.data[-1].id")
    assert paginator.get_next(t.cast("t.Any", page)) == "c"
    last = {"data": [{"id": "d"}]}
    assert paginator.get_next(t.cast("t.Any", last)) == "d"
    assert paginator.get_next(t.cast("t.Any", {"data": []})) is None  # stops
    with pytest.raises(Exception, match="pagination loop"):
        paginator.get_next(t.cast("t.Any", last))  # the API ignored the cursor
    assert "$.data[-1].id" in TEXT


def _ms(text: str) -> str:
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return str(int(moment.timestamp() * 1000))


def test_lookback_applies_to_start_date_and_bookmark() -> None:
    """The filter is the bookmark or start_date (the later, for date-time keys),
    minus lookback; client_filter compares with the starting value itself."""
    from tap_builder.commands.preview import run_stream
    from tap_builder.demo import DemoServer, demo_config

    data = load_spec(ROOT / "sample_specs" / "features" / "lab_records.yaml").data
    data["streams"][1]["incremental"]["lookback"] = "P2D"  # ledger_all: client_filter
    connector = validate_spec(
        parse_spec_text(json.dumps(data), EXAMPLE_SPEC.with_suffix(".json"))
    )
    ledger = connector.spec.streams[0].incremental
    assert ledger is not None and ledger.lookback == "PT1H"
    start = {"start_date": "2024-04-05T09:30:00Z"}

    def state(value: str) -> dict[str, t.Any]:
        bookmark = {"replication_key": "booked", "replication_key_value": value}
        return {"bookmarks": {"ledger": bookmark}}

    with DemoServer() as server:
        config = demo_config("lab", server.url)

        def sent(settings: dict[str, t.Any], **kwargs: t.Any) -> list[str] | None:
            result = run_stream(
                connector, "ledger", {**config, **settings}, limit=None, **kwargs
            )
            query = parse_qs(urlsplit(result.requests[0].url).query)
            return query.get("since_ms")

        assert sent(start) == [_ms("2024-04-05T08:30:00Z")]
        assert sent(start, state=state("2024-04-03T09:30:00+00:00")) == [
            _ms("2024-04-05T08:30:00Z")
        ]
        assert sent(start, state=state("2024-04-07T09:30:00+00:00")) == [
            _ms("2024-04-07T08:30:00Z")
        ]
        assert sent({}) is None
        everything = run_stream(
            connector, "ledger_all", {**config, **start}, limit=None
        )
    # booked on April 1..8 at 09:30; a lookback of two days would keep 3 and 4
    assert [r["id"] for r in everything.records] == [5, 6, 7, 8]


def test_integer_key_bookmark_wins_over_start_date() -> None:
    """For a Unix-timestamp key, an older bookmark still wins over start_date."""
    from tap_builder.commands.preview import run_stream
    from tap_builder.demo import DemoServer, demo_config

    connector = validate_spec(load_spec(ROOT / "sample_specs" / "chargebee.yaml"))
    stream = connector.spec.streams[0]
    assert stream.incremental is not None
    bookmark = {"replication_key": "updated_at", "replication_key_value": 1000}
    with DemoServer() as server:
        config = {
            **demo_config("chargebee", server.url),
            "start_date": "2024-01-01T00:00:00Z",
        }
        result = run_stream(
            connector,
            stream.id,
            config,
            limit=1,
            state={"bookmarks": {stream.id: bookmark}},
        )
    query = parse_qs(urlsplit(result.requests[0].url).query)
    assert query[str(stream.incremental.param_name)] == ["1000"]


# --------------------------------------------------------------------------- #
# The JSON Schema
# --------------------------------------------------------------------------- #


def test_schema_command_prints_a_valid_json_schema(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``tap-builder schema``: JSON on stdout, exit 0, a valid draft-07 schema."""
    assert main(["schema"]) == 0
    out, err = capsys.readouterr()
    printed = json.loads(out)
    assert err == ""
    assert printed == SCHEMA
    assert out.strip() == spec_json_schema_text()
    assert printed["$schema"] == DIALECT == "http://json-schema.org/draft-07/schema#"
    assert printed["$id"] == SCHEMA_ID
    assert printed["title"] and printed["description"]
    validator = jsonschema.validators.validator_for(printed)
    assert validator is jsonschema.Draft7Validator
    validator.check_schema(printed)
    assert "$defs" not in out  # draft-07 keeps definitions under "definitions"
    assert set(printed["properties"]) == set(_keys(models.Spec))


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_sample_specs_fit_the_schema(path: Path) -> None:
    """Every sample spec, loaded as plain data, fits the published schema."""
    jsonschema.validate(load_spec(path).data, SCHEMA)


def _minimal() -> dict[str, t.Any]:
    return t.cast("dict[str, t.Any]", parse_spec_text(WRAPPER.text).data)


def _set(path: tuple[str | int, ...], value: object) -> dict[str, t.Any]:
    data = _minimal()
    node: t.Any = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return data


INVALID = {
    "unknown top-level key": _set(("colour",), "blue"),
    "unknown stream key": _set(("streams", 0, "methd"), "GET"),
    "unknown pagination key": _set(
        ("streams", 0, "pagination"), {"type": "cursor", "param": "c", "nxt": "$.n"}
    ),
    "wrong type: name": _set(("name",), 42),
    "wrong type: streams": _set(("streams",), {"id": "x"}),
    "wrong type: required": _set(("parameters", 0, "required"), "yes"),
    "wrong type: limit": _set(
        ("streams", 0, "pagination"),
        {"type": "offset", "offset_param": "o", "limit_param": "l", "limit": "10"},
    ),
    "unknown authentication type": _set(("authentication",), {"type": "digest"}),
    "unknown pagination type": _set(
        ("streams", 0, "pagination"), {"type": "pages", "attribute": "page"}
    ),
    "bad tap_id": _set(("tap_id",), "Not An Id"),
    "bad response_format": _set(("streams", 0, "response_format"), "text/html"),
    "bad child_context key": _set(("streams", 0, "child_context"), {"a-b": "id"}),
    "missing streams": {k: v for k, v in _minimal().items() if k != "streams"},
}


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_specs_fail_the_schema_and_validation(name: str) -> None:
    """Unknown keys and wrong types fail the schema, as they fail validate."""
    data = INVALID[name]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, SCHEMA)
    with pytest.raises(SpecError):
        _validate(data)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("streams", 0, "primary_key"), "id"),
        (("streams", 0, "primary_key"), None),
        (("streams", 0, "method"), "get"),
        (("streams", 0, "child_context"), ["id"]),
        (("streams", 0, "record_filter"), {"field": "status", "value": "open"}),
        (("authentication",), None),
        (("parameters",), None),
        (("allowed_hosts",), None),
    ],
)
def test_shorthands_fit_the_schema(path: tuple[str | int, ...], value: object) -> None:
    """Shorter forms the models accept are accepted by the schema too."""
    data = _set(path, value)
    _validate(data)
    jsonschema.validate(data, SCHEMA)


def test_shorthands_cover_every_before_validator() -> None:
    """A ``before`` validator means another input form: the schema must list it."""
    before: set[tuple[str, str]] = set()
    for model in {*LOCATIONS.values()}:
        decorators = model.__pydantic_decorators__
        assert not any(
            d.info.mode in {"before", "wrap"}
            for d in decorators.model_validators.values()
        ), f"{model.__name__}: a model validator changes input forms"
        for decorator in decorators.field_validators.values():
            if decorator.info.mode in {"before", "wrap", "plain"}:
                before |= {(model.__name__, field) for field in decorator.info.fields}
    assert before == set(SHORTHANDS)


def test_editor_line_is_documented() -> None:
    """The page gives the editor line and the command that writes the schema."""
    assert "# yaml-language-server: $schema=spec.schema.json" in TEXT
    assert "tap-builder schema > spec.schema.json" in TEXT
