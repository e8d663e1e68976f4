"""Spec validation: every rule reports its field path, message and line."""

from __future__ import annotations

import copy
import json
import shutil
import typing as t
from pathlib import Path, PurePosixPath

import pytest
import yaml

from tap_builder import SpecError, SpecIssue, load_spec, validate_spec
from tap_builder.components import AUTHENTICATORS
from tap_builder.spec import models

SAMPLE_SPECS = Path(__file__).resolve().parent.parent / "sample_specs"
SAMPLES = sorted(SAMPLE_SPECS.glob("*.yaml"))

#: A valid spec touching every feature; each invalid case changes a little of it.
BASE: dict[str, t.Any] = {
    "name": "Demo",
    "tap_id": "demo-api",
    "base_url": "https://api.example.com/v1",
    "authentication": {
        "type": "api_key",
        "location": "header",
        "name": "X-Api-Key",
        "value": "{config.api_key}",
    },
    "parameters": [
        {"name": "api_key", "secret": True},
        {"name": "page_size", "type": "integer", "default": 10},
    ],
    "streams": [
        {
            "name": "Users",
            "id": "users",
            "path": "/users",
            "primary_key": "id",
            "query_params": {"per_page": "{config.page_size}"},
            "pagination": {
                "type": "offset",
                "offset_param": "offset",
                "limit_param": "limit",
                "limit": 10,
            },
            "incremental": {"replication_key": "updated_at", "param_name": "since"},
            "records_selector": "$.users[*]",
            "child_context": {"user_id": "id"},
            "schema": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "name": {"type": "string"},
                    "updated_at": {"type": "string", "format": "date-time"},
                },
            },
        },
        {
            "name": "Posts",
            "id": "posts",
            "path": "/users/{user_id}/posts",
            "parent_stream": "users",
            "primary_key": "id",
            "schema": {
                "type": "object",
                "properties": {"id": {"type": "integer"}, "title": {"type": "string"}},
            },
        },
    ],
}

DROP = object()


def variant(*edits: tuple[str, object]) -> str:
    """BASE as YAML with each ``(dotted.path, value)`` set (DROP removes the key)."""
    data = copy.deepcopy(BASE)
    for dotted, value in edits:
        *parents, last = (int(p) if p.isdigit() else p for p in dotted.split("."))
        node = data
        for part in parents:
            node = node[part]
        if value is DROP:
            del node[last]
        elif isinstance(node, list) and last == len(node):
            node.append(value)
        else:
            node[last] = value
    return yaml.safe_dump(data, sort_keys=False)


def issues_of(text: str, tmp_path: Path, name: str = "spec.yaml") -> list[SpecIssue]:
    spec_file = tmp_path / name
    spec_file.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        validate_spec(load_spec(spec_file))
    return caught.value.issues


def find(issues: list[SpecIssue], path: str, fragment: str) -> SpecIssue:
    matches = [i for i in issues if i.path == path and fragment in i.message]
    assert matches, f"no issue at {path!r} with {fragment!r} in {issues}"
    return matches[0]


S0 = "streams.0"
PAGE = "streams.0.pagination"
INC = "streams.0.incremental"

