"""The lab's GraphQL endpoint: ``POST /graphql``, a real GraphQL server.

The schema below is executed by graphql-core, so a query is parsed, validated
and answered as a GraphQL server would: ``items`` pages with
``pageInfo { hasNextPage endCursor }`` (``first``/``after``, optional
``kind``); ``itemNotes(id:)`` serves child streams; ``busyItems`` answers
with a ``THROTTLED`` error on every odd call (a retry gets through);
``secretItems`` sends its items with a ``FORBIDDEN`` error for each
``internal_note`` (partial data). Errors come back with HTTP 200, in
``errors``, as GraphQL servers send them.
"""

from __future__ import annotations

import threading
import typing as t

from graphql import GraphQLError, build_schema, graphql_sync

from tap_builder.demo import lab
from tap_builder.demo.routing import ApiError, ApiRequest, Payload

SCHEMA = build_schema(
    """
    type Item {
      id: Int!
      name: String!
      kind: String!
      status: String!
      amount: Float!
      updated_at: String!
      internal_note: String
    }
    type PageInfo { hasNextPage: Boolean! endCursor: String }
    type ItemConnection { nodes: [Item!]! pageInfo: PageInfo! }
    type Note { id: Int! text: String! }
    type Query {
      items(first: Int = 3, after: String, kind: String): ItemConnection!
      itemNotes(id: Int!): [Note!]!
      busyItems: [Item!]!
      secretItems: [Item!]!
    }
    """
)

_CALLS = {"busy": 0}
_LOCK = threading.Lock()


def reset() -> None:
    """Start ``busyItems`` over (its next call is throttled)."""
    with _LOCK:
        _CALLS["busy"] = 0


def _items(
    _info: object, first: int = 3, after: str | None = None, kind: str | None = None
) -> dict[str, t.Any]:
    if kind not in {None, "a", "b"}:
        msg = f"unknown kind {kind!r}: use a or b"
        raise GraphQLError(msg, extensions={"code": "BAD_USER_INPUT"})
    if not 1 <= first <= 100:
        msg = "first is 1 to 100"
        raise GraphQLError(msg, extensions={"code": "BAD_USER_INPUT"})
    try:
        offset = lab.cursor_offset(after)
    except ValueError as error:
        raise GraphQLError(str(error), extensions={"code": "BAD_USER_INPUT"}) from None
    chosen = [dict(i) for i in lab.LAB_ITEMS if kind is None or i["kind"] == kind]
    nodes = chosen[offset : offset + first]
    more = offset + first < len(chosen)
    end = lab.cursor_of(offset + len(nodes)) if nodes else None
    return {"nodes": nodes, "pageInfo": {"hasNextPage": more, "endCursor": end}}


def _item_notes(_info: object, id: int) -> list[dict[str, t.Any]]:
    if not any(item["id"] == id for item in lab.LAB_ITEMS):
        msg = f"no item {id}"
        raise GraphQLError(msg, extensions={"code": "NOT_FOUND"})
    return [{"id": id * 10 + n, "text": f"note {n} on item {id}"} for n in (1, 2)]


def _busy_items(_info: object) -> list[dict[str, t.Any]]:
    with _LOCK:
        _CALLS["busy"] += 1
        throttled = _CALLS["busy"] % 2 == 1
    if throttled:
        msg = "too many requests, slow down"
        raise GraphQLError(msg, extensions={"code": "THROTTLED"})
    return [dict(item) for item in lab.LAB_ITEMS[:2]]


def _hidden(_info: object) -> None:
    msg = "not allowed to read internal_note"
    raise GraphQLError(msg, extensions={"code": "FORBIDDEN"})


def _secret_items(_info: object) -> list[dict[str, t.Any]]:
    return [{**item, "internal_note": _hidden} for item in lab.LAB_ITEMS[:3]]


_ROOT = {
    "items": _items,
    "itemNotes": _item_notes,
    "busyItems": _busy_items,
    "secretItems": _secret_items,
}


def lab_graphql(request: ApiRequest) -> Payload:
    """``POST /graphql``: ``{query, variables}`` executed against :data:`SCHEMA`."""
    body = request.body if isinstance(request.body, dict) else {}
    query, variables = body.get("query"), body.get("variables") or {}
    if not isinstance(query, str) or not isinstance(variables, dict):
        raise ApiError(400, "POST a JSON body {query: string, variables: object}")
    result = graphql_sync(SCHEMA, query, root_value=_ROOT, variable_values=variables)
    return dict(result.formatted)
