"""Tests of the bundled demo API server, over a real socket on 127.0.0.1.

Besides direct requests, a tiny spec interpreter (``MiniTap``, written from
SPEC.md, independent of the generator) syncs every sample spec against the
server, so the specs and the server cannot drift apart.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from tap_builder.demo import (
    DEMO_SPECS,
    DemoServer,
    RecordedRequest,
    UnknownDemoSpecError,
    demo_config,
)
from tap_builder.demo.data import LATE_CUTOFF

SAMPLE_SPECS = Path(__file__).resolve().parent.parent / "sample_specs"
STOP = object()


@pytest.fixture(scope="module")
def server() -> Iterator[DemoServer]:
    with DemoServer() as running:
        yield running


@pytest.fixture
def session(server: DemoServer) -> Iterator[requests.Session]:
    server.clear_requests()
    with requests.Session() as opened:
        yield opened


def load_spec(stem: str) -> dict[str, Any]:
    return yaml.safe_load((SAMPLE_SPECS / f"{stem}.yaml").read_text(encoding="utf-8"))


def basic(username: str, password: str) -> str:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return f"Basic {token}"


# --------------------------------------------------------------------------- #
# MiniTap: the SPEC.md request semantics, just enough to drive the server
# --------------------------------------------------------------------------- #

VARIABLE = re.compile(r"\{\{|\}\}|\{([^{}]+)\}")


def text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def render(template: Any, variables: dict[str, Any], *, typed: bool = False) -> Any:
    if isinstance(template, dict):
        return {k: render(v, variables, typed=typed) for k, v in template.items()}
    if isinstance(template, list):
        return [render(item, variables, typed=typed) for item in template]
    if not isinstance(template, str):
        return template if typed else text(template)
    whole = re.fullmatch(r"\{([^{}]+)\}", template)
    if typed and whole:
        return variables[whole.group(1)]
    return VARIABLE.sub(
        lambda m: text(variables[m.group(1)]) if m.group(1) else m.group(0)[0],
        template,
    )


def select(document: Any, path: str) -> list[Any]:
    nodes = [document]
    for name, star in re.findall(r"\.(\w+)|(\[\*\])", path.removeprefix("$")):
        if star:
            nodes = [item for node in nodes if isinstance(node, list) for item in node]
        else:
            nodes = [n[name] for n in nodes if isinstance(n, dict) and name in n]
    return nodes


def filter_value(bookmark: Any, date_format: str) -> str:
    if isinstance(bookmark, int):
        moment = datetime.fromtimestamp(bookmark, UTC)
    else:
        moment = datetime.fromisoformat(bookmark).astimezone(UTC)
    if date_format == "timestamp":
        return str(int(moment.timestamp()))
    return moment.strftime(date_format)


def first_token(pagination: dict[str, Any] | None) -> Any:
    if not pagination:
        return None
    if pagination["type"] == "page_increment":
        return pagination.get("start_from", 1)
    return None if pagination.get("next_offset_selector") else 0


def put_page(
    pagination: Any, token: Any, params: dict[str, str], headers: dict[str, str]
) -> None:
    if not pagination:
        return
    target = headers if pagination.get("location") == "header" else params
    if pagination["type"] == "page_increment":
        target[pagination["page_param"]] = str(token)
        return
    if token is not None:
        target[pagination["offset_param"]] = str(token)
    if pagination.get("limit_param"):
        target[pagination["limit_param"]] = str(pagination["limit"])


def next_token(pagination: Any, token: Any, records: list[Any], document: Any) -> Any:
    if not pagination:
        return STOP
    if pagination["type"] == "page_increment":
        return token + 1 if records else STOP
    if selector := pagination.get("next_offset_selector"):
        found = select(document, selector)
        return found[0] if found and found[0] not in (None, "") else STOP
    return token + pagination["limit"] if len(records) >= pagination["limit"] else STOP


@dataclass
class MiniTap:
    spec: dict[str, Any]
    config: dict[str, Any]
    session: requests.Session

    def stream(self, stream_id: str) -> dict[str, Any]:
        return next(s for s in self.spec["streams"] if s["id"] == stream_id)

    def variables(self, context: dict[str, Any]) -> dict[str, Any]:
        settings = {
            p["name"]: p.get("default") for p in self.spec.get("parameters", [])
        }
        settings.update(self.config)
        return {**{f"config.{k}": v for k, v in settings.items()}, **context}

    def authenticate(
        self, variables: dict[str, Any], params: dict[str, str], headers: dict[str, str]
    ) -> None:
        auth = self.spec.get("authentication") or {"type": "none"}
        if auth["type"] == "basic":
            user = render(auth["username"], variables)
            headers["Authorization"] = basic(
                user, render(auth.get("password") or "", variables)
            )
        elif auth["type"] == "api_key":
            target = headers if auth["location"] == "header" else params
            target[auth["name"]] = render(auth["value"], variables)

    def request_parts(
        self, stream: dict[str, Any], context: dict[str, Any], bookmark: Any
    ) -> tuple[str, dict[str, str], dict[str, str], Any]:
        variables = self.variables(context)
        base = render(self.config.get("api_url") or self.spec["base_url"], variables)
        params = render(stream.get("query_params", {}), variables)
        headers = render(stream.get("headers", {}), variables)
        self.authenticate(variables, params, headers)
        if (incremental := stream.get("incremental")) and bookmark is not None:
            target = headers if incremental.get("location") == "header" else params
            target[incremental["param_name"]] = filter_value(
                bookmark, incremental["date_format"]
            )
        body = render(stream.get("body"), variables, typed=True)
        return base + render(stream["path"], variables), params, headers, body

    def fetch(
        self, stream: dict[str, Any], context: dict[str, Any], bookmark: Any
    ) -> list[Any]:
        url, params, headers, body = self.request_parts(stream, context, bookmark)
        pagination, records = stream.get("pagination"), []
        token = first_token(pagination)
        while token is not STOP:
            page_params, page_headers = dict(params), dict(headers)
            put_page(pagination, token, page_params, page_headers)
            response = self.session.request(
                stream.get("method", "GET"),
                url,
                params=page_params,
                headers=page_headers,
                json=body,
                timeout=5,
            )
            assert response.status_code == 200, response.text
            page = select(response.json(), stream.get("records_selector", "$[*]"))
            records += page
            token = next_token(pagination, token, page, response.json())
        return records

    def contexts(self, stream: dict[str, Any]) -> list[dict[str, Any]]:
        if not stream.get("parent_stream"):
            return [{}]
        parent = self.stream(stream["parent_stream"])
        fields = parent["child_context"]
        if isinstance(fields, list):
            fields = {name: name for name in fields}
        return [
            {
                k: select(r, f)[0] if f.startswith("$") else r[f]
                for k, f in fields.items()
            }
            for r in self.fetch(parent, {}, None)
        ]

    def sync(
        self, stream_id: str, state: dict[str, Any], start_date: str | None = None
    ) -> tuple[list[Any], dict[str, Any]]:
        stream = self.stream(stream_id)
        incremental, records, new_state = stream.get("incremental"), [], dict(state)
        for context in self.contexts(stream):
            key = json.dumps(context, sort_keys=True)
            bookmark = state.get(key, start_date) if incremental else None
            found = [{**context, **r} for r in self.fetch(stream, context, bookmark)]
            records += found
            if incremental and found:
                new_state[key] = max(r[incremental["replication_key"]] for r in found)
        return records, new_state


def ids(spec: dict[str, Any], stream_id: str, records: list[Any]) -> list[Any]:
    stream = next(s for s in spec["streams"] if s["id"] == stream_id)
    key = stream.get("primary_key") or "key"
    if isinstance(key, list):
        return [tuple(r[k] for k in key) for r in records]
    return [r[key] for r in records]


# Per stream: ids of a full sync, of a second sync from the final state, and of a
# first sync with start_date LATE_CUTOFF (full-table streams: always everything).
PRODUCTS = list(range(8_100_000_001, 8_100_000_011))
ORDERS = [(4501, 1), (4501, 2), (4502, 1), (4502, 2), (4502, 3), (4503, 1)]
CUSTOMERS = [f"cust_{n:03d}" for n in (4, 2, 6, 8, 1, 5, 7, 3, 10, 9)]
TICKETS = [301, 302, 304, 305, 306, 308, 309, 310, 312, 314]
BOOKS = [f"OL{n}W" for n in range(101, 114)]
SUBJECTS = [
    "science_fiction",
    "fantasy",
    "dystopia",
    "space_opera",
    "cyberpunk",
    "first_contact",
    "time_travel",
]
EXPECTED: dict[tuple[str, str], tuple[list[Any], list[Any], list[Any]]] = {
    ("aircall", "calls"): (list(range(1001, 1013)), [1012], [1011, 1012]),
    ("aircall", "users"): (list(range(501, 509)),) * 3,
    ("chargebee", "customers"): (CUSTOMERS, ["cust_009"], ["cust_010", "cust_009"]),
    ("shopify", "products"): (PRODUCTS, PRODUCTS[-1:], PRODUCTS[-2:]),
    ("shopify", "orders"): (ORDERS,) * 3,
    ("clinic", "clients"): (list(range(1, 8)),) * 3,
    ("clinic", "medical_forms"): (
        list(range(9001, 9011)),
        [9002, 9003, 9006, 9007, 9009, 9010],
        [9002, 9006],
    ),
    ("clinic", "appointments"): (list(range(7001, 7009)),) * 3,
    ("helpdesk", "tickets"): (TICKETS, [314], [312, 314]),
    ("openlib", "books"): (BOOKS,) * 3,
    ("openlib", "subjects"): (SUBJECTS,) * 3,
}


def test_every_sample_spec_has_a_demo() -> None:
    stems = {path.stem for path in SAMPLE_SPECS.glob("*.yaml")}
    assert set(DEMO_SPECS) == stems
    covered = {
        (stem, s["id"]) for stem in DEMO_SPECS for s in load_spec(stem)["streams"]
    }
    assert covered == set(EXPECTED)


@pytest.mark.parametrize("stem", DEMO_SPECS)
def test_demo_config_supplies_every_parameter(stem: str) -> None:
    config = demo_config(stem, "http://127.0.0.1:9/")
    declared = {p["name"] for p in load_spec(stem).get("parameters", [])}
    assert set(config) == declared | {"api_url"}
    assert config["api_url"].startswith("http://127.0.0.1:9/")
    assert "//" not in config["api_url"].removeprefix("http://")


def test_demo_config_unknown_stem() -> None:
    with pytest.raises(KeyError) as caught:
        demo_config("nope", "http://127.0.0.1:9")
    assert isinstance(caught.value, UnknownDemoSpecError)
    assert "nope" in str(caught.value) and "aircall" in str(caught.value)


@pytest.mark.parametrize(("stem", "stream_id"), sorted(EXPECTED))
def test_spec_syncs_full_then_from_bookmark(
    server: DemoServer, session: requests.Session, stem: str, stream_id: str
) -> None:
    spec = load_spec(stem)
    tap = MiniTap(spec, demo_config(stem, server.url), session)
    full, second, late = EXPECTED[stem, stream_id]
    records, state = tap.sync(stream_id, {})
    assert ids(spec, stream_id, records) == full
    again, _ = tap.sync(stream_id, state)
    assert ids(spec, stream_id, again) == second
    from_start, _ = tap.sync(stream_id, {}, start_date=LATE_CUTOFF)
    assert ids(spec, stream_id, from_start) == late
    assert all(r.status == 200 for r in server.requests)


# --------------------------------------------------------------------------- #
# Credentials, unknown routes, bad parameters
# --------------------------------------------------------------------------- #

SECURED = [
    ("aircall", "GET", "/calls", {"Authorization": basic("demo-api-id", "wrong")}),
    ("aircall", "GET", "/users", {"Authorization": "Bearer demo-api-token"}),
    ("chargebee", "GET", "/customers", {"Authorization": basic("wrong_key", "")}),
    ("shopify", "GET", "/products.json", {"X-Shopify-Access-Token": "shpat_wrong"}),
    ("shopify", "GET", "/orders.json", {"X-Shopify-Access-Token": ""}),
    ("clinic", "GET", "/clients", {"Authorization": "Bearer wrong"}),
    (
        "clinic",
        "GET",
        "/clients/1/medical-forms",
        {"Authorization": "clinic-demo-token"},
    ),
    ("helpdesk", "POST", "/tickets/search?api_key=wrong", {"X-Tenant": "acme"}),
]


def api_url(server: DemoServer, stem: str) -> str:
    config = demo_config(stem, server.url)
    return render(config["api_url"], {f"config.{k}": v for k, v in config.items()})


@pytest.mark.parametrize(("stem", "method", "path", "headers"), SECURED)
def test_wrong_or_missing_credentials_get_401(
    server: DemoServer,
    session: requests.Session,
    stem: str,
    method: str,
    path: str,
    headers: dict[str, str],
) -> None:
    url = api_url(server, stem) + path
    for sent in (headers, {}):
        response = session.request(method, url, headers=sent, json={}, timeout=5)
        assert response.status_code == 401
        assert response.headers["Content-Type"] == "application/json"
        assert response.json()["error"] == "unauthorized"
    assert [r.status for r in server.requests] == [401, 401]


def test_chargebee_rejects_a_password(
    server: DemoServer, session: requests.Session
) -> None:
    url = api_url(server, "chargebee") + "/customers"
    key = "test_demo_chargebee_key"
    assert session.get(url, auth=(key, "x"), timeout=5).status_code == 401
    assert session.get(url, auth=(key, ""), timeout=5).status_code == 200


def test_secrets_are_not_echoed_in_errors(
    server: DemoServer, session: requests.Session
) -> None:
    url = api_url(server, "helpdesk") + "/tickets/search?api_key=hd-demo-api-key"
    response = session.post(
        url, headers={"X-Tenant": "acme"}, json={"page_size": "4"}, timeout=5
    )
    assert response.status_code == 400
    assert "hd-demo-api-key" not in response.text


@pytest.mark.parametrize(
    "path",
    [
        "/nowhere",
        "/aircall/v2/calls",
        "/aircall/v1/calls/123",
        "/shopify/other-store/admin/api/2024-01/products.json",
        "/clinic/v1/clients/99/medical-forms",
    ],
)
def test_unknown_paths_get_404(
    server: DemoServer, session: requests.Session, path: str
) -> None:
    headers = {
        "Authorization": basic("demo-api-id", "demo-api-token"),
        "X-Shopify-Access-Token": "shpat_demo_access_token",
    }
    if path.startswith("/clinic"):
        headers["Authorization"] = "Bearer clinic-demo-token"
    response = session.get(server.url + path, headers=headers, timeout=5)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"
    assert "message" in response.json()
    assert server.requests[-1].status == 404


def test_wrong_method_gets_405(server: DemoServer, session: requests.Session) -> None:
    response = session.post(server.url + "/openlib/v1/books", json={}, timeout=5)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"


@pytest.mark.parametrize(
    ("stem", "path", "params", "headers"),
    [
        ("aircall", "/calls", {"from": "2024-01-01T00:00:00Z"}, {}),
        ("aircall", "/calls", {"per_page": "51"}, {}),
        ("chargebee", "/customers", {"updated_at[after]": "1704067200.0"}, {}),
        ("chargebee", "/customers", {"offset": '["1","2"]'}, {}),
        ("shopify", "/products.json", {"updated_at_min": "2024-01-05 10:00:00"}, {}),
        ("clinic", "/clients/1/medical-forms", {}, {"X-Updated-Since": "2024-01-02"}),
        ("clinic", "/clients/1/appointments", {}, {"X-Clinic": "SOUTH"}),
        ("openlib", "/books", {}, {"X-Offset": "five"}),
    ],
)
def test_malformed_parameters_get_400(
    server: DemoServer,
    session: requests.Session,
    stem: str,
    path: str,
    params: dict[str, str],
    headers: dict[str, str],
) -> None:
    spec = load_spec(stem)
    tap = MiniTap(spec, demo_config(stem, server.url), session)
    auth_params: dict[str, str] = {}
    tap.authenticate(tap.variables({}), auth_params, headers)
    url = api_url(server, stem) + path
    response = session.get(
        url, params={**auth_params, **params}, headers=headers, timeout=5
    )
    assert response.status_code == 400, response.text


@pytest.mark.parametrize(
    ("body", "tenant"),
    [
        (
            {
                "filter": {"status": "open"},
                "page_size": "4",
                "note": "literal {braces} stay",
            },
            "acme",
        ),
        (
            {
                "filter": {"status": "open"},
                "page_size": 4,
                "note": "literal {{braces}} stay",
            },
            "acme",
        ),
        (
            {
                "filter": {"status": "open"},
                "page_size": 4,
                "note": "literal {braces} stay",
            },
            "other",
        ),
        ({"page_size": 4, "note": "literal {braces} stay"}, "acme"),
    ],
)
def test_helpdesk_checks_body_and_tenant(
    server: DemoServer, session: requests.Session, body: dict[str, Any], tenant: str
) -> None:
    url = api_url(server, "helpdesk") + "/tickets/search"
    response = session.post(
        url,
        params={"api_key": "hd-demo-api-key"},
        headers={"X-Tenant": tenant},
        json=body,
        timeout=5,
    )
    assert response.status_code == 400


# --------------------------------------------------------------------------- #
# The request log: where auth, paging and filters went
# --------------------------------------------------------------------------- #


def sync_logged(
    server: DemoServer,
    session: requests.Session,
    stem: str,
    stream_id: str,
    state: dict[str, Any] | None = None,
) -> list[RecordedRequest]:
    tap = MiniTap(load_spec(stem), demo_config(stem, server.url), session)
    server.clear_requests()
    tap.sync(stream_id, state or {})
    return server.requests


def test_log_aircall_pages_and_timestamp_filter(
    server: DemoServer, session: requests.Session
) -> None:
    log = sync_logged(server, session, "aircall", "calls", {"{}": 1704067200 + 86400})
    assert [r.path for r in log] == ["/aircall/v1/calls"] * 3
    assert [r.query["page"] for r in log] == [["1"], ["2"], ["3"]]
    assert all(
        r.query["per_page"] == ["5"] and r.query["order"] == ["asc"] for r in log
    )
    assert all(r.query["from"] == ["1704153600"] for r in log)
    assert log[0].headers["authorization"] == basic("demo-api-id", "demo-api-token")
    assert log[0].method == "GET" and log[0].body is None


def test_log_chargebee_opaque_offsets(
    server: DemoServer, session: requests.Session
) -> None:
    log = sync_logged(server, session, "chargebee", "customers")
    assert len(log) == 3
    assert "offset" not in log[0].query
    offsets = [json.loads(r.query["offset"][0]) for r in log[1:]]
    assert all(
        isinstance(o, list) and all(isinstance(p, str) for p in o) for o in offsets
    )
    assert all(
        r.query["limit"] == ["4"] and r.query["sort_by[asc]"] == ["updated_at"]
        for r in log
    )
    assert log[0].headers["authorization"] == basic("test_demo_chargebee_key", "")


def test_log_shopify_store_and_iso_filter(
    server: DemoServer, session: requests.Session
) -> None:
    log = sync_logged(
        server, session, "shopify", "products", {"{}": "2024-01-05T17:00:00Z"}
    )
    assert {r.path for r in log} == {
        "/shopify/demo-store/admin/api/2024-01/products.json"
    }
    assert [r.query["page"] for r in log] == [["1"], ["2"], ["3"], ["4"]]
    assert all(r.query["updated_at_min"] == ["2024-01-05T17:00:00Z"] for r in log)
    assert all(r.query["limit"] == ["3"] for r in log)
    assert log[0].headers["x-shopify-access-token"] == "shpat_demo_access_token"


def test_log_clinic_offsets_and_child_headers(
    server: DemoServer, session: requests.Session
) -> None:
    state = {
        json.dumps({"client_id": 3, "clinic_code": "NORTH"}): "2024-01-03T15:00:00Z"
    }
    log = sync_logged(server, session, "clinic", "medical_forms", state)
    parents = [r for r in log if r.path == "/clinic/v1/clients"]
    assert [(r.query["offset"], r.query["limit"]) for r in parents] == [
        (["0"], ["3"]),
        (["3"], ["3"]),
        (["6"], ["3"]),
    ]
    children = [r for r in log if r not in parents]
    assert [r.path for r in children] == [
        f"/clinic/v1/clients/{n}/medical-forms" for n in range(1, 8)
    ]
    since = [r.headers.get("x-updated-since") for r in children]
    assert since == [None, None, "2024-01-03T15:00:00", None, None, None, None]
    assert all(r.headers["authorization"] == "Bearer clinic-demo-token" for r in log)


def test_log_clinic_appointments_send_clinic_code(
    server: DemoServer, session: requests.Session
) -> None:
    log = sync_logged(server, session, "clinic", "appointments")
    children = [r for r in log if r.path.endswith("/appointments")]
    assert [r.headers["x-clinic"] for r in children] == ["NORTH", "SOUTH"] * 3 + [
        "NORTH"
    ]


def test_log_helpdesk_post_body_header_pages(
    server: DemoServer, session: requests.Session
) -> None:
    log = sync_logged(
        server, session, "helpdesk", "tickets", {"{}": "2024-01-02T06:00:00Z"}
    )
    assert [r.headers["x-page"] for r in log] == ["0", "1", "2"]
    assert all(
        r.method == "POST" and r.path == "/helpdesk/api/v2/tickets/search" for r in log
    )
    assert all(r.query["updated_since"] == ["2024-01-02 06:00:00"] for r in log)
    assert all(r.query["api_key"] == ["hd-demo-api-key"] for r in log)
    assert log[0].headers["x-tenant"] == "acme"
    assert log[0].body == {
        "filter": {"status": "open"},
        "page_size": 4,
        "note": "literal {braces} stay",
    }


def test_log_openlib_header_offsets(
    server: DemoServer, session: requests.Session
) -> None:
    log = sync_logged(server, session, "openlib", "books")
    assert [r.headers.get("x-offset") for r in log] == [None, "5", "10"]
    assert all(r.headers["x-limit"] == "5" for r in log)
    assert "authorization" not in log[0].headers and log[0].query == {}


# --------------------------------------------------------------------------- #
# Server mechanics
# --------------------------------------------------------------------------- #


def test_url_and_loopback_only() -> None:
    with pytest.raises(ValueError, match=r"127\.0\.0\.1"):
        DemoServer(host="0.0.0.0")
    server = DemoServer()
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.url)
    finally:
        server.stop()
    server.stop()


def test_keep_alive_and_content_length(server: DemoServer) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        for path in ("/openlib/v1/subjects", "/openlib/v1/books", "/nowhere"):
            connection.request("GET", path)
            response = connection.getresponse()
            payload = response.read()
            assert int(response.headers["Content-Length"]) == len(payload)
            assert response.headers["Content-Type"] == "application/json"
            assert not response.will_close
            json.loads(payload)
    finally:
        connection.close()


def test_records_invalid_json_body(
    server: DemoServer, session: requests.Session
) -> None:
    url = api_url(server, "helpdesk") + "/tickets/search?api_key=hd-demo-api-key"
    response = session.post(
        url, data=b"{not json", headers={"X-Tenant": "acme"}, timeout=5
    )
    assert response.status_code == 400
    assert server.requests[-1].body is None and server.requests[-1].status == 400


def test_requests_snapshot_and_clear(
    server: DemoServer, session: requests.Session
) -> None:
    session.get(server.url + "/openlib/v1/subjects?x=1&x=&y", timeout=5)
    snapshot = server.requests
    assert snapshot[-1].query == {"x": ["1", ""], "y": [""]}
    server.clear_requests()
    assert server.requests == [] and len(snapshot) == 1