INVALID = [
    # id and name patterns
    pytest.param(
        variant(("tap_id", "Demo_API")), "tap_id", "hyphen-separated", id="tap-id-case"
    ),
    pytest.param(
        variant(("tap_id", "demo--api")),
        "tap_id",
        "'demo--api' is not valid",
        id="tap-id-hyphens",
    ),
    pytest.param(
        variant(("tap_id", "1demo")),
        "tap_id",
        "starting with a letter",
        id="tap-id-digit",
    ),
    pytest.param(
        variant((f"{S0}.id", "user-list")),
        "streams[0].id",
        "use snake_case",
        id="stream-id-dash",
    ),
    pytest.param(
        variant((f"{S0}.id", "1users")),
        "streams[0].id",
        "not starting with a digit",
        id="stream-id-digit",
    ),
    pytest.param(
        variant(("parameters.0.name", "API-key")),
        "parameters[0].name",
        "'API-key' is not valid: use lowercase letters, digits and _",
        id="parameter-name",
    ),
    # required keys
    pytest.param(
        variant(("base_url", DROP)), "base_url", "required", id="missing-base-url"
    ),
    pytest.param(variant(("name", "")), "name", "must not be empty", id="empty-name"),
    pytest.param(
        variant((f"{S0}.path", DROP)), "streams[0].path", "required", id="missing-path"
    ),
    pytest.param(
        variant(("authentication.name", DROP)),
        "authentication.name",
        "required",
        id="missing-auth-name",
    ),
    pytest.param(
        variant((f"{PAGE}.offset_param", DROP)),
        "streams[0].pagination.offset_param",
        "required",
        id="missing-offset-param",
    ),
    # unknown keys
    pytest.param(
        variant(("base_ur", "x")),
        "base_ur",
        "unknown key 'base_ur'. Did you mean 'base_url'?",
        id="unknown-top",
    ),
    pytest.param(
        variant((f"{S0}.primary_keys", "id")),
        "streams[0].primary_keys",
        "Did you mean 'primary_key'?",
        id="unknown-stream-key",
    ),
    pytest.param(
        variant(
            (
                f"{S0}.pagination",
                {"type": "page_increment", "attribute": "page", "start_at": 2},
            )
        ),
        "streams[0].pagination.start_at",
        "Did you mean 'start_from'?",
        id="unknown-pagination-key",
    ),
    pytest.param(
        variant(("parameters.0.labl", "Key")),
        "parameters[0].labl",
        "Did you mean 'label'?",
        id="unknown-param-key",
    ),
    # unknown types and literals
    pytest.param(
        variant(("authentication", {"type": "kerberos"})),
        "authentication.type",
        "'kerberos' is not a known type. "
        "Use one of: api_key, basic, bearer, headers, oauth2, session, jwt, aws_sigv4, "
        "none",
        id="auth-type",
    ),
    pytest.param(
        variant((f"{PAGE}", {"type": "pages"})),
        "streams[0].pagination.type",
        "'pages' is not a known type. Use one of: page_increment, offset, "
        "records_offset, cursor, next_url, link_header",
        id="pagination-type",
    ),
    pytest.param(
        variant((f"{PAGE}", {"attribute": "page"})),
        "streams[0].pagination.type",
        "type is required",
        id="pagination-no-type",
    ),
    pytest.param(
        variant(("authentication.location", "cookie")),
        "authentication.location",
        "'cookie' is not valid. Use one of: header, query",
        id="auth-location",
    ),
    pytest.param(
        variant((f"{INC}.location", "body")),
        "streams[0].incremental.location",
        "Use one of: query, header",
        id="incremental-location",
    ),
    pytest.param(
        variant((f"{S0}.method", "PUT")),
        "streams[0].method",
        "Use one of: GET, POST",
        id="method",
    ),
    pytest.param(
        variant(("parameters.1.type", "float")),
        "parameters[1].type",
        "'float' is not valid. Use one of: string, integer",
        id="parameter-type",
    ),
    pytest.param(
        variant((f"{PAGE}.limit", 0)),
        "streams[0].pagination.limit",
        "greater than 0",
        id="limit-zero",
    ),
    pytest.param(
        variant(("streams", "users")),
        "streams",
        "must be a list",
        id="streams-not-list",
    ),
    pytest.param(
        variant(("streams.2", "orders")),
        "streams[2]",
        "must be a mapping",
        id="stream-not-mapping",
    ),
    # uniqueness, built-ins, defaults
    pytest.param(
        variant(
            ("streams.1.id", "users"),
            ("streams.1.parent_stream", DROP),
            ("streams.1.path", "/u"),
        ),
        "streams[1].id",
        "duplicate stream id 'users' (streams[0] has it)",
        id="duplicate-stream-id",
    ),
    pytest.param(
        variant(("parameters.1.name", "api_key")),
        "parameters[1].name",
        "duplicate parameter 'api_key' (parameters[0] has it)",
        id="duplicate-parameter",
    ),
    pytest.param(
        variant(("parameters.2", {"name": "api_url"})),
        "parameters[2].name",
        "'api_url' is a built-in setting",
        id="builtin-api-url",
    ),
    pytest.param(
        variant(("parameters.2", {"name": "start_date", "type": "date-time"})),
        "parameters[2].name",
        "'start_date' is a built-in setting",
        id="builtin-start-date",
    ),
    pytest.param(
        variant(("parameters.1.default", "10")),
        "parameters[1].default",
        "'10' is not an integer",
        id="default-string-for-integer",
    ),
    pytest.param(
        variant(("parameters.2", {"name": "ratio", "type": "number", "default": True})),
        "parameters[2].default",
        "True is not a number",
        id="default-bool-for-number",
    ),
    # variables
    pytest.param(
        variant((f"{S0}.path", "/users{")),
        "streams[0].path",
        "lone '{' at character 7",
        id="lone-open-brace",
    ),
    pytest.param(
        variant((f"{S0}.query_params.q", "a}")),
        "streams[0].query_params.q",
        "lone '}'",
        id="lone-close-brace",
    ),
    pytest.param(
        variant(
            (f"{S0}.method", "POST"), (f"{S0}.body", {"filter": {"tags": ["a{b"]}})
        ),
        "streams[0].body",
        "lone '{'",
        id="lone-brace-in-body",
    ),
    pytest.param(
        variant(("authentication.value", "{config.token}")),
        "authentication.value",
        "{config.token} refers to an undeclared parameter. Declared: api_key, api_url",
        id="undeclared-config",
    ),
    pytest.param(
        variant(("base_url", "{config.api_url}/v1")),
        "base_url",
        "base_url cannot refer to {config.api_url}",
        id="api-url-in-base-url",
    ),
    pytest.param(
        variant((f"{INC}", DROP), (f"{S0}.query_params.since", "{config.start_date}")),
        "streams[0].query_params.since",
        "{config.start_date} exists only in taps with an incremental stream",
        id="start-date-without-incremental",
    ),
    pytest.param(
        variant(("parameters.0.secret", "yes")),
        "parameters[0].secret",
        "valid boolean",
        id="secret-not-a-bool",
    ),
    pytest.param(
        variant(("parameters.0.type", "date-time"), ("parameters.0.default", "soon")),
        "parameters[0].default",
        "not an ISO-8601 date-time with a time zone",
        id="date-time-default-not-a-date",
    ),
    pytest.param(
        variant(("logo", "missing.png")),
        "logo",
        "cannot read the logo file",
        id="logo-file-missing",
    ),
    pytest.param(
        variant(("logo", "logo.txt")),
        "logo",
        "a logo is an http(s) URL or an image file",
        id="logo-not-an-image",
    ),
    pytest.param(
        variant((f"{S0}.path", "/users/{user_id}")),
        "streams[0].path",
        "{user_id} is a parent-context variable, but this stream has no parent_stream",
        id="bare-variable-not-child",
    ),
    pytest.param(
        variant(("authentication.value", "{api_key}")),
        "authentication.value",
        "did you mean {config.api_key}?",
        id="bare-variable-tap-level",
    ),
    pytest.param(
        variant(("streams.1.path", "/users/{account_id}/posts")),
        "streams[1].path",
        "{account_id} is not provided by the child_context of parent 'users' "
        "(it provides: user_id)",
        id="bare-variable-not-in-context",
    ),
    # parents and child_context
    pytest.param(
        variant(("streams.1.parent_stream", "accounts")),
        "streams[1].parent_stream",
        "no stream has id 'accounts'. Stream ids: posts, users",
        id="parent-missing",
    ),
    pytest.param(
        variant(("streams.1.parent_stream", "posts")),
        "streams[1].parent_stream",
        "a stream cannot be its own parent",
        id="parent-self",
    ),
    pytest.param(
        variant(
            (f"{S0}.parent_stream", "posts"),
            ("streams.1.child_context", {"post_id": "id"}),
        ),
        "streams[0].parent_stream",
        "parent_stream links form a cycle through 'users'",
        id="parent-cycle",
    ),
    pytest.param(
        variant((f"{S0}.child_context", DROP)),
        "streams[1].parent_stream",
        "parent 'users' has no child_context",
        id="parent-without-child-context",
    ),
    pytest.param(
        variant((f"{S0}.child_context", {"user_id": "uid"})),
        "streams[0].child_context.user_id",
        "'uid' is not a property of the schema (properties: id, name, updated_at)",
        id="child-context-field",
    ),
    pytest.param(
        variant((f"{S0}.child_context", {"user_id": "$.[["})),
        "streams[0].child_context.user_id",
        "'$.[[' is not a valid JSONPath",
        id="child-context-jsonpath",
    ),
    pytest.param(
        variant((f"{S0}.child_context", {"user-id": "id"})),
        "streams[0].child_context.user-id",
        "'user-id' is not valid: context keys are identifiers",
        id="child-context-key",
    ),
    pytest.param(
        variant((f"{S0}.query_params", {"": 1})),
        "streams[0].query_params",
        "keys must not be empty",
        id="empty-query-param-name",
    ),
    # selectors
    pytest.param(
        variant((f"{S0}.records_selector", "$.users[*")),
        "streams[0].records_selector",
        "'$.users[*' is not a valid JSONPath",
        id="records-selector",
    ),
    pytest.param(
        variant((f"{PAGE}.next_offset_selector", "$..[[")),
        "streams[0].pagination.next_offset_selector",
        "is not a valid JSONPath",
        id="next-offset-selector",
    ),
    # schemas and the fields they declare
    pytest.param(
        variant((f"{S0}.schema_file", "users.json")),
        "streams[0]",
        "give exactly one of schema or schema_file (both are given)",
        id="schema-and-schema-file",
    ),
    pytest.param(
        variant((f"{S0}.schema", DROP)),
        "streams[0]",
        "give exactly one of schema or schema_file (neither is given)",
        id="no-schema",
    ),
    pytest.param(
        variant((f"{S0}.schema_file", "missing.json"), (f"{S0}.schema", DROP)),
        "streams[0].schema_file",
        "file not found",
        id="schema-file-missing",
    ),
    pytest.param(
        variant((f"{S0}.schema", {"type": "array", "items": {}})),
        "streams[0].schema",
        "a record schema must have type: object and a properties mapping",
        id="schema-not-object",
    ),
    pytest.param(
        variant((f"{S0}.schema.properties.id.type", "integr")),
        "streams[0].schema",
        "not a valid JSON Schema at properties/id/type",
        id="schema-invalid",
    ),
    pytest.param(
        variant((f"{S0}.primary_key", ["id", "uid"])),
        "streams[0].primary_key[1]",
        "'uid' is not a property of the schema",
        id="primary-key-not-in-schema",
    ),
    pytest.param(
        variant((f"{INC}.replication_key", "modified")),
        "streams[0].incremental.replication_key",
        "'modified' is not a property of the schema",
        id="replication-key-not-in-schema",
    ),
    pytest.param(
        variant((f"{INC}.replication_key", "name")),
        "streams[0].incremental.replication_key",
        "'name' must be declared as a date-time string",
        id="replication-key-plain-string",
    ),
    # pagination completeness
    pytest.param(
        variant((f"{PAGE}.limit", DROP), (f"{PAGE}.limit_param", DROP)),
        "streams[0].pagination.limit",
        "required without next_offset_selector",
        id="offset-without-limit",
    ),
    pytest.param(
        variant(
            (f"{PAGE}.next_offset_selector", "$.next"), (f"{PAGE}.limit_param", DROP)
        ),
        "streams[0].pagination.limit_param",
        "limit_param and limit go together",
        id="limit-without-limit-param",
    ),
    pytest.param(
        variant((f"{PAGE}.type", "records_offset"), (f"{PAGE}.limit", DROP)),
        "streams[0].pagination.limit",
        "limit_param and limit go together",
        id="records-offset-limit-param-without-limit",
    ),
    pytest.param(
        variant((f"{PAGE}.type", "records_offset"), (f"{PAGE}.offset_param", DROP)),
        "streams[0].pagination.offset_param",
        "required",
        id="records-offset-without-offset-param",
    ),
    # request shape
    pytest.param(
        variant((f"{S0}.body", {"a": 1})),
        "streams[0].body",
        "only sent with method: POST",
        id="body-with-get",
    ),
    pytest.param(
        variant((f"{S0}.headers", {"X Bad": "1"})),
        "streams[0].headers.X Bad",
        "'X Bad' is not a valid HTTP header name",
        id="header-name",
    ),
    pytest.param(
        variant(("authentication.name", "X Api Key")),
        "authentication.name",
        "not a valid HTTP header name",
        id="auth-header-name",
    ),
    pytest.param(
        variant((f"{INC}.location", "header"), (f"{INC}.param_name", "updated since")),
        "streams[0].incremental.param_name",
        "not a valid HTTP header name",
        id="incremental-header-name",
    ),
    pytest.param(
        variant((f"{INC}.date_format", "YYYY-MM-DD")),
        "streams[0].incremental.date_format",
        "'YYYY-MM-DD' is neither one of timestamp, timestamp_ms, iso8601 "
        "nor a strftime format",
        id="date-format",
    ),
    pytest.param(
        variant((f"{S0}.response_format", "text/html")),
        "streams[0].response_format",
        "'text/html' is not supported. Use one of: application/json",
        id="response-format",
    ),
    pytest.param(
        variant(("streams", [])),
        "streams",
        "at least one stream is required",
        id="no-streams",
    ),
    # the file itself
    pytest.param(
        "name: Demo\ntap_id: demo\n  base_url: x\n",
        "",
        "not valid YAML",
        id="yaml-syntax",
    ),
    pytest.param(
        "name: Demo\ntap_id: demo\nname: Other\n",
        "",
        "duplicate key 'name'",
        id="yaml-duplicate-key",
    ),
    pytest.param(
        "- name: Demo\n- tap_id: demo\n",
        "",
        "a spec is a mapping of keys",
        id="yaml-list",
    ),
    pytest.param("", "", "not empty", id="yaml-empty"),
]


