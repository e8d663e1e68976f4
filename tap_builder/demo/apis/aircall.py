"""Aircall: Basic auth, ``page``/``per_page`` paging, ``from`` in Unix seconds.

Serves ``sample_specs/aircall.yaml``: ``GET /calls`` (incremental on
``started_at``) and ``GET /users``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from tap_builder.demo.configs import API_PREFIXES, DEMO_SETTINGS
from tap_builder.demo.data import at, iso, unix
from tap_builder.demo.openapi import (
    Doc,
    array,
    date_time,
    document,
    document_route,
    integer,
    json_response,
    obj,
    operation,
    param,
    ref,
    string,
)
from tap_builder.demo.params import int_value, page_slice, since_unix, unix_value
from tap_builder.demo.routing import (
    Api,
    ApiError,
    ApiRequest,
    Payload,
    Record,
    basic_auth,
    define_api,
    route,
)

# --------------------------------------------------------------------------- #
# Data
# --------------------------------------------------------------------------- #


def _aircall_calls() -> tuple[Record, ...]:
    moments = [at(hours=6 * index) for index in range(10)]
    moments += [at(days=30, hours=9), at(days=31, hours=14.5)]
    return tuple(_call(index, moment) for index, moment in enumerate(moments))


def _call(index: int, moment: datetime) -> Record:
    answered = index % 4 != 3
    return {
        "id": 1001 + index,
        "direction": "inbound" if index % 2 == 0 else "outbound",
        "status": "done",
        "started_at": unix(moment),
        "duration": 30 + 17 * index if answered else 0,
        "raw_digits": f"+33 1 23 45 67 {index:02d}",
        "missed_call_reason": None if answered else "no_available_agent",
    }


_AIRCALL_USER_NAMES = (
    "Ada Lovelace",
    "Grace Hopper",
    "Alan Turing",
    "Edsger Dijkstra",
    "Barbara Liskov",
    "Donald Knuth",
    "Margaret Hamilton",
    "Ken Thompson",
)


def _aircall_users() -> tuple[Record, ...]:
    return tuple(
        {
            "id": 501 + index,
            "name": name,
            "email": name.lower().replace(" ", ".") + "@example.com",
            "available": index % 3 != 2,
            "language": "en-US" if index % 2 == 0 else "fr-FR",
            "created_at": iso(at(days=-30 + index)),
        }
        for index, name in enumerate(_AIRCALL_USER_NAMES)
    )


AIRCALL_CALLS = _aircall_calls()
AIRCALL_USERS = _aircall_users()


# --------------------------------------------------------------------------- #
# Handlers
# --------------------------------------------------------------------------- #


def _aircall_page(request: ApiRequest, key: str, records: Sequence[Record]) -> Payload:
    per_page = int_value(request.arg("per_page"), "per_page", 20, (1, 50))
    page = int_value(request.arg("page"), "page", 1, (1, 10_000))
    chunk = page_slice(records, page - 1, per_page)
    more = page * per_page < len(records)
    link = f"/v1/{key}?page={page + 1}&per_page={per_page}" if more else None
    meta = {
        "count": len(chunk),
        "total": len(records),
        "current_page": page,
        "per_page": per_page,
        "next_page_link": link,
    }
    return {key: chunk, "meta": meta}


def aircall_calls(request: ApiRequest) -> Payload:
    """``GET /calls``: ``from`` (Unix seconds, inclusive), ``order``, paging."""
    since = unix_value(request.arg("from"), "from")
    calls = since_unix(AIRCALL_CALLS, "started_at", since)
    order = request.arg("order") or "asc"
    if order not in ("asc", "desc"):
        raise ApiError(400, f"order must be asc or desc, got {order!r}")
    return _aircall_page(request, "calls", calls[::-1] if order == "desc" else calls)


def aircall_users(request: ApiRequest) -> Payload:
    """``GET /users``: paging only."""
    return _aircall_page(request, "users", AIRCALL_USERS)


# --------------------------------------------------------------------------- #
# Its OpenAPI document
# --------------------------------------------------------------------------- #

_AIRCALL_PAGING = [
    param("page", "query", integer(minimum=1, default=1), "Page number."),
    param(
        "per_page",
        "query",
        integer(minimum=1, maximum=50, default=20),
        "Items per page.",
    ),
]


def _aircall_list(key: str, item: str, operation_id: str, extra: list[Doc]) -> Doc:
    meta = obj({k: integer() for k in ("count", "total", "current_page", "per_page")})
    body = obj({key: array(ref(item)), "meta": meta})
    return {
        "get": operation(
            operation_id, f"List {key}", json_response(body), [*_AIRCALL_PAGING, *extra]
        )
    }


def aircall_openapi() -> Doc:
    """The Aircall-like API's OpenAPI 3.0 document."""
    since = param(
        "from",
        "query",
        integer(),
        "Only calls started at or after this Unix timestamp.",
    )
    order = param(
        "order", "query", string(enum=["asc", "desc"], default="asc"), "Sort order."
    )
    call = obj(
        {
            "id": integer(),
            "direction": string(),
            "status": string(),
            "started_at": integer(format="unix-time", description="Unix timestamp."),
            "duration": integer(),
            "raw_digits": string(),
            "missed_call_reason": string(nullable=True),
        }
    )
    user = obj(
        {
            "id": integer(),
            "name": string(),
            "email": string(),
            "available": {"type": "boolean"},
            "language": string(),
            "created_at": date_time(),
        }
    )
    return document(
        "Aircall API",
        "https://api.aircall.io/v1",
        {
            "/calls": _aircall_list("calls", "Call", "listCalls", [since, order]),
            "/users": _aircall_list("users", "User", "listUsers", []),
        },
        schemas={"Call": call, "User": user},
        security={"basicAuth": {"type": "http", "scheme": "basic"}},
    )


#: The Aircall API: Basic credentials from the demo settings.
API: Api = define_api(
    "aircall",
    API_PREFIXES["aircall"],
    basic_auth(
        DEMO_SETTINGS["aircall"]["api_id"],
        DEMO_SETTINGS["aircall"]["api_token"],
        "Aircall",
    ),
    route("GET", "/calls", aircall_calls),
    route("GET", "/users", aircall_users),
    document_route(aircall_openapi),
)
