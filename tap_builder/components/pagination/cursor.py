"""``cursor``: an opaque cursor from the body or a header (run-time class)."""

from __future__ import annotations

import typing as t

from pydantic import Field

from tap_builder.components.base import RUNTIME_PAGING, PaginatorComponent
from tap_builder.components.pagination.model import (
    StopRules,
    TokenLocation,
    header_names,
    jsonpath_fields,
    stop_rule_problems,
)
from tap_builder.spec.fields import NonEmpty, header_name_problem

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from tap_builder.spec.fields import Found, Loc


class CursorPagination(StopRules):
    """An opaque cursor from the body or a header, sent back with the next request."""

    type: t.Literal["cursor"]
    next_cursor: NonEmpty | None = Field(
        None, description="JSONPath to the next cursor in the response body."
    )
    next_cursor_header: NonEmpty | None = Field(
        None, description="Response header holding the next cursor."
    )
    location: TokenLocation = Field(
        "query", description="Where the cursor goes (body: a dotted path)."
    )
    param: NonEmpty = Field(description="Parameter, header or body path of the cursor.")


def _problems(block: CursorPagination, loc: Loc) -> Iterator[Found]:
    yield from stop_rule_problems(block, loc)
    yield from jsonpath_fields(block, loc, "next_cursor")
    yield from header_names(block, loc, "param")
    if (block.next_cursor is None) == (block.next_cursor_header is None):
        yield loc, "give exactly one of next_cursor (a JSONPath) or next_cursor_header"
    header = block.next_cursor_header
    if header is not None and (problem := header_name_problem(header)):
        yield (*loc, "next_cursor_header"), problem


COMPONENT = PaginatorComponent(
    type="cursor",
    macro="cursor",
    class_name="CursorPaginator",
    module=RUNTIME_PAGING,
    model=CursorPagination,
    problems=_problems,
    param_field="param",
    example="sample_specs/features/lab.yaml",
    finish_reason="the response holds no next cursor",
)
