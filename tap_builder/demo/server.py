"""A stdlib HTTP server that emulates the APIs of the bundled sample specs.

Each emulated API lives under its own path prefix (see
:data:`tap_builder.demo.configs.API_PREFIXES`), checks its credentials, and
implements real pagination and real incremental filters over the deterministic
datasets in :mod:`tap_builder.demo.data`. Every request, answered or refused, is
recorded so tests can assert where auth, paging and filter parameters went.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import json
import re
import socket
import struct
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, cast
from urllib.parse import parse_qs, parse_qsl, unquote, urlsplit

from tap_builder.demo import data, lab
from tap_builder.demo.configs import API_PREFIXES, DEMO_SETTINGS
from tap_builder.demo.faults import FaultInjector, FaultPlan

Record = dict[str, Any]

_LOOPBACK = frozenset({"127.0.0.1", "localhost"})


@dataclass(frozen=True)
class RecordedRequest:
    """One request the demo server received.

    Attributes:
        method: HTTP method.
        path: URL path without the query string, as sent.
        query: Query parameters (``parse_qs`` with blank values kept).
        headers: Request headers with lower-cased names.
        body: The parsed JSON body, or None when there was none (or it was invalid).
        status: The HTTP status the server answered.
    """

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    status: int
    #: ``time.monotonic()`` when the request arrived.
    at: float = 0.0


# --------------------------------------------------------------------------- #
# Routing primitives
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class ApiRequest:
    """A request as a route handler sees it.

    Attributes:
        method: HTTP method.
        path: Path below the API prefix, percent-decoded.
        query: Query parameters.
        headers: Lower-cased headers.
        body: Parsed JSON body or None.
        params: Values of the ``{name}`` segments of the prefix and the route.
    """

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    params: dict[str, str]

    def arg(self, name: str) -> str | None:
        """The first value of query parameter ``name``, if sent."""
        values = self.query.get(name)
        return values[0] if values else None

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (any case), if sent."""
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class ApiResponse:
    """A JSON response: status, payload and extra headers."""

    status: int
    payload: Payload
    headers: tuple[tuple[str, str], ...] = ()


class ApiError(Exception):
    """Raised by authenticators and handlers to answer with an error."""

    def __init__(
        self, status: int, message: str, headers: tuple[tuple[str, str], ...] = ()
    ) -> None:
        """Build the error.

        Args:
            status: HTTP status to answer.
            message: Human-readable explanation (never holds a secret).
            headers: Extra response headers, e.g. ``WWW-Authenticate``.
        """
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers

    def response(self) -> ApiResponse:
        """The JSON error response."""
        name = _ERROR_NAMES.get(self.status, "error")
        payload = {"error": name, "message": self.message}
        return ApiResponse(self.status, payload, self.headers)


_ERROR_NAMES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    429: "too_many_requests",
    409: "conflict",
    404: "not_found",
    405: "method_not_allowed",
    500: "internal_error",
}

#: A JSON response payload.
Payload = dict[str, Any] | list[Record]
Handler = Callable[[ApiRequest], "Payload | ApiResponse"]
Authenticator = Callable[[ApiRequest], None]


@dataclass(frozen=True)
class Route:
    """A method and path pattern (below the API prefix) mapped to a handler."""

    method: str
    pattern: re.Pattern[str]
    handler: Handler


@dataclass(frozen=True)
class Api:
    """One emulated API: a path prefix, an authenticator and its routes."""

    name: str
    prefix: re.Pattern[str]
    authenticate: Authenticator
    routes: tuple[Route, ...]


def _pattern(template: str, *, whole: bool) -> re.Pattern[str]:
    """Compile ``/a/{name}/b`` into a regex with a named group per segment."""
    parts = re.split(r"\{(\w+)\}", template)
    regex = "".join(
        f"(?P<{part}>[^/]+)" if index % 2 else re.escape(part)
        for index, part in enumerate(parts)
    )
    return re.compile("^" + regex + ("$" if whole else "(?=/|$)"))


def _route(method: str, template: str, handler: Handler) -> Route:
    return Route(method, _pattern(template, whole=True), handler)


# --------------------------------------------------------------------------- #
# Parameter parsing helpers (errors become 400 responses)
# --------------------------------------------------------------------------- #


def _int_value(
    raw: str | None, name: str, default: int, bounds: tuple[int, int]
) -> int:
    """Parse a decimal integer parameter, checking it lies within ``bounds``."""
    if raw is None:
        return default
    low, high = bounds
    if not re.fullmatch(r"-?\d+", raw) or not low <= int(raw) <= high:
        message = f"{name} must be an integer from {low} to {high}, got {raw!r}"
        raise ApiError(400, message)
    return int(raw)


def _unix_value(raw: str | None, name: str) -> int | None:
    """Parse a Unix-seconds filter value (digits only)."""
    if raw is None:
        return None
    if not re.fullmatch(r"\d+", raw):
        raise ApiError(400, f"{name} must be a Unix timestamp in seconds, got {raw!r}")
    return int(raw)


