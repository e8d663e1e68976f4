"""GraphQL streams: spec checks, and sample_specs/features/lab_graphql.yaml
generated, pip-installed and synced against the demo API's ``POST /graphql``
(a real GraphQL server: graphql-core executes the queries)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tap_builder import load_spec, validate_spec
from tap_builder.demo import DemoServer, demo_config
from tap_builder.demo.apis import lab_graphql
from tap_builder.spec.errors import SpecError
from tests.e2e import SAMPLES, InstalledTap, Run, install_tap

SPEC = SAMPLES / "features" / "lab_graphql.yaml"
ALL_IDS = list(range(1, 11))


# -- spec checks ------------------------------------------------------------- #


def _stream(**graphql: Any) -> dict[str, Any]:
    return {
        "name": "Items",
        "id": "items",
        "path": "/graphql",
        "graphql": graphql,
        "records_selector": "$.data.items.nodes[*]",
        "schema": {"type": "object", "properties": {"id": {"type": "integer"}}},
    }


QUERY = (
    "query Q($first: Int, $after: String, $kind: String!) "
    "{ items(first: $first, after: $after, kind: $kind) { nodes { id } } }"
)


def _problems(tmp_path: Path, stream: dict[str, Any], **top: Any) -> list[str]:
    spec = {
        "name": "G",
        "tap_id": "g",
        "base_url": "https://api.example.com",
        "parameters": [{"name": "kind"}],
        "streams": [stream],
        **top,
    }
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    try:
        validate_spec(load_spec(path))
    except SpecError as error:
        return [f"{issue.path}: {issue.message}" for issue in error.issues]
    return []


def test_a_good_graphql_stream_validates(tmp_path: Path) -> None:
    stream = _stream(query=QUERY, variables={"first": 5, "kind": "{config.kind}"})
    stream["pagination"] = {
        "type": "graphql_cursor",
        "page_info": "$.data.items.pageInfo",
    }
    assert _problems(tmp_path, stream) == []


def test_the_query_is_never_templated(tmp_path: Path) -> None:
    """Braces in the query are GraphQL's: no {{ }} escaping, no variable errors,
    even where they look like a spec variable ({kind} is a selection here)."""
    query = "query { items { nodes { id } kind { id } } }"
    assert _problems(tmp_path, _stream(query=query)) == []


@pytest.mark.parametrize(
    ("graphql", "extra", "expected"),
    [
        (
            {"query": "query { items { id }"},
            {},
            "streams[0].graphql.query: not a GraphQL query: Syntax Error: Expected "
            "Name, found <EOF>. (line 1, column 21)",
        ),
        (
            {"query": "mutation { delete { id } }"},
            {},
            "streams[0].graphql.query: is a mutation; a stream reads with a query "
            "operation",
        ),
        (
            {"query": QUERY, "variables": {"kind": "a", "size": 3}},
            {},
            "streams[0].graphql.variables.size: the query declares no $size (it "
            "declares: $first, $after, $kind)",
        ),
        (
            {"query": QUERY},
            {},
            "streams[0].graphql.variables: the query requires $kind (non-null, no "
            "default); give it here",
        ),
        (
            {"query": QUERY, "variables": {"kind": "{config.knd}"}},
            {},
            "streams[0].graphql.variables.kind: {config.knd} refers to an "
            "undeclared parameter. Declared: api_url, kind",
        ),
        (
            {"query": QUERY, "variables": {"kind": "{parent_id}"}},
            {},
            "streams[0].graphql.variables.kind: {parent_id} is a parent-context "
            "variable, but this stream has no parent_stream; did you mean "
            "{config.parent_id}?",
        ),
        (
            {"query": QUERY, "variables": {"kind": "a"}},
            {
                "pagination": {
                    "type": "graphql_cursor",
                    "page_info": "$.data.items.pageInfo",
                    "variable": "cursor",
                }
            },
            "streams[0].pagination.variable: the query declares no $cursor for the "
            "cursor (it declares: $first, $after, $kind)",
        ),
        (
            {"query": QUERY, "variables": {"kind": "a", "after": "x"}},
            {
                "pagination": {
                    "type": "graphql_cursor",
                    "page_info": "$.data[",
                }
            },
            "streams[0].graphql.variables.after: $after carries the cursor "
            "(pagination.variable); remove it here",
        ),
        (
            {"query": QUERY, "variables": {"kind": "a"}},
            {"pagination": {"type": "cursor", "next_cursor": "$.c", "param": "c"}},
            "streams[0].pagination.type: 'cursor' cannot page a GraphQL query; use "
            "graphql_cursor (pageInfo { hasNextPage endCursor })",
        ),
        (
            {"query": QUERY, "variables": {"kind": "a"}},
            {"method": "GET"},
            "streams[0].method: GraphQL queries are sent with method: POST",
        ),
        (
            {"query": QUERY, "variables": {"kind": "a"}},
            {"method": "POST", "body": {"a": 1}},
            "streams[0].body: a GraphQL stream sends {query, variables} as its body; "
            "remove body and give values in graphql.variables",
        ),
        (
            {
                "query": QUERY,
                "variables": {"kind": "a"},
                "errors": [{"action": "ignore"}, {"code": "X", "action": "fail"}],
            },
            {},
            "streams[0].graphql.errors[0]: a rule without code or message_contains "
            "matches every error, so the rules after it never apply; put it last",
        ),
        (
            {"query": QUERY, "variables": {"kind": "a"}, "errors": [{"code": "X"}]},
            {},
            "streams[0].graphql.errors[0].action: required",
        ),
    ],
)
def test_graphql_problems_name_the_field(
    tmp_path: Path, graphql: dict[str, Any], extra: dict[str, Any], expected: str
) -> None:
    problems = _problems(tmp_path, {**_stream(**graphql), **extra})
    assert expected in problems, problems


def test_every_problem_at_once(tmp_path: Path) -> None:
    """A bad page_info JSONPath and an undeclared variable, both reported."""
    stream = _stream(query=QUERY, variables={"kind": "a", "nope": 1})
    stream["pagination"] = {"type": "graphql_cursor", "page_info": "$.data["}
    problems = _problems(tmp_path, stream)
    assert len(problems) == 2, problems
    assert {p.split(":")[0] for p in problems} == {
        "streams[0].pagination.page_info",
        "streams[0].graphql.variables.nope",
    }


def test_graphql_cursor_needs_a_graphql_block(tmp_path: Path) -> None:
    stream = _stream(query=QUERY)
    del stream["graphql"]
    stream["pagination"] = {"type": "graphql_cursor", "page_info": "$.p"}
    assert _problems(tmp_path, stream) == [
        "streams[0].pagination.type: graphql_cursor pagination is for streams with "
        "a graphql block"
    ]


# -- end to end --------------------------------------------------------------- #


@pytest.fixture(scope="module")
def graphql_tap(
    tap_venv: Path, tmp_path_factory: pytest.TempPathFactory
) -> InstalledTap:
    return install_tap(SPEC, tmp_path_factory.mktemp("graphql") / "tap", tap_venv)


def _sync(tap: InstalledTap, workdir: Path, **config: Any) -> tuple[Run, list[Any]]:
    lab_graphql.reset()
    with DemoServer() as server:
        settings = {"token": demo_config("lab", server.url)["token"]}
        settings["api_url"] = demo_config("lab", server.url)["api_url"]
        run = tap.run(config={**settings, **config}, workdir=workdir)
        return run, server.requests


def _bodies(requests: list[Any], field: str) -> list[dict[str, Any]]:
    return [
        r.body
        for r in requests
        if r.path == "/lab/v1/graphql" and f"{field}" in r.body["query"]
    ]


@pytest.fixture(scope="module")
def full_sync(
    graphql_tap: InstalledTap, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Run, list[Any]]:
    run, requests = _sync(graphql_tap, tmp_path_factory.mktemp("full"))
    assert run.returncode == 0, run.stderr[-3000:]
    return run, requests


@pytest.mark.slow
def test_pages_by_page_info_with_the_cursor_in_its_variable(
    full_sync: tuple[Run, list[Any]],
) -> None:
    """POST {query, variables}: the query exactly as written, the cursor in $after
    after the first page, until hasNextPage is false; records fit the schema."""
    run, requests = full_sync
    assert run.ids("items") == ALL_IDS
    spec_query = yaml.safe_load(SPEC.read_text())["streams"][0]["graphql"]["query"]
    bodies = _bodies(requests, "items(")
    assert [b["query"] for b in bodies] == [spec_query] * 3
    assert [b["variables"] for b in bodies] == [
        {"first": 4},  # the unset optional kind setting is left out
        {"first": 4, "after": "cur-4"},
        {"first": 4, "after": "cur-8"},
    ]
    assert all(r.headers["authorization"] == "Bearer lab-demo-token" for r in requests)
    assert run.assert_records_fit_schemas() == 10 + 20 + 2 + 3


@pytest.mark.slow
def test_variables_from_the_parent_record(full_sync: tuple[Run, list[Any]]) -> None:
    """{item_id} in a variable keeps its JSON type (an Int), one query per item."""
    run, requests = full_sync
    bodies = _bodies(requests, "itemNotes")
    assert [b["variables"] for b in bodies] == [{"id": n} for n in ALL_IDS]
    notes = run.records("item_notes")
    assert [(n["id"], n["item_id"]) for n in notes[:3]] == [(11, 1), (12, 1), (21, 2)]
    assert len(notes) == 20


@pytest.mark.slow
def test_error_rules_retry_and_ignore(full_sync: tuple[Run, list[Any]]) -> None:
    """THROTTLED (HTTP 200) is retried; FORBIDDEN is ignored, keeping the data."""
    run, requests = full_sync
    assert run.ids("busy_items") == [1, 2]
    assert len(_bodies(requests, "busyItems")) == 2
    assert "too many requests, slow down [THROTTLED]" in run.stderr
    assert [r["internal_note"] for r in run.records("secret_items")] == [None] * 3
    warned = [line for line in run.stderr.splitlines() if "FORBIDDEN" in line]
    assert warned, run.stderr[-2000:]
    assert "ignored, going on (internal notes need another scope)" in warned[0]


@pytest.mark.slow
def test_variables_from_the_config(graphql_tap: InstalledTap, tmp_path: Path) -> None:
    run, requests = _sync(graphql_tap, tmp_path, kind="a")
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.ids("items") == [1, 3, 5, 7, 9]
    assert _bodies(requests, "items(")[0]["variables"] == {"first": 4, "kind": "a"}


@pytest.mark.slow
def test_an_error_without_a_rule_fails_with_the_api_message(
    graphql_tap: InstalledTap, tmp_path: Path
) -> None:
    """HTTP 200 with errors and no rule: exit 1, one line with the API's words."""
    run, _ = _sync(graphql_tap, tmp_path, kind="z")
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if "ERROR" in line]
    assert (
        "stream 'items': the GraphQL API answered with errors: unknown kind 'z': "
        "use a or b [BAD_USER_INPUT]"
    ) in errors[-1]
    assert run.records("items") == []
    assert "lab-demo-token" not in run.stdout + run.stderr