@pytest.mark.parametrize(("text", "path", "fragment"), INVALID)
def test_invalid_spec_reports_path_and_message(
    tmp_path: Path, text: str, path: str, fragment: str
) -> None:
    """Each broken rule yields an issue at its field path with a clear message."""
    find(issues_of(text, tmp_path), path, fragment)


def test_base_spec_is_valid(tmp_path: Path) -> None:
    """The table's base spec itself validates (so each case breaks one thing)."""
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(variant(), encoding="utf-8")
    connector = validate_spec(load_spec(spec_file))
    assert [s.id for s in connector.spec.streams] == ["users", "posts"]


def test_unknown_key_without_close_match_has_no_hint(tmp_path: Path) -> None:
    """An unknown key with no similar known key gets no 'Did you mean'."""
    issue = find(
        issues_of(variant(("colour", "red")), tmp_path), "colour", "unknown key"
    )
    assert "Did you mean" not in issue.message


def test_offset_without_limit_reports_both_fields(tmp_path: Path) -> None:
    """Offset paging without a selector reports limit_param and limit, each once."""
    text = variant((f"{PAGE}.limit", DROP), (f"{PAGE}.limit_param", DROP))
    paths = [i.path for i in issues_of(text, tmp_path)]
    assert paths == ["streams[0].pagination.limit_param", "streams[0].pagination.limit"]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    """Independent cross-field problems all appear in one SpecError."""
    text = variant(
        ("authentication.value", "{config.token}"),
        (f"{S0}.body", {"a": 1}),
        (f"{S0}.primary_key", "uid"),
    )
    paths = {i.path for i in issues_of(text, tmp_path)}
    assert {
        "authentication.value",
        "streams[0].body",
        "streams[0].primary_key[0]",
    } <= paths


