"""Chargebee: API key as Basic user, opaque ``next_offset``, ``updated_at[after]``.

Serves ``sample_specs/chargebee.yaml``: ``GET /customers``, each record wrapped
as ``{"customer": ...}``.
"""

from __future__ import annotations

import json
from typing import Any

from tap_builder.demo.configs import API_PREFIXES, DEMO_SETTINGS
from tap_builder.demo.data import at, unix
from tap_builder.demo.openapi import (
    Doc,
    array,
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
from tap_builder.demo.params import int_value, since_unix, unix_value
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


# (first name, last name, company, hours after BASE_TIME of the last update)
_CHARGEBEE_PEOPLE = (
    ("John", "Doe", "Acme Inc", 30),
    ("Jane", "Roe", None, 12),
    ("Carlos", "Diaz", "Diaz & Co", 54),
    ("Mei", "Chen", "Lotus Labs", 6),
    ("Ali", "Khan", None, 42),
    ("Olga", "Ivanova", "Volga Trade", 18),
    ("Kwame", "Mensah", "Accra Goods", 48),
    ("Sofia", "Rossi", None, 24),
    ("Liam", "Murphy", "Cliffs Ltd", 800),
    ("Aiko", "Sato", "Sakura KK", 760),
)


def _chargebee_customers() -> tuple[Record, ...]:
    return tuple(
        _customer(index, person) for index, person in enumerate(_CHARGEBEE_PEOPLE)
    )


def _customer(index: int, person: tuple[str, str, str | None, int]) -> Record:
    first, last, company, updated_hours = person
    updated_at = unix(at(hours=updated_hours))
    return {
        "id": f"cust_{index + 1:03d}",
        "first_name": first,
        "last_name": last,
        "email": f"{first.lower()}.{last.lower()}@example.com",
        "company": company,
        "auto_collection": "on" if index % 3 else "off",
        "created_at": unix(at(days=-60 + index)),
        "updated_at": updated_at,
        "resource_version": updated_at * 1000,
        "deleted": False,
    }


CHARGEBEE_CUSTOMERS = _chargebee_customers()


# --------------------------------------------------------------------------- #
# Handlers
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
    since = unix_value(request.arg("updated_at[after]"), "updated_at[after]")
    customers = _chargebee_sorted(
        request, since_unix(CHARGEBEE_CUSTOMERS, "updated_at", since)
    )
    limit = int_value(request.arg("limit"), "limit", 10, (1, 100))
    start = _chargebee_start(request, customers)
    chunk = customers[start : start + limit]
    payload: dict[str, Any] = {"list": [{"customer": item} for item in chunk]}
    if start + limit < len(customers):
        payload["next_offset"] = _chargebee_token(chunk[-1])
    return payload


# --------------------------------------------------------------------------- #
# Its OpenAPI document
# --------------------------------------------------------------------------- #


def chargebee_openapi() -> Doc:
    """The Chargebee-like API's OpenAPI 3.0 document."""
    customer = obj(
        {
            "id": string(),
            "first_name": string(),
            "last_name": string(),
            "email": string(),
            "company": string(nullable=True),
            "auto_collection": string(),
            "created_at": integer(description="Unix seconds."),
            "updated_at": integer(description="Unix seconds."),
            "resource_version": integer(),
            "deleted": {"type": "boolean"},
        }
    )
    parameters = [
        param(
            "limit", "query", integer(minimum=1, maximum=100, default=10), "Page size."
        ),
        param("offset", "query", string(), "The next_offset of the page before."),
        param(
            "updated_at[after]",
            "query",
            integer(),
            "Updated at or after (Unix timestamp).",
        ),
        param("sort_by[asc]", "query", string(enum=["created_at", "updated_at"])),
    ]
    body = obj(
        {"list": array(obj({"customer": ref("Customer")})), "next_offset": string()}
    )
    listing = operation(
        "listCustomers", "List customers", json_response(body), parameters
    )
    basic = {
        "type": "http",
        "scheme": "basic",
        "description": "Your API key as the user name; the password is empty.",
    }
    return document(
        "Chargebee API",
        "https://{site}.chargebee.com/api/v2",
        {"/customers": {"get": listing}},
        schemas={"Customer": customer},
        security={"basicAuth": basic},
        variables={"site": {"default": "your-site", "description": "Your site name."}},
    )


#: The Chargebee API: the site API key as the Basic username, no password.
API: Api = define_api(
    "chargebee",
    API_PREFIXES["chargebee"],
    basic_auth(DEMO_SETTINGS["chargebee"]["site_api_key"], "", "Chargebee"),
    route("GET", "/customers", chargebee_customers),
    document_route(chargebee_openapi),
)
