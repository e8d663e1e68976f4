"""Stop conditions (has_more, total_pages, total_records, max_pages) on every
pagination type: accepted by validation, and the generated paginator honours them.

End to end against the demo API: tests/test_features.py (feed streams of
sample_specs/features/lab.yaml).
"""

from __future__ import annotations

import ast
import copy
import typing as t
from pathlib import Path

import pytest
import yaml

from tap_builder import load_spec, validate_spec
from tap_builder.components import PAGINATORS
from tap_builder.render.context import PaginatorView, StreamView, stream_views
from tap_builder.render.environment import environment
from tap_builder.render.naming import NameAllocator

SPEC: dict[str, t.Any] = {
    "name": "Stops",
    "tap_id": "stops",
    "base_url": "https://api.example.com",
    "streams": [
        {
            "name": "Items",
            "id": "items",
            "path": "/items",
            "method": "POST",
            "records_selector": "$.items[*]",
            "schema": {"type": "object", "properties": {"id": {"type": "integer"}}},
        }
    ],
}

ROOT = Path(__file__).resolve().parent.parent
_STOP_KEYS = {"has_more", "total_pages", "total_records", "max_pages", "location"}


def _example_pagination(kind: str) -> dict[str, t.Any]:
    """The type's pagination block from its component's example spec, without
    stop rules (and with the token in the query)."""
    data = yaml.safe_load((ROOT / PAGINATORS[kind].example).read_text("utf-8"))
    block = next(
        s["pagination"]
        for s in data["streams"]
        if (s.get("pagination") or {}).get("type") == kind
    )
    return {k: v for k, v in block.items() if k not in _STOP_KEYS | {"type"}}


def _stream_keys(kind: str) -> dict[str, t.Any]:
    """Keys a type needs on its stream besides pagination (graphql_cursor: the
    example stream's graphql block, without variables from settings)."""
    data = yaml.safe_load((ROOT / PAGINATORS[kind].example).read_text("utf-8"))
    stream = next(
        s for s in data["streams"] if (s.get("pagination") or {}).get("type") == kind
    )
    if "graphql" not in stream:
        return {}
    return {"graphql": {"query": stream["graphql"]["query"]}}


#: One pagination of each type, without stop conditions, and its paginator
#: class: every registered type, from the spec that runs it end to end.
def _class_name(kind: str) -> str:
    component = PAGINATORS[kind]
    if component.variant and component.variant[0] in _example_pagination(kind):
        return component.variant[1].class_name
    return component.class_name


TYPES: dict[str, tuple[dict[str, t.Any], str]] = {
    kind: (_example_pagination(kind), _class_name(kind)) for kind in PAGINATORS
}

RULES: dict[str, object] = {
    "has_more": "$.has_more",
    "total_pages": "$.pages",
    "total_records": "$.total",
    "max_pages": 3,
}


def _view(tmp_path: Path, pagination: dict[str, t.Any]) -> StreamView:
    spec = copy.deepcopy(SPEC)
    spec["streams"][0]["pagination"] = pagination
    spec["streams"][0].update(_stream_keys(pagination["type"]))
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(yaml.safe_dump(spec), encoding="utf-8")
    (view,) = stream_views(validate_spec(load_spec(spec_file)), NameAllocator())
    return view


def _call(paginator: PaginatorView) -> ast.Call:
    """The paginator expression the pagination macros write, parsed."""
    macros = environment().get_template("tap/macros/pagination.jinja").module
    code = str(macros.paginator(paginator))  # type: ignore[attr-defined]
    call = ast.parse(code, mode="eval").body
    assert isinstance(call, ast.Call)
    return call


def _keywords(call: ast.Call) -> dict[str | None, str]:
    return {k.arg: ast.unparse(k.value) for k in call.keywords}


def test_every_pagination_type_is_covered() -> None:
    """The table here names every pagination type the models have."""
    assert set(TYPES) == set(PAGINATORS)


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("kind", TYPES)
def test_stop_condition_wraps_every_paginator(
    tmp_path: Path, kind: str, rule: str
) -> None:
    """Each stop condition validates on each type and wraps its paginator."""
    fields, inner = TYPES[kind]
    view = _view(tmp_path, {"type": kind, **fields, rule: RULES[rule]})
    paginator = view.paginator
    assert paginator is not None
    assert (paginator.return_type, paginator.also_uses) == ("StopWhen", (inner,))
    call = _call(paginator)
    assert ast.unparse(call.func) == "StopWhen"
    wrapped = call.args[0]
    assert isinstance(wrapped, ast.Call)
    assert ast.unparse(wrapped.func) == inner
    keywords = _keywords(call)
    assert ast.literal_eval(keywords[rule]) == RULES[rule]
    assert keywords["records_on_page"] == "lambda: self.last_page_size"


@pytest.mark.parametrize("kind", TYPES)
def test_all_stop_conditions_at_once(tmp_path: Path, kind: str) -> None:
    """Every condition can be given together (the first to hold stops paging)."""
    fields, _ = TYPES[kind]
    view = _view(tmp_path, {"type": kind, **fields, **RULES})
    assert view.paginator is not None
    keywords = _keywords(_call(view.paginator))
    assert {rule: ast.literal_eval(keywords[rule]) for rule in RULES} == RULES


@pytest.mark.parametrize("kind", TYPES)
def test_without_stop_conditions_nothing_is_wrapped(tmp_path: Path, kind: str) -> None:
    """Specs without stop conditions generate the paginator they always did."""
    fields, inner = TYPES[kind]
    view = _view(tmp_path, {"type": kind, **fields})
    assert view.paginator is not None
    assert (view.paginator.return_type, view.paginator.also_uses) == (inner, ())


@pytest.mark.parametrize("kind", TYPES)
def test_stop_condition_jsonpath_is_checked_on_every_type(
    tmp_path: Path, kind: str
) -> None:
    """A broken has_more JSONPath is a validation error on every type."""
    from tap_builder import SpecError

    fields, _ = TYPES[kind]
    spec = copy.deepcopy(SPEC)
    spec["streams"][0]["pagination"] = {"type": kind, **fields, "has_more": "$.[["}
    spec["streams"][0].update(_stream_keys(kind))
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(yaml.safe_dump(spec), encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        validate_spec(load_spec(spec_file))
    assert [(i.path, i.message.split(":")[0]) for i in caught.value.issues] == [
        ("streams[0].pagination.has_more", "'$.[[' is not a valid JSONPath")
    ]
