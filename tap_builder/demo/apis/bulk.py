"""The bulk API: many pages that answer slowly, for concurrent requests.

Serves ``sample_specs/features/bulk*.yaml``. Pages answer after a delay that
differs from page to page (so answers sent together come back out of order), and
the server's request log shows when each arrived. Besides plain page numbers and
offsets (with ``total_pages`` / ``total`` in the body), there are parents with
children, two accounts (for partitioned runs), an endpoint that answers one 429
with ``Retry-After``, and one that fails for good part way through.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

from tap_builder.demo.configs import API_PREFIXES
from tap_builder.demo.params import int_value
from tap_builder.demo.routing import (
    Api,
    ApiError,
    ApiRequest,
    ApiResponse,
    Payload,
    Record,
    define_api,
    no_auth,
    route,
)

#: Records of ``/items`` and ``/offset_items``: the last page is a short one.
ITEM_COUNT = 95
#: Accounts of ``/accounts/{account}/items`` and how many records each has.
ACCOUNTS = {"north": 25, "south": 25}
PARENT_COUNT = 24
CHILDREN_PER_PARENT = 2
#: Extra delay of a page, by page number modulo its length (seconds).
SKEW = (0.03, 0.0, 0.015)
#: From this page on, ``/broken/items`` fails (401), and past it answers 503.
BROKEN_PAGE = 4

_START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def _item(number: int, account: str | None = None) -> Record:
    record: Record = {
        "id": number,
        "name": f"item {number}",
        "amount": round(number * 1.5, 2),
        "updated_at": (_START + dt.timedelta(hours=number)).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        ),
    }
    if account is not None:
        record["account"] = account
    return record


ITEMS: tuple[Record, ...] = tuple(_item(n) for n in range(1, ITEM_COUNT + 1))
ACCOUNT_ITEMS: dict[str, tuple[Record, ...]] = {
    name: tuple(_item(base * 1000 + n, name) for n in range(1, count + 1))
    for base, (name, count) in enumerate(ACCOUNTS.items(), start=1)
}
PARENTS: tuple[Record, ...] = tuple(
    {"id": n, "name": f"parent {n}"} for n in range(1, PARENT_COUNT + 1)
)

_throttle_lock = threading.Lock()
_throttled: set[int] = set()


def reset() -> None:
    """Forget which pages already answered 429 (tests call this)."""
    with _throttle_lock:
        _throttled.clear()


def _skew(number: int) -> None:
    """Answer later for some pages than for others."""
    time.sleep(SKEW[number % len(SKEW)])


def _page_of(records: tuple[Record, ...], request: ApiRequest) -> Payload:
    number = int_value(request.arg("page"), "page", 1, (1, 100_000))
    size = int_value(request.arg("per_page"), "per_page", 10, (1, 100))
    since = request.arg("since")
    chosen = [r for r in records if since is None or r["updated_at"] >= since]
    _skew(number)
    start = (number - 1) * size
    return {
        "data": [dict(r) for r in chosen[start : start + size]],
        "page": number,
        "total_pages": -(-len(chosen) // size),
        "total": len(chosen),
    }


def bulk_items(request: ApiRequest) -> Payload:
    """``GET /items?page=&per_page=&since=``: sorted by ``updated_at``, totals."""
    return _page_of(ITEMS, request)


def bulk_offset_items(request: ApiRequest) -> Payload:
    """``GET /offset_items?offset=&limit=``: no totals; a short page ends it."""
    offset = int_value(request.arg("offset"), "offset", 0, (0, 1_000_000))
    limit = int_value(request.arg("limit"), "limit", 10, (1, 100))
    _skew(offset // limit)
    return {"data": [dict(r) for r in ITEMS[offset : offset + limit]]}


def bulk_account_items(request: ApiRequest) -> Payload:
    """``GET /accounts/{account}/items?page=``: one account's records."""
    records = ACCOUNT_ITEMS.get(request.params["account"])
    if records is None:
        raise ApiError(404, f"no account {request.params['account']!r}")
    return _page_of(records, request)


def bulk_parents(request: ApiRequest) -> Payload:
    """``GET /parents?page=``: five parents a page, then an empty page."""
    number = int_value(request.arg("page"), "page", 1, (1, 100_000))
    _skew(number)
    return {"data": [dict(p) for p in PARENTS[(number - 1) * 5 : number * 5]]}


def bulk_children(request: ApiRequest) -> Payload:
    """``GET /parents/{id}/children``: two children of a parent."""
    parent = int_value(request.params["id"], "id", 1, (1, PARENT_COUNT))
    _skew(parent)
    return {
        "data": [
            {"id": parent * 100 + n, "label": f"child {n} of {parent}"}
            for n in range(1, CHILDREN_PER_PARENT + 1)
        ]
    }


def bulk_throttled(request: ApiRequest) -> Payload | ApiResponse:
    """``GET /throttled/items?page=``: page 3 answers 429 once (Retry-After: 1)."""
    number = int_value(request.arg("page"), "page", 1, (1, 100_000))
    with _throttle_lock:
        first = number == 3 and number not in _throttled
        _throttled.add(number)
    if first:
        payload = {"error": "too_many_requests", "message": "slow down"}
        return ApiResponse(429, payload, (("Retry-After", "1"),))
    return _page_of(ITEMS, request)


def bulk_broken(request: ApiRequest) -> Payload | ApiResponse:
    """``GET /broken/items?page=``: 401 at page 4, 503 (retry) after it."""
    number = int_value(request.arg("page"), "page", 1, (1, 100_000))
    if number == BROKEN_PAGE:
        return ApiResponse(401, {"error": "unauthorized", "message": "key revoked"})
    if number > BROKEN_PAGE:
        return ApiResponse(503, {"error": "unavailable", "message": "try later"})
    return _page_of(ITEMS, request)


#: The bulk API: no credentials.
API: Api = define_api(
    "bulk",
    API_PREFIXES["bulk"],
    no_auth,
    route("GET", "/items", bulk_items),
    route("GET", "/offset_items", bulk_offset_items),
    route("GET", "/accounts/{account}/items", bulk_account_items),
    route("GET", "/parents", bulk_parents),
    route("GET", "/parents/{id}/children", bulk_children),
    route("GET", "/throttled/items", bulk_throttled),
    route("GET", "/broken/items", bulk_broken),
)