def _time_value(raw: str | None, name: str, fmt: str) -> datetime | None:
    """Parse a date-time filter value in exactly the strftime format ``fmt`` (UTC)."""
    if raw is None:
        return None
    try:
        parsed = datetime.strptime(raw, fmt)
    except ValueError:
        raise ApiError(400, f"{name} must match {fmt!r}, got {raw!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def _since_iso(
    records: Sequence[Record], key: str, bound: datetime | None
) -> list[Record]:
    """Records whose ISO date-time ``key`` is at or after ``bound`` (inclusive)."""
    if bound is None:
        return list(records)
    return [item for item in records if datetime.fromisoformat(item[key]) >= bound]


def _since_unix(records: Sequence[Record], key: str, bound: int | None) -> list[Record]:
    """Records whose Unix-seconds ``key`` is at or after ``bound`` (inclusive)."""
    if bound is None:
        return list(records)
    return [item for item in records if item[key] >= bound]


def _page(records: Sequence[Record], index: int, size: int) -> list[Record]:
    """The ``index``-th (zero-based) page of ``size`` records; empty past the end."""
    return list(records[index * size : (index + 1) * size])


# --------------------------------------------------------------------------- #
# Authenticators
# --------------------------------------------------------------------------- #


def _same(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a credential."""
    return given is not None and hmac.compare_digest(
        given.encode("utf-8"), expected.encode("utf-8")
    )


def _basic_credentials(request: ApiRequest) -> tuple[str, str] | None:
    """The (username, password) of a Basic ``Authorization`` header, if valid."""
    scheme, _, token = (request.header("authorization") or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, colon, password = decoded.partition(":")
    return (username, password) if colon else None


def basic_auth(username: str, password: str, realm: str) -> Authenticator:
    """An authenticator for HTTP Basic credentials (RFC 7617)."""

    def authenticate(request: ApiRequest) -> None:
        given = _basic_credentials(request) or (None, None)
        if not (_same(given[0], username) and _same(given[1], password)):
            challenge = (("WWW-Authenticate", f'Basic realm="{realm}"'),)
            message = f"invalid or missing Basic credentials for {realm}"
            raise ApiError(401, message, challenge)

    return authenticate


def header_auth(name: str, value: str) -> Authenticator:
    """An authenticator that requires header ``name`` to equal ``value``."""

    def authenticate(request: ApiRequest) -> None:
        if not _same(request.header(name), value):
            raise ApiError(401, f"invalid or missing {name} header")

    return authenticate


def query_auth(name: str, value: str) -> Authenticator:
    """An authenticator that requires query parameter ``name`` to equal ``value``."""

    def authenticate(request: ApiRequest) -> None:
        if not _same(request.arg(name), value):
            raise ApiError(401, f"invalid or missing {name} query parameter")

    return authenticate


def no_auth(request: ApiRequest) -> None:
    """An authenticator that lets every request through."""
    del request


# --------------------------------------------------------------------------- #
# Aircall: Basic auth, page/per_page, `from` in Unix seconds
# --------------------------------------------------------------------------- #


def _aircall_page(request: ApiRequest, key: str, records: Sequence[Record]) -> Payload:
    per_page = _int_value(request.arg("per_page"), "per_page", 20, (1, 50))
    page = _int_value(request.arg("page"), "page", 1, (1, 10_000))
    chunk = _page(records, page - 1, per_page)
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
    since = _unix_value(request.arg("from"), "from")
    calls = _since_unix(data.AIRCALL_CALLS, "started_at", since)
    order = request.arg("order") or "asc"
    if order not in ("asc", "desc"):
        raise ApiError(400, f"order must be asc or desc, got {order!r}")
    return _aircall_page(request, "calls", calls[::-1] if order == "desc" else calls)


def aircall_users(request: ApiRequest) -> Payload:
    """``GET /users``: paging only."""
    return _aircall_page(request, "users", data.AIRCALL_USERS)


# --------------------------------------------------------------------------- #
# Chargebee: API key as Basic user, opaque next_offset, updated_at[after]
# --------------------------------------------------------------------------- #


def _chargebee_token(customer: Record) -> str:
    """The opaque offset pointing just after ``customer``."""
    parts = [str(customer["resource_version"]), str(customer["created_at"])]
    return json.dumps(parts, separators=(",", ":"))


def _chargebee_sorted(request: ApiRequest, customers: list[Record]) -> list[Record]:
    ascending, descending = request.arg("sort_by[asc]"), request.arg("sort_by[desc]")
    if ascending is not None and descending is not None:
        raise ApiError(400, "send only one of sort_by[asc] and sort_by[desc]")
    field = ascending or descending or "created_at"
    if field not in ("created_at", "updated_at"):
        raise ApiError(400, f"cannot sort by {field!r}; use created_at or updated_at")
    descend = descending is not None
    return sorted(customers, key=lambda item: item[field], reverse=descend)


def _chargebee_start(request: ApiRequest, customers: list[Record]) -> int:
    offset = request.arg("offset")
    if offset is None:
        return 0
    tokens = [_chargebee_token(item) for item in customers]
    if offset not in tokens:
        raise ApiError(400, f"offset {offset!r} is not a next_offset this API returned")
    return tokens.index(offset) + 1


def chargebee_customers(request: ApiRequest) -> Payload:
    """``GET /customers``: ``updated_at[after]`` (inclusive), sort, limit/offset."""
    since = _unix_value(request.arg("updated_at[after]"), "updated_at[after]")
    customers = _chargebee_sorted(
        request, _since_unix(data.CHARGEBEE_CUSTOMERS, "updated_at", since)
    )
    limit = _int_value(request.arg("limit"), "limit", 10, (1, 100))
    start = _chargebee_start(request, customers)
    chunk = customers[start : start + limit]
    payload: dict[str, Any] = {"list": [{"customer": item} for item in chunk]}
    if start + limit < len(customers):
        payload["next_offset"] = _chargebee_token(chunk[-1])
    return payload


# --------------------------------------------------------------------------- #
# Shopify: store in the path, access-token header, page/limit, updated_at_min
# --------------------------------------------------------------------------- #

SHOPIFY_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def _shopify_authenticate(request: ApiRequest) -> None:
    settings = DEMO_SETTINGS["shopify"]
    if request.params.get("store") != settings["store_name"]:
        raise ApiError(404, f"no shop named {request.params.get('store')!r}")
    header_auth("X-Shopify-Access-Token", settings["access_token"])(request)


def shopify_products(request: ApiRequest) -> Payload:
    """``GET /products.json``: ``updated_at_min`` (inclusive), page/limit."""
    since = _time_value(
        request.arg("updated_at_min"), "updated_at_min", SHOPIFY_TIME_FORMAT
    )
    products = _since_iso(data.SHOPIFY_PRODUCTS, "updated_at", since)
    limit = _int_value(request.arg("limit"), "limit", 50, (1, 250))
    page = _int_value(request.arg("page"), "page", 1, (1, 10_000))
    return {"products": _page(products, page - 1, limit)}


def shopify_orders(request: ApiRequest) -> Payload:
    """``GET /orders.json``: every order line in one response."""
    del request
    return {"orders": list(data.SHOPIFY_ORDERS)}


# --------------------------------------------------------------------------- #
# Clinic: bearer header, bare-list parent with offset/limit, child routes
# --------------------------------------------------------------------------- #

CLINIC_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"


def clinic_clients(request: ApiRequest) -> Payload:
    """``GET /clients``: a bare JSON list, offset/limit."""
    offset = _int_value(request.arg("offset"), "offset", 0, (0, 1_000_000))
    limit = _int_value(request.arg("limit"), "limit", 20, (1, 100))
    return list(data.CLINIC_CLIENTS[offset : offset + limit])


def _clinic_client(request: ApiRequest) -> Record:
    raw = request.params["client_id"]
    client = next((c for c in data.CLINIC_CLIENTS if str(c["id"]) == raw), None)
    if client is None:
        raise ApiError(404, f"no client {raw!r}")
    return client


def clinic_medical_forms(request: ApiRequest) -> Payload:
    """``GET /clients/{id}/medical-forms``: ``X-Updated-Since`` header (inclusive)."""
    client = _clinic_client(request)
    since = _time_value(
        request.header("x-updated-since"), "X-Updated-Since", CLINIC_TIME_FORMAT
    )
    forms = _since_iso(data.CLINIC_FORMS[client["id"]], "updated_at", since)
    return {"data": forms, "total": len(forms)}


def clinic_appointments(request: ApiRequest) -> Payload:
    """``GET /clients/{id}/appointments``: ``X-Clinic`` names the clinic."""
    client = _clinic_client(request)
    code, sent = client["clinic"]["code"], request.header("x-clinic")
    if sent != code:
        message = f"X-Clinic must be {code!r} for client {client['id']}, got {sent!r}"
        raise ApiError(400, message)
    return {"appointments": list(data.CLINIC_APPOINTMENTS[client["id"]])}


# --------------------------------------------------------------------------- #
# Helpdesk: key in query, POST search body, X-Page header, updated_since
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
    since = _time_value(
        request.arg("updated_since"), "updated_since", HELPDESK_TIME_FORMAT
    )
    page = _int_value(request.header("x-page"), "X-Page", 0, (0, 10_000))
    tickets = [t for t in data.HELPDESK_TICKETS if t["status"] == status]
    tickets = _since_iso(tickets, "updated_at", since)
    results = _page(tickets, page, size)
    return {"results": results, "page": page, "page_size": size, "total": len(tickets)}


# --------------------------------------------------------------------------- #
# Open library: no auth, offset/limit in headers, numeric `next`
# --------------------------------------------------------------------------- #


def openlib_books(request: ApiRequest) -> Payload:
    """``GET /books``: ``X-Offset``/``X-Limit`` headers, ``next`` offset or null."""
    offset = _int_value(request.header("x-offset"), "X-Offset", 0, (0, 1_000_000))
    limit = _int_value(request.header("x-limit"), "X-Limit", 10, (1, 100))
    books = data.OPENLIB_BOOKS
    following = offset + limit if offset + limit < len(books) else None
    return {"items": list(books[offset : offset + limit]), "next": following}


def openlib_subjects(request: ApiRequest) -> Payload:
    """``GET /subjects``: every subject in one response."""
    del request
    return {"subjects": list(data.OPENLIB_SUBJECTS)}


# --------------------------------------------------------------------------- #
# Lab: options beyond the Connector Builder
# --------------------------------------------------------------------------- #


def _lab_size(request: ApiRequest, name: str = "limit") -> int:
    return _int_value(request.arg(name), name, 3, (1, 100))


def _lab_cursor(raw: str | None) -> int:
    try:
        return lab.cursor_offset(raw)
    except ValueError as error:
        raise ApiError(400, str(error)) from None


def lab_events(request: ApiRequest) -> Payload:
    """``GET /events?cursor=&limit=``: the next cursor in the body."""
    records, following = lab.page(
        _lab_cursor(request.arg("cursor")), _lab_size(request)
    )
    return {"events": records, "next_cursor": lab.cursor_of(following)}


def lab_notes(request: ApiRequest) -> ApiResponse:
    """``GET /notes``: cursor in ``X-Cursor``, the next one in ``X-Next-Cursor``."""
    records, following = lab.page(_lab_cursor(request.header("x-cursor")), 4)
    headers = (
        (("X-Next-Cursor", cursor),) if (cursor := lab.cursor_of(following)) else ()
    )
    return ApiResponse(200, {"notes": records}, headers)


def lab_search(request: ApiRequest) -> Payload:
    """``POST /search``: the cursor travels in the body at ``paging.cursor``."""
    body = request.body if isinstance(request.body, dict) else {}
    if body.get("query") != {"kind": "any"}:
        raise ApiError(400, "the body must hold query: {kind: any}")
    paging = body.get("paging") or {}
    records, following = lab.page(_lab_cursor(paging.get("cursor")), 4)
    return {"hits": records, "next": lab.cursor_of(following)}


def lab_articles(request: ApiRequest) -> Payload:
    """``GET /articles?page=``: a relative next-page URL in ``links.next``."""
    number = _int_value(request.arg("page"), "page", 1, (1, 1000))
    records, following = lab.page((number - 1) * 4, 4)
    link = f"articles?page={number + 1}&per_page=4" if following is not None else None
    return {"items": records, "links": {"next": link}}


def lab_tags(request: ApiRequest) -> ApiResponse:
    """``GET /tags?page=``: RFC 8288 ``Link: <...>; rel="next"`` headers."""
    number = _int_value(request.arg("page"), "page", 1, (1, 1000))
    records, following = lab.page((number - 1) * 3, 3)
    host = request.header("host") or "127.0.0.1"
    headers: tuple[tuple[str, str], ...] = ()
    if following is not None:
        url = f"http://{host}/lab/v1/tags?page={number + 1}"
        headers = (("Link", f'<{url}>; rel="next", <{url}>; rel="last"'),)
    return ApiResponse(200, {"tags": records}, headers)


def lab_reports(request: ApiRequest) -> Payload:
    """``GET /reports?page=&size=``: ``has_more``, ``total_pages`` and ``total``."""
    number = _int_value(request.arg("page"), "page", 1, (1, 1000))
    size = _lab_size(request, "size")
    records, following = lab.page((number - 1) * size, size)
    pages = -(-len(lab.LAB_ITEMS) // size)
    return {
        "data": records,
        "has_more": following is not None,
        "total_pages": pages,
        "total": len(lab.LAB_ITEMS),
    }


def lab_feed(request: ApiRequest) -> ApiResponse:
    """``GET /feed?cursor=&limit=``: a next page is always offered, even past the end.

    Like many real APIs, it always sends a next cursor (``next_cursor``), a next
    URL (``links.next``) and a ``Link: rel="next"`` header; only ``has_more``,
    ``total`` and ``total_pages`` tell that the next page is empty. A tap without
    a stop condition asks for that empty page; one with a stop condition does not.
    """
    offset = _lab_cursor(request.arg("cursor"))
    size = _lab_size(request)
    records, following = lab.page(offset, size)
    cursor = lab.cursor_of(offset + size)
    host = request.header("host") or "127.0.0.1"
    link = f"http://{host}/lab/v1/feed?cursor={cursor}&limit={size}"
    body = {
        "items": records,
        "has_more": following is not None,
        "total": len(lab.LAB_ITEMS),
        "total_pages": -(-len(lab.LAB_ITEMS) // size),
        "next_cursor": cursor,
        "links": {"next": f"feed?cursor={cursor}&limit={size}"},
    }
    return ApiResponse(200, body, (("Link", f'<{link}>; rel="next"'),))


def lab_loop(request: ApiRequest) -> Payload:
    """``GET /loop``: a broken API whose cursor never changes."""
    del request
    return {"data": [dict(lab.LAB_ITEMS[0])], "next_cursor": "cur-same"}


def lab_ledger(request: ApiRequest) -> Payload:
    """``GET /ledger?since_ms=``: entries booked at or after (Unix ms)."""
    since = _int_value(request.arg("since_ms"), "since_ms", 0, (0, 10**14))
    return {"entries": [dict(e) for e in lab.LEDGER if lab.booked_ms(e) >= since]}


def lab_ledger_all(request: ApiRequest) -> Payload:
    """``GET /ledger-all``: an API with no filter at all."""
    del request
    return {"entries": [dict(e) for e in lab.LEDGER]}


def lab_ledger_iso(request: ApiRequest) -> Payload:
    """``GET /ledger-iso?since=``: entries booked at or after an ISO-8601 time."""
    since = _time_value(request.arg("since"), "since", "%Y-%m-%dT%H:%M:%SZ")
    bound = int(since.timestamp() * 1000) if since else 0
    return {"entries": [dict(e) for e in lab.LEDGER if lab.booked_ms(e) >= bound]}


def lab_teams(request: ApiRequest) -> Payload:
    """``GET /teams``: three teams."""
    del request
    return [dict(team) for team in lab.TEAMS]


def lab_members(request: ApiRequest) -> Payload:
    """``GET /teams/{team_id}/members``: 404 for the deleted team."""
    team = int(request.params["team_id"])
    if team not in lab.MEMBERS:
        raise ApiError(404, f"team {team} was deleted")
    return {"members": [dict(m) for m in lab.MEMBERS[team]]}


def lab_conflict(request: ApiRequest) -> Payload:
    """``GET /conflict``: 409 on every odd call (a retry gets through)."""
    del request
    if lab.next_conflict():
        raise ApiError(409, "busy")
    return {"data": [dict(lab.LAB_ITEMS[0])]}


def lab_throttled(request: ApiRequest) -> Payload:
    """``GET /throttled``: 429 with ``X-RateLimit-Reset: 1`` on every odd call."""
    del request
    if lab.next_throttle():
        raise ApiError(429, "slow down", (("X-RateLimit-Reset", "1"),))
    return {"data": [dict(lab.LAB_ITEMS[1])]}


def _since_filter(request: ApiRequest, records: list[Record]) -> list[Record]:
    since = _time_value(
        request.arg("updated_since"), "updated_since", "%Y-%m-%dT%H:%M:%SZ"
    )
    return _since_iso(records, "updated_at", since)


def lab_projects(request: ApiRequest) -> Payload:
    """``GET /projects?updated_since=``: projects updated at or after."""
    return {"projects": _since_filter(request, lab.projects())}


def lab_tasks(request: ApiRequest) -> Payload:
    """``GET /projects/{project_id}/tasks?updated_since=``: a project's tasks."""
    found = lab.tasks(int(request.params["project_id"]))
    if found is None:
        raise ApiError(404, "no such project")
    return {"tasks": _since_filter(request, found)}


def lab_range(request: ApiRequest) -> Payload:
    """``GET /range?from=&to=``: items updated in ``[from, to)`` (ISO-8601)."""
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    low = _time_value(request.arg("from"), "from", fmt)
    high = _time_value(request.arg("to"), "to", fmt)
    if low is None or high is None:
        raise ApiError(400, "from and to are required")
    items = [
        dict(item)
        for item in lab.LAB_ITEMS
        if low <= datetime.fromisoformat(str(item["updated_at"])) < high
    ]
    return {"data": items}


def lab_busy(request: ApiRequest) -> Payload:
    """``GET /busy``: 400 with ``{"error": {"code": "busy"}}`` on every odd call."""
    del request
    if lab.next_busy():
        raise ApiError(400, "busy")
    return {"data": [dict(lab.LAB_ITEMS[2])]}


def lab_comments(request: ApiRequest) -> Payload:
    """``GET /projects/{project_id}/tasks/{task_id}/comments``: two per task."""
    project, task = int(request.params["project_id"]), int(request.params["task_id"])
    if task // 100 != project:
        raise ApiError(404, f"task {task} is not in project {project}")
    return {"comments": [{"id": task * 10 + n, "text": f"c{n}"} for n in (1, 2)]}


def lab_lines(request: ApiRequest) -> ApiResponse:
    """``GET /lines``: JSON Lines, one item per line."""
    del request
    items = [dict(item) for item in lab.LAB_ITEMS[:4]]
    return ApiResponse(200, items, (("Content-Type", "application/x-ndjson"),))


def lab_forbidden(request: ApiRequest) -> Payload:
    """``GET /forbidden``: always 403."""
    del request
    raise ApiError(403, "missing scope reports:read")


def lab_oauth_token(request: ApiRequest) -> Payload:
    """``POST /oauth/token``: client_credentials and (rotating) refresh_token grants."""
    form = request.body if isinstance(request.body, dict) else {}
    client = _basic_credentials(request) or (
        form.get("client_id"),
        form.get("client_secret"),
    )
    if client != (lab.CLIENT_ID, lab.CLIENT_SECRET):
        raise ApiError(401, "invalid_client")
    grant = form.get("grant_type")
    if grant == "client_credentials":
        if form.get("scope") != "read" or form.get("audience") != "lab":
            raise ApiError(400, "scope read and audience lab are required")
        return {"access_token": lab.issue_access_token(), "expires_in": 3600}
    if grant == "refresh_token":
        rotated = lab.rotate_refresh_token(str(form.get("refresh_token")))
        if rotated is None:
            raise ApiError(
                400, "invalid_grant: the refresh token was used or is unknown"
            )
        token = lab.issue_access_token()
        return {"access_token": token, "expires_in": 3600, "refresh_token": rotated}
    raise ApiError(400, f"unsupported grant_type {grant!r}")


def lab_login(request: ApiRequest) -> Payload:
    """``POST /login``: a session token for the right username and password."""
    body = request.body if isinstance(request.body, dict) else {}
    if (body.get("username"), body.get("password")) != (lab.USERNAME, lab.PASSWORD):
        raise ApiError(401, "wrong username or password")
    return {"session": {"token": lab.issue_access_token()}}


def lab_secure(request: ApiRequest) -> Payload:
    """``GET /secure``: needs a token issued by ``/oauth/token`` or ``/login``."""
    auth = request.header("authorization") or ""
    scheme, _, token = auth.partition(" ")
    if scheme not in {"Bearer", "Session"} or not lab.is_issued(token):
        raise ApiError(401, "send a token from /oauth/token or /login")
    return {"data": [dict(item) for item in lab.LAB_ITEMS[:3]]}


_LAB_OPEN = ("/oauth/token", "/login", "/secure")


def _lab_authenticate(request: ApiRequest) -> None:
    if request.path in _LAB_OPEN:
        return
    if not _same(request.header("authorization"), lab.TOKEN):
        raise ApiError(401, "send Authorization: Bearer <token>")
    workspace = request.header("x-workspace")
    if workspace is not None and not _same(workspace, lab.WORKSPACE):
        raise ApiError(401, "unknown X-Workspace")


def lab_workspace(request: ApiRequest) -> Payload:
    """``GET /workspace``: needs both the bearer token and ``X-Workspace``."""
    if request.header("x-workspace") is None:
        raise ApiError(401, "send X-Workspace too")
    return {"items": [dict(item) for item in lab.LAB_ITEMS[:2]]}


# --------------------------------------------------------------------------- #
# The route table
# --------------------------------------------------------------------------- #


def _api(name: str, prefix: str, authenticate: Authenticator, *routes: Route) -> Api:
    return Api(name, _pattern(prefix, whole=False), authenticate, routes)


_FORMS = "/clients/{client_id}/medical-forms"
_APPOINTMENTS = "/clients/{client_id}/appointments"
_CLINIC_BEARER = f"Bearer {DEMO_SETTINGS['clinic']['access_token']}"

#: Every emulated API, matched by path prefix in this order.
APIS: tuple[Api, ...] = (
    _api(
        "aircall",
        API_PREFIXES["aircall"],
        basic_auth(
            DEMO_SETTINGS["aircall"]["api_id"],
            DEMO_SETTINGS["aircall"]["api_token"],
            "Aircall",
        ),
        _route("GET", "/calls", aircall_calls),
        _route("GET", "/users", aircall_users),
    ),
    _api(
        "chargebee",
        API_PREFIXES["chargebee"],
        basic_auth(DEMO_SETTINGS["chargebee"]["site_api_key"], "", "Chargebee"),
        _route("GET", "/customers", chargebee_customers),
    ),
    _api(
        "shopify",
        "/shopify/{store}/admin/api/2024-01",
        _shopify_authenticate,
        _route("GET", "/products.json", shopify_products),
        _route("GET", "/orders.json", shopify_orders),
    ),
    _api(
        "clinic",
        API_PREFIXES["clinic"],
        header_auth("Authorization", _CLINIC_BEARER),
        _route("GET", "/clients", clinic_clients),
        _route("GET", _FORMS, clinic_medical_forms),
        _route("GET", _APPOINTMENTS, clinic_appointments),
    ),
    _api(
        "helpdesk",
        API_PREFIXES["helpdesk"],
        query_auth("api_key", DEMO_SETTINGS["helpdesk"]["api_key"]),
        _route("POST", "/tickets/search", helpdesk_search),
    ),
    _api(
        "openlib",
        API_PREFIXES["openlib"],
        no_auth,
        _route("GET", "/books", openlib_books),
        _route("GET", "/subjects", openlib_subjects),
    ),
    _api(
        "lab",
        API_PREFIXES["lab"],
        _lab_authenticate,
        _route("GET", "/events", lab_events),
        _route("GET", "/notes", lab_notes),
        _route("POST", "/search", lab_search),
        _route("GET", "/articles", lab_articles),
        _route("GET", "/tags", lab_tags),
        _route("GET", "/reports", lab_reports),
        _route("GET", "/feed", lab_feed),
        _route("GET", "/loop", lab_loop),
        _route("GET", "/workspace", lab_workspace),
        _route("GET", "/ledger", lab_ledger),
        _route("GET", "/ledger-all", lab_ledger_all),
        _route("GET", "/ledger-iso", lab_ledger_iso),
        _route("GET", "/teams", lab_teams),
        _route("GET", "/teams/{team_id}/members", lab_members),
        _route("GET", "/conflict", lab_conflict),
        _route("GET", "/forbidden", lab_forbidden),
        _route("GET", "/throttled", lab_throttled),
        _route("GET", "/projects", lab_projects),
        _route("GET", "/range", lab_range),
        _route("GET", "/lines", lab_lines),
        _route("GET", "/busy", lab_busy),
        _route("GET", "/projects/{project_id}/tasks/{task_id}/comments", lab_comments),
        _route("GET", "/projects/{project_id}/tasks", lab_tasks),
        _route("POST", "/oauth/token", lab_oauth_token),
        _route("POST", "/login", lab_login),
        _route("GET", "/secure", lab_secure),
    ),
)


def _resolve(api: Api, request: ApiRequest) -> tuple[Route, dict[str, str]]:
    """The route matching the request below the prefix; 404 or 405 otherwise."""
    matches = [(r, m) for r in api.routes if (m := r.pattern.match(request.path))]
    for route, match in matches:
        if route.method == request.method:
            return route, match.groupdict()
    if matches:
        allowed = ", ".join(sorted({route.method for route, _ in matches}))
        raise ApiError(405, f"{request.method} not allowed here", (("Allow", allowed),))
    endpoint = request.path or "/"
    raise ApiError(404, f"the {api.name} demo API has no {endpoint} endpoint")


def _call(api: Api, request: ApiRequest) -> ApiResponse:
    try:
        api.authenticate(request)
        route, params = _resolve(api, request)
        result = route.handler(replace(request, params={**request.params, **params}))
    except ApiError as error:
        return error.response()
    return result if isinstance(result, ApiResponse) else ApiResponse(200, result)


def dispatch(request: ApiRequest) -> ApiResponse:
    """Answer a request whose ``path`` is the full (decoded) URL path.

    Args:
        request: The request; ``params`` is ignored.

    Returns:
        The JSON response, 404 when no API owns the path.
    """
    for api in APIS:
        match = api.prefix.match(request.path)
        if match:
            below = request.path[match.end() :]
            return _call(api, replace(request, path=below, params=match.groupdict()))
    return ApiError(404, f"no demo API serves {request.path!r}").response()


# --------------------------------------------------------------------------- #
# HTTP plumbing
# --------------------------------------------------------------------------- #

Recorder = Callable[[RecordedRequest], None]


class _HTTPServer(ThreadingHTTPServer):
    """Threading server that records requests and keeps errors quiet."""

    daemon_threads = True
    block_on_close = False

    def __init__(
        self, address: tuple[str, int], recorder: Recorder, faults: FaultInjector
    ) -> None:
        self.recorder = recorder
        self.faults = faults
        super().__init__(address, _RequestHandler)

    def handle_error(self, request: object, client_address: object) -> None:
        """Ignore connection errors (clients closing keep-alive sockets)."""


def _parse_body(raw: bytes, content_type: str = "") -> tuple[Any, str | None]:
    """The parsed body (None when empty) and an error message, if invalid.

    Form bodies (OAuth2 token requests) become a dict of their fields.
    """
    if not raw.strip():
        return None, None
    if content_type.startswith("application/x-www-form-urlencoded"):
        return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True)), None
    try:
        return json.loads(raw), None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return None, f"the body is not valid JSON: {error}"