def test_error_lines_name_file_line_and_path(tmp_path: Path) -> None:
    """SpecError.lines() renders ``file:line path: message``."""
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(variant((f"{PAGE}.limit", 0)), encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        validate_spec(load_spec(spec_file))
    (line,) = caught.value.lines()
    assert line.startswith(f"{spec_file}:")
    assert " streams[0].pagination.limit: " in line


# --------------------------------------------------------------------------- #
# Line numbers
# --------------------------------------------------------------------------- #

TEXT_BASE = """\
name: Demo
tap_id: demo
base_url: https://api.example.com
streams:
  - name: Items
    id: items
    path: /items
    pagination:
      type: offset
      offset_param: offset
      limit_param: limit
      limit: 5
    schema:
      type: object
      properties:
        id: {type: integer}
"""

LINES = [
    pytest.param(
        TEXT_BASE.replace("limit: 5", "limit: 0"),
        "streams[0].pagination.limit",
        12,
        id="limit",
    ),
    pytest.param(
        TEXT_BASE.replace("tap_id: demo", "tap_id: Demo"), "tap_id", 2, id="tap-id"
    ),
    pytest.param(
        TEXT_BASE.replace("    path: /items\n", "    path: /items\n    pathh: /x\n"),
        "streams[0].pathh",
        8,
        id="unknown-key",
    ),
    pytest.param(
        TEXT_BASE.replace("      type: offset", "      type: pages"),
        "streams[0].pagination.type",
        9,
        id="union-tag",
    ),
    pytest.param(
        TEXT_BASE + "    primary_key: [id, uid]\n",
        "streams[0].primary_key[1]",
        17,
        id="list-item",
    ),
    pytest.param(TEXT_BASE + "name: Again\n", "", 17, id="duplicate-key"),
    pytest.param(
        TEXT_BASE.replace("    id: items", "    id: [items"), "", 7, id="yaml-syntax"
    ),
]


@pytest.mark.parametrize(("text", "path", "line"), LINES)
def test_issue_line_number(tmp_path: Path, text: str, path: str, line: int) -> None:
    """Issues carry the line of the offending YAML key or token."""
    issues = [i for i in issues_of(text, tmp_path) if i.path == path]
    assert [i.line for i in issues] == [line]


# --------------------------------------------------------------------------- #
# schema_file
# --------------------------------------------------------------------------- #

SCHEMA_FILES = [
    pytest.param("{not json", "is not JSON", id="not-json"),
    pytest.param('["id"]', "holds a list, not a JSON Schema object", id="not-object"),
    pytest.param(
        '{"type": "string"}', "type: object and a properties mapping", id="not-record"
    ),
    pytest.param(
        '{"type": "object", "properties": {"id": {"type": 5}}}',
        "not a valid JSON Schema at properties/id/type",
        id="invalid-schema",
    ),
]


@pytest.mark.parametrize(("content", "fragment"), SCHEMA_FILES)
def test_bad_schema_file(tmp_path: Path, content: str, fragment: str) -> None:
    """A schema_file that is not a record JSON Schema is reported on schema_file."""
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "users.json").write_text(content, encoding="utf-8")
    text = variant((f"{S0}.schema_file", "schemas/users.json"), (f"{S0}.schema", DROP))
    find(issues_of(text, tmp_path), "streams[0].schema_file", fragment)


def test_schema_file_is_relative_to_the_spec(tmp_path: Path) -> None:
    """schema_file resolves beside the spec file, and its fields are checked."""
    schema = copy.deepcopy(BASE["streams"][0]["schema"])
    sub = tmp_path / "specs"
    sub.mkdir()
    (sub / "users.json").write_text(json.dumps(schema), encoding="utf-8")
    (sub / "spec.yaml").write_text(
        variant((f"{S0}.schema_file", "users.json"), (f"{S0}.schema", DROP)),
        encoding="utf-8",
    )
    connector = validate_spec(load_spec(sub / "spec.yaml"))
    assert connector.schemas["users"] == schema


# --------------------------------------------------------------------------- #
# JSON specs and the sample specs
# --------------------------------------------------------------------------- #


