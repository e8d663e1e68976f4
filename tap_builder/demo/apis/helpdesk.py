"""Helpdesk: key in the query, POST search body, ``X-Page`` header, ``updated_since``.

Serves ``sample_specs/helpdesk.yaml``: ``POST /tickets/search``.
"""

from __future__ import annotations

from tap_builder.demo.configs import API_PREFIXES, DEMO_SETTINGS
from tap_builder.demo.data import at, iso
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
from tap_builder.demo.params import int_value, page_slice, since_iso, time_value
from tap_builder.demo.routing import (
    Api,
    ApiError,
    ApiRequest,
    Payload,
    Record,
    define_api,
    query_auth,
    route,
)

# --------------------------------------------------------------------------- #
# Data
# --------------------------------------------------------------------------- #


_HELPDESK_CLOSED = frozenset({303, 307, 311, 313})
_HELPDESK_LATE = {312: at(days=50, hours=10), 314: at(days=51, hours=9.25)}


def _helpdesk_tickets() -> tuple[Record, ...]:
    return tuple(_ticket(index) for index in range(14))


def _ticket(index: int) -> Record:
    ticket_id = 301 + index
    updated = _HELPDESK_LATE.get(ticket_id, at(days=1, hours=3 * index))
    return {
        "id": ticket_id,
        "subject": f"Ticket #{ticket_id}: printer on floor {index % 5 + 1} is jammed",
        "status": "closed" if ticket_id in _HELPDESK_CLOSED else "open",
        "priority": ("low", "normal", "high")[index % 3],
        "requester": {
            "name": f"Requester {index + 1}",
            "email": f"requester{index + 1}@example.net",
        },
        "tags": ["hardware", "printer"] if index % 2 == 0 else ["hardware"],
        "created_at": iso(at(hours=2 * index)),
        "updated_at": iso(updated),
    }


HELPDESK_TICKETS = _helpdesk_tickets()


# --------------------------------------------------------------------------- #
# Handlers
# --------------------------------------------------------------------------- #


HELPDESK_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
HELPDESK_NOTE = "literal {braces} stay"


def _helpdesk_search_body(body: object) -> tuple[str, int]:
    """Validate the search body; return (status filter, page size)."""
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    size, note = body.get("page_size"), body.get("note")
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= 100:
        message = f"page_size must be a JSON integer from 1 to 100, got {size!r}"
        raise ApiError(400, message)
    if note != HELPDESK_NOTE:
        raise ApiError(400, f"note must be {HELPDESK_NOTE!r}, got {note!r}")
    wanted = body.get("filter")
    status = wanted.get("status") if isinstance(wanted, dict) else None
    if not isinstance(status, str):
        raise ApiError(400, "filter.status must be a string")
    return status, size


def helpdesk_search(request: ApiRequest) -> Payload:
    """``POST /tickets/search``: tenant header, body filter, paging, updated_since."""
    tenant = request.header("x-tenant")
    if tenant != DEMO_SETTINGS["helpdesk"]["tenant"]:
        raise ApiError(400, f"unknown tenant {tenant!r} in X-Tenant")
    status, size = _helpdesk_search_body(request.body)
    since = time_value(
        request.arg("updated_since"), "updated_since", HELPDESK_TIME_FORMAT
    )
    page = int_value(request.header("x-page"), "X-Page", 0, (0, 10_000))
    tickets = [t for t in HELPDESK_TICKETS if t["status"] == status]
    tickets = since_iso(tickets, "updated_at", since)
    results = page_slice(tickets, page, size)
    return {"results": results, "page": page, "page_size": size, "total": len(tickets)}


# --------------------------------------------------------------------------- #
# Its OpenAPI document
# --------------------------------------------------------------------------- #


def helpdesk_openapi() -> Doc:
    """The helpdesk API's OpenAPI 3.0 document: a POST search."""
    ticket = obj(
        {
            "id": integer(),
            "subject": string(),
            "status": string(),
            "priority": string(),
            "requester": obj({"name": string(), "email": string()}),
            "tags": array(string()),
            "created_at": date_time(),
            "updated_at": date_time(),
        }
    )
    example = {"filter": {"status": "open"}, "page_size": 4, "note": HELPDESK_NOTE}
    body = {
        "content": {
            "application/json": {"schema": {"type": "object"}, "example": example}
        }
    }
    parameters = [
        param("X-Tenant", "header", string(), "Your tenant id.", required=True),
        param(
            "X-Page", "header", integer(minimum=0, default=0), "Page number, from 0."
        ),
        param(
            "updated_since",
            "query",
            string(),
            "Updated at or after.",
            example="2024-01-01 00:00:00",
        ),
    ]
    answer = obj(
        {
            "results": array(ref("Ticket")),
            "page": integer(),
            "page_size": integer(),
            "total": integer(),
        }
    )
    search = operation(
        "searchTickets",
        "Search tickets",
        json_response(answer),
        parameters,
        requestBody=body,
    )
    key = {"type": "apiKey", "in": "query", "name": "api_key"}
    return document(
        "HelpDesk API",
        "https://api.helpdesk.example.com/api/v2",
        {"/tickets/search": {"post": search}},
        schemas={"Ticket": ticket},
        security={"ApiKey": key},
    )


#: The helpdesk API: ``api_key`` in the query string.
API: Api = define_api(
    "helpdesk",
    API_PREFIXES["helpdesk"],
    query_auth("api_key", DEMO_SETTINGS["helpdesk"]["api_key"]),
    route("POST", "/tickets/search", helpdesk_search),
    document_route(helpdesk_openapi),
)
