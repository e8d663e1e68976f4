"""``graphql_cursor``: Relay-style ``pageInfo { hasNextPage endCursor }`` paging.

For streams with a ``graphql`` block: the cursor goes in a query variable
(``variable``), which the stream's GraphQL mixin puts in the request body.
"""

from __future__ import annotations

import typing as t

from pydantic import Field

from tap_builder.components.base import PaginatorComponent
from tap_builder.components.pagination.model import (
    StopRules,
    jsonpath_fields,
    stop_rule_problems,
)
from tap_builder.spec.fields import NonEmpty

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from tap_builder.spec.fields import Found, Loc


class GraphQLCursorPagination(StopRules):
    """The connection's ``pageInfo``: ``endCursor`` while ``hasNextPage`` holds."""

    type: t.Literal["graphql_cursor"]
    page_info: NonEmpty = Field(
        description="JSONPath to the connection's pageInfo object, e.g. "
        "$.data.items.pageInfo."
    )
    variable: NonEmpty = Field(
        "after", description="The query variable ($name) the cursor goes in."
    )


def _problems(block: GraphQLCursorPagination, loc: Loc) -> Iterator[Found]:
    yield from stop_rule_problems(block, loc)
    yield from jsonpath_fields(block, loc, "page_info")


COMPONENT = PaginatorComponent(
    type="graphql_cursor",
    macro="graphql_cursor",
    class_name="GraphQLCursorPaginator",
    module=".runtime.graphql",
    model=GraphQLCursorPagination,
    also_needs=("paging.py",),
    problems=_problems,
    token_in_stream=True,
    example="sample_specs/features/lab_graphql.yaml",
    finish_reason="pageInfo.hasNextPage is false (or no endCursor)",
)