def test_json_spec_errors_are_reported(tmp_path: Path) -> None:
    """A .json spec reports issues with field paths and lines like YAML."""
    data = yaml.safe_load(variant((f"{PAGE}.limit", 0), ("tap_id", "Demo")))
    text = json.dumps(data, indent=2)
    issues = issues_of(text, tmp_path, "spec.json")
    assert find(issues, "tap_id", "is not valid").line == 3
    limit = find(issues, "streams[0].pagination.limit", "greater than 0")
    lines = text.splitlines()
    assert limit.line == next(n for n, x in enumerate(lines, 1) if '"limit": 0' in x)


def test_json_syntax_error_has_a_line(tmp_path: Path) -> None:
    """Malformed JSON is one issue naming the line (and not parsed as YAML)."""
    issues = issues_of(
        '{"name": "Demo",\n "tap_id": "demo",,\n}', tmp_path, "spec.json"
    )
    assert [(i.path, i.line) for i in issues] == [("", 2)]
    assert issues[0].message.startswith("not valid JSON")


def test_json_list_spec_is_refused(tmp_path: Path) -> None:
    """A JSON spec that is a list is refused like a YAML one."""
    find(issues_of("[1, 2]", tmp_path, "spec.json"), "", "not list")


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem)
def test_sample_spec_validates(sample: Path) -> None:
    """Every bundled sample spec is valid."""
    connector = validate_spec(load_spec(sample))
    assert set(connector.schemas) == {s.id for s in connector.spec.streams}


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem)
def test_json_spec_equals_yaml_spec(tmp_path: Path, sample: Path) -> None:
    """The same spec written as JSON validates to the same model and schemas."""
    shutil.copytree(SAMPLE_SPECS / "schemas", tmp_path / "schemas")
    data = yaml.safe_load(sample.read_text(encoding="utf-8"))
    json_file = tmp_path / f"{sample.stem}.json"
    json_file.write_text(json.dumps(data, indent=2), encoding="utf-8")
    from_yaml = validate_spec(load_spec(sample))
    from_json = validate_spec(load_spec(json_file))
    assert from_json.spec == from_yaml.spec
    assert from_json.schemas == from_yaml.schemas


# --------------------------------------------------------------------------- #
# Shorthands and defaults
# --------------------------------------------------------------------------- #


def stream(**fields: object) -> models.Stream:
    schema = {"type": "object", "properties": {"id": {"type": "integer"}}}
    return models.Stream.model_validate(
        {"name": "Items", "id": "items", "path": "/items", "schema": schema, **fields}
    )


def test_primary_key_string_is_a_one_tuple() -> None:
    """``primary_key: id`` means ``("id",)``."""
    assert stream(primary_key="id").primary_key == ("id",)


def test_primary_key_list_is_a_tuple() -> None:
    """A list of key fields keeps its order."""
    assert stream(primary_key=["a", "b"]).primary_key == ("a", "b")


@pytest.mark.parametrize("value", [None, ""], ids=["null", "empty"])
def test_primary_key_empty_is_no_key(value: object) -> None:
    """An empty or null primary_key means none."""
    assert stream(primary_key=value).primary_key == ()


def test_primary_key_omitted_is_no_key() -> None:
    """Omitting primary_key means none."""
    assert stream().primary_key == ()


def test_child_context_list_maps_names_to_themselves() -> None:
    """``child_context: [id]`` means ``{id: id}``."""
    assert stream(child_context=["id", "org_id"]).child_context == {
        "id": "id",
        "org_id": "org_id",
    }


def test_method_is_case_insensitive() -> None:
    """``method: post`` is POST."""
    assert stream(method="post").method == "POST"


@pytest.mark.parametrize("password", [{}, {"password": None}], ids=["omitted", "null"])
def test_basic_password_defaults_to_empty(password: dict[str, object]) -> None:
    """A Basic auth password that is omitted or null is the empty string."""
    auth = AUTHENTICATORS["basic"].model.model_validate(
        {"type": "basic", "username": "u", **password}
    )
    assert auth.password == ""


def test_omitted_authentication_is_none(tmp_path: Path) -> None:
    """No authentication block (or null) means type none."""
    for value in (DROP, None):
        spec_file = tmp_path / "spec.yaml"
        spec_file.write_text(
            variant(("authentication", value)),
            encoding="utf-8",
        )
        spec = validate_spec(load_spec(spec_file)).spec
        assert spec.authentication == AUTHENTICATORS["none"].model(type="none")


def test_parameter_defaults() -> None:
    """Parameters default to a required, non-secret string with a derived label."""
    parameter = models.Parameter(name="api_token")
    assert (parameter.type, parameter.required, parameter.secret) == (
        "string",
        True,
        False,
    )
    assert parameter.display_label == "Api Token"
    assert not models.Parameter(name="x", default="y").is_required


def test_spec_names() -> None:
    """tap_id gives the distribution and import package names."""
    spec = models.Spec.model_validate(
        {**yaml.safe_load(variant()), "tap_id": "sage-intacct"}
    )
    assert (spec.distribution, spec.package) == ("tap-sage-intacct", "tap_sage_intacct")


# --------------------------------------------------------------------------- #
# Unknown keys: hints come from the keys valid at that path
# --------------------------------------------------------------------------- #

_STOP_KEYS = "has_more, total_pages, total_records, max_pages"