class _RequestHandler(BaseHTTPRequestHandler):
    """Turns HTTP requests into :func:`dispatch` calls, with keep-alive."""

    protocol_version = "HTTP/1.1"
    server_version = "tap-builder-demo/1.0"
    #: Headers and body go out in separate writes; without this, Nagle's
    #: algorithm and delayed ACKs add ~40 ms to every keep-alive response.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        """Answer any method the same way: through the route table."""
        self._answer()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET  # noqa: N815

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet: never print requests (they may carry credentials)."""

    def _answer(self) -> None:
        arrived = time.monotonic()
        split = urlsplit(self.path)
        query = parse_qs(split.query, keep_blank_values=True)
        headers = {name.lower(): value for name, value in self.headers.items()}
        body, problem = _parse_body(
            self._read_body(), self.headers.get("Content-Type") or ""
        )
        path = unquote(split.path)
        request = ApiRequest(self.command, path, query, headers, body, {})
        server = cast(_HTTPServer, self.server)
        fault = server.faults.choose(f"{self.command} {self.path} {body!r}", path)
        if fault is not None:
            status = self._inject(fault, request)
            recorded = RecordedRequest(
                self.command, split.path, query, headers, body, status, arrived
            )
            server.recorder(recorded)
            return
        if problem:
            response = ApiError(400, problem).response()
        else:
            response = _safe_dispatch(request)
        recorded = RecordedRequest(
            self.command, split.path, query, headers, body, response.status, arrived
        )
        server.recorder(recorded)
        self._send(response)

    def _inject(self, fault: str, request: ApiRequest) -> int:
        """Misbehave as ``fault`` says; returns the status sent (0: none)."""
        if fault in _STATUS_FAULTS:
            status, headers = _STATUS_FAULTS[fault]()
            message = f"injected fault {fault}"
            self._send(ApiResponse(status, {"error": message}, tuple(headers)))
            return status
        if fault == "reset":
            linger = struct.pack("ii", 1, 0)  # close with RST, not FIN
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            self.close_connection = True
            return 0
        if fault == "slow":
            server = cast(_HTTPServer, self.server)
            time.sleep(server.faults.plan.slow_seconds)
            response = _safe_dispatch(request)
            with contextlib.suppress(OSError):
                self._send(response)
            return response.status
        self._send_raw(_BODY_FAULTS[fault](), fault)
        return 200

    def _send_raw(self, payload: bytes, fault: str) -> None:
        content_type = "text/html" if fault == "not-json" else "application/json"
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            return b""
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
            chunks.append(self.rfile.read(size))
            self.rfile.readline()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            continue
        return b"".join(chunks)

    def _send(self, response: ApiResponse) -> None:
        lines = response.status == 200 and dict(response.headers).get("Content-Type")
        if lines == "application/x-ndjson" and isinstance(response.payload, list):
            text = "\n".join(json.dumps(item) for item in response.payload) + "\n"
            payload = text.encode("utf-8")
        else:
            payload = json.dumps(response.payload).encode("utf-8")
        self.send_response(response.status)
        if not lines:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in response.headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)


def _retry_after_date() -> list[tuple[str, str]]:
    return [("Retry-After", formatdate(time.time(), usegmt=True))]


#: Faults answered with an error status: status and extra headers.
_STATUS_FAULTS: dict[str, Callable[[], tuple[int, list[tuple[str, str]]]]] = {
    "429": lambda: (429, [("Retry-After", "0")]),
    "429-date": lambda: (429, _retry_after_date()),
    "500": lambda: (500, []),
    "502": lambda: (502, []),
    "503": lambda: (503, [("Retry-After", "0")]),
    "permanent": lambda: (500, []),
}

#: Faults answered 200 with a broken body.
_BODY_FAULTS: dict[str, Callable[[], bytes]] = {
    "truncated": lambda: b'{"calls": [{"id": 1, "direction": "inbo',
    "not-json": lambda: b"<html><body>Service temporarily unavailable</body></html>",
    "empty": lambda: b"",
}


def _safe_dispatch(request: ApiRequest) -> ApiResponse:
    """:func:`dispatch`, turning a bug in a handler into a JSON 500."""
    try:
        return dispatch(request)
    except Exception as error:  # the server must keep answering
        return ApiError(500, f"demo server error: {type(error).__name__}").response()


class DemoServer:
    """The demo API server on 127.0.0.1, serving every sample spec's API.

    The socket is bound when the object is created (port 0 picks a free port),
    so :attr:`url` is known before :meth:`start`.

    Example:
        >>> with DemoServer() as server:
        ...     config = demo_config("aircall", server.url)
    """

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, faults: FaultPlan | None = None
    ) -> None:
        """Bind the server socket.

        Args:
            host: ``127.0.0.1`` (or ``localhost``); nothing else is allowed.
            port: TCP port, 0 for any free one.
            faults: Transient (and permanent) failures to inject; none by default.

        Raises:
            ValueError: for a host other than the loopback address.
        """
        if host not in _LOOPBACK:
            msg = f"the demo server only binds 127.0.0.1, not {host!r}"
            raise ValueError(msg)
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._faults = FaultInjector(faults or FaultPlan())
        self._httpd = _HTTPServer(("127.0.0.1", port), self._record, self._faults)
        self._thread: threading.Thread | None = None
        self._closed = False

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    @property
    def faults_injected(self) -> dict[str, int]:
        """How many faults of each kind were injected so far."""
        return dict(self._faults.injected)

    @property
    def port(self) -> int:
        """The bound TCP port."""
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """The root URL, e.g. ``http://127.0.0.1:8123`` (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        """Forget the recorded requests."""
        with self._lock:
            self._requests.clear()

    def start(self) -> DemoServer:
        """Serve in a daemon thread (no-op when already serving).

        Returns:
            This server, so ``server = DemoServer().start()`` works.
        """
        if self._closed:
            msg = "this demo server was stopped; create a new one"
            raise RuntimeError(msg)
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"demo-server-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
        self._httpd.server_close()

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted, then close the socket."""
        if self._thread is not None or self._closed:
            msg = "serve_forever needs a fresh, unstarted demo server"
            raise RuntimeError(msg)
        try:
            self._httpd.serve_forever(poll_interval=0.2)
        finally:
            self._closed = True
            self._httpd.server_close()

    def __enter__(self) -> DemoServer:
        """Start serving."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop serving."""
        self.stop()
