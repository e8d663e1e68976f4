"""GraphQL streams: the ``graphql`` block of a stream, and its checks.

The rule for braces: the ``query`` is GraphQL text sent exactly as written and
never templated, so its braces are GraphQL's own. Values come in through
GraphQL variables: ``variables`` maps each ``$name`` the query declares to a
JSON value, and the strings of those values may hold ``{config.NAME}`` and
(on child streams) ``{KEY}`` variables. The cursor of ``graphql_cursor``
pagination goes in its own variable.
"""

from __future__ import annotations

import typing as t

from graphql import GraphQLError, OperationDefinitionNode, parse
from graphql.language import NonNullTypeNode
from pydantic import Field

from tap_builder.spec.fields import Model, NonEmpty

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from tap_builder.spec.fields import Found, Loc
    from tap_builder.spec.models import Stream

#: The pagination type that reads ``pageInfo { hasNextPage endCursor }``.
GRAPHQL_CURSOR = "graphql_cursor"


class GraphQLErrorRule(Model):
    """What to do when an answer's ``errors`` hold a matching error."""

    code: NonEmpty | None = Field(
        None, description="Matches errors whose extensions.code is this."
    )
    message_contains: NonEmpty | None = Field(
        None, description="Matches errors whose message holds this text."
    )
    action: t.Literal["retry", "ignore", "fail"] = Field(
        description="retry (transient), ignore (keep any data, go on), fail (stop)."
    )
    message: str | None = Field(None, description="Shown when the rule applies.")


class GraphQL(Model):
    """A GraphQL query POSTed as ``{query, variables}``."""

    query: NonEmpty = Field(
        description="The GraphQL query, sent as written (never templated).",
        json_schema_extra={"x-multiline": True},  # the studio edits it in a textarea
    )
    variables: dict[NonEmpty, t.Any] = Field(
        default_factory=dict,
        description="Query variables: $name -> JSON value (strings may hold "
        "{config.NAME} and parent-context variables).",
    )
    errors: tuple[GraphQLErrorRule, ...] = Field(
        (),
        description="Rules for answers holding errors, checked in order "
        "(without a match the sync fails).",
    )


def _operation(query: str) -> tuple[OperationDefinitionNode | None, str | None]:
    """The query's one operation, or why there is none."""
    try:
        document = parse(query, no_location=False)
    except GraphQLError as exc:
        where = ""
        if exc.locations:
            line, column = exc.locations[0].line, exc.locations[0].column
            where = f" (line {line}, column {column})"
        return None, f"not a GraphQL query: {exc.message}{where}"
    operations = [
        d for d in document.definitions if isinstance(d, OperationDefinitionNode)
    ]
    if len(operations) != 1:
        return None, (
            f"holds {len(operations)} operations; give exactly one query operation"
        )
    operation = operations[0]
    if operation.operation.value != "query":
        return None, (
            f"is a {operation.operation.value}; a stream reads with a query operation"
        )
    return operation, None


def graphql_problems(stream: Stream, loc: Loc) -> Iterator[Found]:
    """The ``graphql`` block: the query parses, variables match its ``$names``."""
    block = stream.graphql
    pagination = stream.pagination
    if block is None:
        if pagination is not None and pagination.type == GRAPHQL_CURSOR:
            yield (
                (*loc, "pagination", "type"),
                "graphql_cursor pagination is for streams with a graphql block",
            )
        return
    yield from _stream_keys(stream, loc)
    where: Loc = (*loc, "graphql")
    operation, problem = _operation(block.query)
    if operation is None:
        yield (*where, "query"), str(problem)
    else:
        yield from _variables(stream, block, operation, loc)
    for index, rule in enumerate(block.errors[:-1]):
        if rule.code is None and rule.message_contains is None:
            yield (
                (*where, "errors", index),
                (
                    "a rule without code or message_contains matches every error, so "
                    "the rules after it never apply; put it last"
                ),
            )


def _stream_keys(stream: Stream, loc: Loc) -> Iterator[Found]:
    """Stream keys a GraphQL stream cannot use as a REST one would."""
    if stream.body is not None:
        yield (
            (*loc, "body"),
            (
                "a GraphQL stream sends {query, variables} as its body; remove body "
                "and give values in graphql.variables"
            ),
        )
    if "method" in stream.model_fields_set and stream.method != "POST":
        yield (*loc, "method"), "GraphQL queries are sent with method: POST"
    pagination = stream.pagination
    if pagination is not None and pagination.type != GRAPHQL_CURSOR:
        yield (
            (*loc, "pagination", "type"),
            (
                f"{pagination.type!r} cannot page a GraphQL query; use graphql_cursor "
                "(pageInfo { hasNextPage endCursor })"
            ),
        )
    incremental = stream.incremental
    if incremental is not None and incremental.param_name is not None:
        yield (
            (*loc, "incremental", "param_name"),
            (
                "a GraphQL stream has no request parameter for the filter; use "
                "client_filter: true (and pass dates in graphql.variables)"
            ),
        )


def _variables(
    stream: Stream, block: GraphQL, operation: OperationDefinitionNode, loc: Loc
) -> Iterator[Found]:
    """Given variables are declared; required ones are given; the cursor's fits."""
    where: Loc = (*loc, "graphql")
    declared = {d.variable.name.value: d for d in operation.variable_definitions or ()}
    names = ", ".join(f"${n}" for n in declared) or "none"
    for name in block.variables:
        if name not in declared:
            yield (
                (*where, "variables", name),
                (f"the query declares no ${name} (it declares: {names})"),
            )
    cursor = getattr(stream.pagination, "variable", None)
    if cursor is not None:
        at: Loc = (*loc, "pagination", "variable")
        if cursor not in declared:
            yield (
                at,
                (
                    f"the query declares no ${cursor} for the cursor (it declares: "
                    f"{names})"
                ),
            )
        elif isinstance(declared[cursor].type, NonNullTypeNode):
            yield at, f"${cursor} must be nullable (the first page has no cursor)"
        if cursor in block.variables:
            yield (
                (*where, "variables", cursor),
                (f"${cursor} carries the cursor (pagination.variable); remove it here"),
            )
    for name, definition in declared.items():
        if (
            isinstance(definition.type, NonNullTypeNode)
            and definition.default_value is None
            and name not in {cursor, *block.variables}
        ):
            yield (
                (*where, "variables"),
                (f"the query requires ${name} (non-null, no default); give it here"),
            )