UNKNOWN_KEYS = [
    pytest.param(
        {"type": "offset", "offset_param": "o", "limit_param": "l", "limit": 5,
         "page_param": "page"},
        "streams[0].pagination.page_param",
        "'page_param' belongs to page_increment; this is offset, whose keys are: "
        "location, offset_param, next_offset_selector, limit_param, limit, "
        f"{_STOP_KEYS}",
        id="offset-page-param",
    ),
    pytest.param(
        {"type": "page_increment", "attribute": "page", "offset_param": "o"},
        "streams[0].pagination.offset_param",
        "'offset_param' belongs to offset, records_offset; this is page_increment, "
        f"whose keys are: location, page_param, start_from, {_STOP_KEYS}",
        id="page-increment-offset-param",
    ),
    pytest.param(
        {"type": "cursor", "param": "c", "next_cursor": "$.n", "next_url": "$.u"},
        "streams[0].pagination.next_url",
        "'next_url' belongs to next_url; this is cursor, whose keys are: "
        f"next_cursor, next_cursor_header, location, param, {_STOP_KEYS}",
        id="cursor-next-url",
    ),
    pytest.param(
        {"type": "next_url", "next_url": "$.u", "param": "cursor"},
        "streams[0].pagination.param",
        f"'param' belongs to cursor; this is next_url, whose keys are: next_url, "
        f"{_STOP_KEYS}",
        id="next-url-param",
    ),
    pytest.param(
        {"type": "link_header", "location": "query"},
        "streams[0].pagination.location",
        "'location' belongs to page_increment, offset, records_offset, cursor; "
        f"this is link_header, whose keys are: {_STOP_KEYS}",
        id="link-header-location",
    ),
    pytest.param(
        {"type": "page_increment", "attribute": "page", "start_at": 2},
        "streams[0].pagination.start_at",
        "unknown key 'start_at'. Did you mean 'start_from'?",
        id="page-increment-typo",
    ),
    pytest.param(
        {"type": "cursor", "param": "c", "next_cursr": "$.n"},
        "streams[0].pagination.next_cursr",
        "unknown key 'next_cursr'. Did you mean 'next_cursor'?",
        id="cursor-typo",
    ),
    pytest.param(
        {"type": "link_header", "colour": "red"},
        "streams[0].pagination.colour",
        f"unknown key 'colour'; the keys of link_header are: {_STOP_KEYS}",
        id="link-header-no-match",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("pagination", "path", "message"), UNKNOWN_KEYS)
def test_unknown_pagination_key_names_its_type(
    tmp_path: Path, pagination: dict[str, object], path: str, message: str
) -> None:
    """A key of another pagination type says whose it is and lists this type's keys;
    a typo gets a suggestion from this type's keys only."""
    issues = issues_of(variant((f"{S0}.pagination", pagination)), tmp_path)
    assert [(i.path, i.message) for i in issues if i.path == path] == [(path, message)]


UNKNOWN_AUTH_KEYS = [
    pytest.param(
        {"type": "bearer", "token": "{config.api_key}", "value": "x"},
        "authentication.value",
        "'value' belongs to api_key; this is bearer, whose keys are: token",
        id="bearer-value",
    ),
    pytest.param(
        {"type": "basic", "username": "u", "token": "t"},
        "authentication.token",
        "'token' belongs to bearer; this is basic, whose keys are: username, password",
        id="basic-token",
    ),
    pytest.param(
        {"type": "api_key", "location": "header", "name": "X-Key", "value": "v",
         "header": "X-Key"},
        "authentication.header",
        "'header' belongs to session; this is api_key, whose keys are: location, "
        "name, value, prefix",
        id="api-key-header",
    ),
    pytest.param(
        {"type": "oauth2", "token_url": "/t", "client_id": "i", "client_secret": "s",
         "body": {}},
        "authentication.body",
        "'body' belongs to session; this is oauth2, whose keys are: grant_type, "
        "token_url, client_id, client_secret, refresh_token, scopes, client_auth, "
        "extra_params, authorize_url, redirect_uri, authorize_params",
        id="oauth2-body",
    ),
    pytest.param(
        {"type": "session", "login_url": "/l", "body": {}, "token_selector": "$.t",
         "scopes": ["read"]},
        "authentication.scopes",
        "'scopes' belongs to oauth2; this is session, whose keys are: login_url, "
        "body, token_selector, header, prefix",
        id="session-scopes",
    ),
    pytest.param(
        {"type": "headers", "headers": {"X-A": "a"}, "prefix": "Bearer "},
        "authentication.prefix",
        "'prefix' belongs to api_key, session; this is headers, whose keys are: "
        "headers",
        id="headers-prefix",
    ),
    pytest.param(
        {"type": "none", "username": "u"},
        "authentication.username",
        "'username' belongs to basic; this is none, which takes no other key",
        id="none-username",
    ),
    pytest.param(
        {"type": "bearer", "tokn": "t"},
        "authentication.tokn",
        "unknown key 'tokn'. Did you mean 'token'?",
        id="bearer-typo",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("auth", "path", "message"), UNKNOWN_AUTH_KEYS)
def test_unknown_authentication_key_names_its_type(
    tmp_path: Path, auth: dict[str, object], path: str, message: str
) -> None:
    """The same for authentication types."""
    issues = issues_of(variant(("authentication", auth)), tmp_path)
    assert [(i.path, i.message) for i in issues if i.path == path] == [(path, message)]


def _variants(union: object) -> list[type[models.Model]]:
    members = t.get_args(t.get_args(union)[0])
    return [m for m in members if isinstance(m, type)]


@pytest.mark.parametrize(
    ("union", "where"),
    [
        (models.Pagination, f"{S0}.pagination"),
        (models.Authentication, "authentication"),
    ],
    ids=["pagination", "authentication"],
)
def test_no_key_is_suggested_where_it_is_not_valid(
    tmp_path: Path, union: object, where: str
) -> None:
    """Every key of every variant, written in every other variant: the hint never
    suggests a key the variant does not have (once it suggested the key itself)."""
    from tap_builder.spec.messages import keys_of, type_tag

    variants = _variants(union)
    for variant_model in variants:
        tag = type_tag(variant_model)
        valid = set(keys_of(variant_model))
        for other in variants:
            for key in set(keys_of(other)) - valid:
                data = {"type": tag, key: "x"}
                issues = issues_of(variant((where, data)), tmp_path)
                (issue,) = [i for i in issues if i.path.endswith(f".{key}")]
                owners, _, this = issue.message.partition("; this is ")
                assert owners.startswith(f"{key!r} belongs to "), issue
                assert type_tag(other) in owners.split(" belongs to ")[1].split(", ")
                assert this.startswith(f"{tag}, ") and "Did you mean" not in this


def test_unknown_key_hint_comes_from_the_keys_at_that_path(tmp_path: Path) -> None:
    """A pagination key written on a stream is unknown there, with no hint that
    would name a key the stream does not have."""
    issues = issues_of(variant((f"{S0}.attribute", "page")), tmp_path)
    assert [(i.path, i.message) for i in issues] == [
        ("streams[0].attribute", "unknown key 'attribute'")
    ]


def test_tag_that_is_also_a_key_is_not_in_the_path(tmp_path: Path) -> None:
    """``next_url: {type: next_url, next_url: ...}``: the path names the key once."""
    pagination = {"type": "next_url", "next_url": ""}
    issues = issues_of(variant((f"{S0}.pagination", pagination)), tmp_path)
    assert [(i.path, i.message) for i in issues] == [
        ("streams[0].pagination.next_url", "must not be empty")
    ]


# --------------------------------------------------------------------------- #
# Every problem in one run: field-level and cross-field together, by line
# --------------------------------------------------------------------------- #


def report(text: str, tmp_path: Path) -> list[str]:
    """The validator's lines for ``text``, with the file shown as spec.yaml."""
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        validate_spec(load_spec(spec_file))
    return [line.replace(str(spec_file), "spec.yaml") for line in caught.value.lines()]


_ID_SCHEMA = "    schema: {type: object, properties: {id: {type: integer}}}\n"

#: A typo in stream 0, an undeclared setting in stream 1, a parent cycle (2 <-> 3).
TYPO_UNDECLARED_CYCLE = (
    """\
name: Mixed
tap_id: mixed
base_url: https://api.example.com
parameters:
  - {name: token, secret: true}
streams:
  - name: Users
    id: users
    path: /users
    primary_keys: id
    child_context: {user_id: id}
"""
    + _ID_SCHEMA
    + """\
  - name: Posts
    id: posts
    path: /users/{user_id}/posts?key={config.x}
    parent_stream: users
"""
    + _ID_SCHEMA
    + """\
  - name: Tags
    id: tags
    path: /tags
    parent_stream: labels
    child_context: {tag_id: id}
"""
    + _ID_SCHEMA
    + """\
  - name: Labels
    id: labels
    path: /labels
    parent_stream: tags
    child_context: {label_id: id}
"""
    + _ID_SCHEMA
)


def test_typo_undeclared_setting_and_cycle_in_one_run(tmp_path: Path) -> None:
    """An unknown key no longer hides the cross-field problems of the spec."""
    assert report(TYPO_UNDECLARED_CYCLE, tmp_path) == [
        "spec.yaml:10 streams[0].primary_keys: unknown key 'primary_keys'. "
        "Did you mean 'primary_key'?",
        "spec.yaml:15 streams[1].path: {config.x} refers to an undeclared parameter. "
        "Declared: api_url, token",
        "spec.yaml:21 streams[2].parent_stream: parent_stream links form a cycle "
        "through 'tags'",
        "spec.yaml:27 streams[3].parent_stream: parent_stream links form a cycle "
        "through 'labels'",
    ]


FAILED_PARTS = (
    """\
name: Mixed
tap_id: mixed
base_url: https://api.example.com
parameters:
  - {name: token, secret: true}
  - {name: region, type: text}
streams:
  - name: Users
    id: users
    path: /users/{config.region}
    method: PUT
    body: {a: 1}
    primary_key: uid
    child_context: {user_id: id}
"""
    + _ID_SCHEMA
    + """\
  - name: Posts
    id: posts
    path: /users/{user_id}/posts/{config.nope}/{config.nope}
    parent_stream: users
    primary_key: pid
"""
    + _ID_SCHEMA
    + """\
  - name: Notes
    id: notes
    path: /notes
    parent_strem: users
    query_params: {user: "{user_id}", since: "{config.start_date}"}
    paginaton: {type: offset, offset_param: offset}
"""
    + _ID_SCHEMA
)


def test_parts_that_validated_are_checked_around_parts_that_did_not(
    tmp_path: Path,
) -> None:
    """A failed parameter still declares its name; a failed stream still has its id
    and context keys for its children, and its own cross-field problems (body
    without POST, primary key) wait; a typo'd key is checked as the key it is a
    typo of, at the key as written; a problem repeated in one field shows once."""
    assert report(FAILED_PARTS, tmp_path) == [
        "spec.yaml:6 parameters[1].type: 'text' is not valid. Use one of: string, "
        "integer, number, boolean, date-time, list",
        "spec.yaml:11 streams[0].method: 'PUT' is not valid. Use one of: GET, POST",
        "spec.yaml:18 streams[1].path: {config.nope} refers to an undeclared "
        "parameter. Declared: api_url, region, token",
        "spec.yaml:20 streams[1].primary_key[0]: 'pid' is not a property of the "
        "schema (properties: id)",
        "spec.yaml:25 streams[2].parent_strem: unknown key 'parent_strem'. "
        "Did you mean 'parent_stream'?",
        "spec.yaml:26 streams[2].query_params.since: {config.start_date} exists only "
        "in taps with an incremental stream; declare a parameter of your own instead",
        "spec.yaml:27 streams[2].paginaton: unknown key 'paginaton'. "
        "Did you mean 'pagination'?",
        "spec.yaml:27 streams[2].paginaton.limit_param: required without "
        "next_offset_selector (the offset grows by limit)",
        "spec.yaml:27 streams[2].paginaton.limit: required without "
        "next_offset_selector (the offset grows by limit)",
    ]


TOP_LEVEL_FAILURES = (
    """\
name: Mixed
tap_id: Mixed_API
base_url: https://api.example.com/{config.region}
authentication: {type: bearer}
parameters: {region: {type: string}}
streams:
  - name: Users
    id: users
    path: /users/{config.anything}
    primary_key: uid
    incremental: {replication_key: id, param_name: since}
"""
    + _ID_SCHEMA
    + """\
  - orders
allowed_hosts: [cdn.example.com, "http://x", cdn.example.com]
"""
)


def test_top_level_failures_leave_the_streams_checked(tmp_path: Path) -> None:
    """A bad tap_id, authentication or parameters list, a stream that is not a
    mapping and a bad host do not stop the checks of the rest; with the
    parameters unreadable, {config.NAME} is not called undeclared."""
    assert report(TOP_LEVEL_FAILURES, tmp_path) == [
        "spec.yaml:2 tap_id: 'Mixed_API' is not valid: use lowercase letters and "
        "digits in hyphen-separated words, starting with a letter (e.g. sage-intacct)",
        "spec.yaml:4 authentication.token: required",
        "spec.yaml:5 parameters: must be a list",
        "spec.yaml:10 streams[0].primary_key[0]: 'uid' is not a property of the "
        "schema (properties: id)",
        "spec.yaml:13 streams[1]: must be a mapping",
        "spec.yaml:14 allowed_hosts[1]: 'http://x' is a URL; give only its host, "
        "without scheme and path",
        "spec.yaml:14 allowed_hosts[2]: duplicate host 'cdn.example.com' "
        "(allowed_hosts[0] has it)",
    ]


def test_problems_are_sorted_by_line(tmp_path: Path) -> None:
    """A cross-field problem above a field-level one comes first."""
    text = variant(
        (f"{S0}.query_params.per_page", "{config.size}"),
        ("streams.1.method", "PUT"),
    )
    lines = report(text, tmp_path)
    assert [line.split(" ")[1].rstrip(":") for line in lines] == [
        "streams[0].query_params.per_page",
        "streams[1].method",
    ]
    numbers = [int(line.split(" ")[0].split(":")[1]) for line in lines]
    assert numbers == sorted(numbers)


#: The README's ``tap-builder validate broken.yaml`` example, file and output.
README_BROKEN_YAML = """\
name: Broken
tap_id: broken
base_url: https://api.example.com/{v1
authentication: {type: api_key, location: header, name: X-Key, value: "{config.key}"}
parameters:
  - {name: token, secret: true}
  - {name: n, type: integer, default: 10}
streams:
  - name: Calls
    id: calls
    path: /clients/{client_id}/calls
    methd: GET
    pagination: {type: offset, offset_param: skip, limit_param: limit, page_param: page}
    schema: {type: object, properties: {id: {type: integer}}}
  - name: Users
    id: users
    path: /users
    pagination: {type: pages}
    schema: {type: object, properties: {id: {type: integer}}}
  - name: Teams
    id: teams
    path: /teams
    parent_stream: members
    child_context: {team_id: id}
    schema: {type: object, properties: {id: {type: integer}}}
  - name: Members
    id: members
    path: /teams/{team_id}/members
    parent_stream: teams
    child_context: {member_id: uid}
    schema: {type: object, properties: {id: {type: integer}}}
"""

README_BROKEN_OUTPUT = """\
broken.yaml:3 base_url: lone '{' at character 25; variables look like {config.NAME} or {NAME}, and a literal brace is written '{{'
broken.yaml:4 authentication.value: {config.key} refers to an undeclared parameter. Declared: api_url, n, token
broken.yaml:11 streams[0].path: {client_id} is a parent-context variable, but this stream has no parent_stream; did you mean {config.client_id}?
broken.yaml:12 streams[0].methd: unknown key 'methd'. Did you mean 'method'?
broken.yaml:13 streams[0].pagination.page_param: 'page_param' belongs to page_increment; this is offset, whose keys are: location, offset_param, next_offset_selector, limit_param, limit, has_more, total_pages, total_records, max_pages
broken.yaml:13 streams[0].pagination.limit: required without next_offset_selector (the offset grows by limit)
broken.yaml:18 streams[1].pagination.type: 'pages' is not a known type. Use one of: page_increment, offset, records_offset, cursor, next_url, link_header, graphql_cursor
broken.yaml:23 streams[2].parent_stream: parent_stream links form a cycle through 'teams'
broken.yaml:29 streams[3].parent_stream: parent_stream links form a cycle through 'members'
broken.yaml:30 streams[3].child_context.member_id: 'uid' is not a property of the schema (properties: id, team_id)
10 problems found.
"""  # noqa: E501


def test_readme_validate_example(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``tap-builder validate broken.yaml`` prints every problem in one run, as
    the README shows."""
    from tap_builder.cli import main

    (tmp_path / "broken.yaml").write_text(README_BROKEN_YAML, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "broken.yaml"]) == 1
    assert capsys.readouterr().err == README_BROKEN_OUTPUT


SCHEMA = {"type": "object", "properties": {"id": {"type": "integer"}}}


@pytest.mark.parametrize("version", ["v1", "1.0-beta", "01.0", ""])
def test_version_must_be_pep_440(version: str, tmp_path: Path) -> None:
    """The tap's version is checked at the spec, with a hint instead of a regex."""
    spec = {
        "name": "V",
        "tap_id": "v",
        "version": version,
        "base_url": "https://x.test",
        "streams": [{"name": "a", "id": "a", "path": "/a", "schema": SCHEMA}],
    }
    path = tmp_path / "v.json"
    path.write_text(json.dumps(spec, indent=1))
    with pytest.raises(SpecError) as caught:
        validate_spec(load_spec(path))
    assert [issue.format(str(path)) for issue in caught.value.issues] == [
        f"{path}:4 version: {version!r} is not valid: use a PEP 440 version: numbers "
        "separated by dots, optionally followed by aN, bN or rcN, .postN, .devN "
        "(e.g. 1.2.0, 2.0rc1)"
    ]


def test_version_goes_into_the_package(tmp_path: Path) -> None:
    """``version`` (default 0.1.0) is the generated pyproject's version."""
    from tap_builder import render_package

    spec = {
        "name": "V",
        "tap_id": "v",
        "version": "2.1.0rc1",
        "base_url": "https://x.test",
        "streams": [{"name": "a", "id": "a", "path": "/a", "schema": SCHEMA}],
    }
    path = tmp_path / "v.json"
    path.write_text(json.dumps(spec))
    files = render_package(validate_spec(load_spec(path)))
    assert 'version = "2.1.0rc1"\n' in str(files[PurePosixPath("pyproject.toml")])
