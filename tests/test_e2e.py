"""Every sample spec end to end: generate the tap, pip-install it (non-editable) into
a virtual environment, and run it as a process against the demo API on 127.0.0.1.

Checks the exact record ids, that every RECORD fits its SCHEMA, the STATE
bookmarks, a second sync from that state, and (from the demo server's request
log) that auth, pagination and incremental parameters went where the spec says.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tap_builder import load_spec, validate_spec
from tap_builder.demo import DEMO_SPECS, DemoServer, RecordedRequest, demo_config
from tests.e2e import SAMPLES, InstalledTap, Run

pytestmark = pytest.mark.slow

SampleTap = Callable[[str], InstalledTap]

#: Full-sync record ids per stream (primary key, or ``name`` for keyless streams).
FULL_IDS: dict[str, dict[str, list[Any]]] = {
    "aircall": {
        "calls": list(range(1001, 1013)),
        "users": list(range(501, 509)),
    },
    "chargebee": {
        "customers": [
            "cust_004", "cust_002", "cust_006", "cust_008", "cust_001",
            "cust_005", "cust_007", "cust_003", "cust_010", "cust_009",
        ],
    },
    "clinic": {
        "clients": [1, 2, 3, 4, 5, 6, 7],
        "medical_forms": list(range(9001, 9011)),
        "appointments": list(range(7001, 7009)),
    },
    "helpdesk": {"tickets": [301, 302, 304, 305, 306, 308, 309, 310, 312, 314]},
    "openlib": {
        "books": [f"OL{n}W" for n in range(101, 114)],
        "subjects": [
            "science_fiction", "fantasy", "dystopia", "space_opera",
            "cyberpunk", "first_contact", "time_travel",
        ],
    },
    "shopify": {
        "products": list(range(8100000001, 8100000011)),
        "orders": [4501, 4501, 4502, 4502, 4502, 4503],
    },
}  # fmt: skip

#: Built-in settings: api_url always, start_date where a stream is incremental.
RETRY = {"request_timeout", "max_attempts", "backoff_seconds"}
BOUNDS = {"max_retry_wait", "max_response_mb", "max_request_seconds"}
BUILTINS = {stem: {"api_url", "start_date"} | RETRY | BOUNDS for stem in FULL_IDS} | {
    "openlib": {"api_url"} | RETRY | BOUNDS
}

#: Settings the SDK adds for its capabilities (stream maps, flattening, batch).
SDK_SETTING_PREFIXES = ("stream_map", "flattening_", "faker_config", "batch_config")

ID_FIELD = {"subjects": "name", "orders": "order_id", "books": "key"}


def _ids(run: Run, stream: str) -> list[Any]:
    return run.ids(stream, ID_FIELD.get(stream, "id"))


def _requests(server: DemoServer, fragment: str) -> list[RecordedRequest]:
    return [r for r in server.requests if r.path.endswith(fragment)]


def _sync(tap: InstalledTap, server: DemoServer, tmp_path: Path, **kwargs: Any) -> Run:
    config = {**demo_config(tap.stem, server.url), **kwargs.pop("extra_config", {})}
    run = tap.run(config=config, workdir=tmp_path, **kwargs)
    assert run.returncode == 0, run.stderr[-3000:]
    return run


@pytest.mark.parametrize("stem", DEMO_SPECS)
def test_about_lists_every_setting(
    stem: str, sample_tap: SampleTap, tmp_path: Path
) -> None:
    """--about --format json lists every parameter and built-in, secrets marked."""
    tap = sample_tap(stem)
    run = tap.run("--about", "--format", "json", workdir=tmp_path)
    assert run.returncode == 0, run.stderr
    about = json.loads(run.stdout)
    assert about["name"] == f"tap-{stem}"
    properties = about["settings"]["properties"]
    config = demo_config(stem, "http://127.0.0.1:1")
    assert set(config) <= set(properties)
    assert "api_url" in properties
    spec = validate_spec(load_spec(SAMPLES / f"{stem}.yaml")).spec
    ours = {name for name in properties if not name.startswith(SDK_SETTING_PREFIXES)}
    assert ours == {p.name for p in spec.parameters} | BUILTINS[stem]
    secrets = {name for name, prop in properties.items() if prop.get("secret")}
    assert secrets == {p.name for p in spec.parameters if p.secret}
    assert all(properties[name].get("writeOnly") is True for name in secrets)
    assert about["description"] == " ".join(str(spec.description).split())
    assert about["description"] == " ".join(str(spec.description).split())
    for parameter in spec.parameters:
        assert properties[parameter.name]["title"] == parameter.display_label


@pytest.mark.parametrize("stem", DEMO_SPECS)
def test_discover_names_streams_by_id(
    stem: str, sample_tap: SampleTap, tmp_path: Path
) -> None:
    """--discover: one catalog entry per spec stream, named by its id."""
    tap = sample_tap(stem)
    run = tap.run("--discover", config={}, workdir=tmp_path)
    assert run.returncode == 0, run.stderr
    catalog = json.loads(run.stdout)
    names = sorted(entry["tap_stream_id"] for entry in catalog["streams"])
    assert names == sorted(FULL_IDS[stem])


@pytest.mark.parametrize("stem", DEMO_SPECS)
def test_full_sync_then_incremental_sync(
    stem: str, sample_tap: SampleTap, server: DemoServer, tmp_path: Path
) -> None:
    """Exact ids, records fit schemas; a second sync from the state gets only newer."""
    tap = sample_tap(stem)
    first = _sync(tap, server, tmp_path)
    assert {s: _ids(first, s) for s in FULL_IDS[stem]} == FULL_IDS[stem]
    assert first.assert_records_fit_schemas() == sum(map(len, FULL_IDS[stem].values()))
    REQUEST_CHECKS[stem](server.requests, first, None)

    server.clear_requests()
    second = _sync(tap, server, tmp_path, state=first.final_state)
    second.assert_records_fit_schemas()
    REQUEST_CHECKS[stem](server.requests, second, first.final_state)
    for stream, ids in FULL_IDS[stem].items():
        assert set(_ids(second, stream)) <= set(ids)
    assert SECOND_SYNC[stem](second)
    for run in (first, second):  # once per stream, even for children of many parents
        schemas = [m["stream"] for m in run.messages if m["type"] == "SCHEMA"]
        assert sorted(schemas) == sorted(set(schemas)) == sorted(FULL_IDS[stem])


# --------------------------------------------------------------------------- #
# Per-spec expectations on the second sync and on the requests
# --------------------------------------------------------------------------- #

SECOND_SYNC: dict[str, Callable[[Run], bool]] = {}
REQUEST_CHECKS: dict[
    str, Callable[[list[RecordedRequest], Run, dict[str, Any] | None], None]
] = {}


def _basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def _bookmark(state: dict[str, Any], stream: str) -> Any:
    return state["bookmarks"][stream]["replication_key_value"]


def _aircall(
    requests: list[RecordedRequest], run: Run, state: dict[str, Any] | None
) -> None:
    config = demo_config("aircall", "")
    calls = [r for r in requests if r.path.endswith("/calls")]
    assert calls and all(
        r.headers["authorization"] == _basic(config["api_id"], config["api_token"])
        for r in calls
    )
    assert [r.query["page"] for r in calls] == [
        [str(n)] for n in range(1, len(calls) + 1)
    ]
    assert all(
        r.query["per_page"] == ["5"] and r.query["order"] == ["asc"] for r in calls
    )
    if state is None:
        assert all("from" not in r.query for r in calls)
        assert run.final_state["bookmarks"]["calls"] == {
            "replication_key": "started_at",
            "replication_key_value": "2024-02-01T14:30:00+00:00",
        }
        started = [rec["started_at"] for rec in run.records("calls")]
        assert started[0] == "2024-01-01T00:00:00+00:00"  # Unix seconds -> ISO-8601 UTC
    else:
        assert all(
            r.query["from"] == ["1706797800"] for r in calls
        )  # 2024-02-01T14:30Z


SECOND_SYNC["aircall"] = lambda run: (
    _ids(run, "calls") == [1012] and _ids(run, "users") == FULL_IDS["aircall"]["users"]
)
REQUEST_CHECKS["aircall"] = _aircall


def _chargebee(
    requests: list[RecordedRequest], run: Run, state: dict[str, Any] | None
) -> None:
    config = demo_config("chargebee", "")
    assert all(
        r.headers["authorization"] == _basic(config["site_api_key"], "")
        for r in requests
    )
    assert "offset" not in requests[0].query
    assert all(r.query["limit"] == ["4"] for r in requests)
    assert all(r.query["sort_by[asc]"] == ["updated_at"] for r in requests)
    if state is None:
        offsets = [r.query["offset"][0] for r in requests[1:]]
        assert len(offsets) == 2 and all(o.startswith("[") for o in offsets)  # opaque
        assert all("updated_at[after]" not in r.query for r in requests)
        assert _bookmark(run.final_state, "customers") == 1706947200
    else:
        assert all(r.query["updated_at[after]"] == ["1706947200"] for r in requests)


SECOND_SYNC["chargebee"] = lambda run: _ids(run, "customers") == ["cust_009"]
REQUEST_CHECKS["chargebee"] = _chargebee


def _clinic(
    requests: list[RecordedRequest], run: Run, state: dict[str, Any] | None
) -> None:
    assert all(
        r.headers["authorization"] == "Bearer clinic-demo-token" for r in requests
    )
    clients = [r for r in requests if r.path.endswith("/clients")]
    assert [r.query["offset"] for r in clients] == [["0"], ["3"], ["6"]]
    assert all(r.query["limit"] == ["3"] for r in clients)
    forms = [r for r in requests if r.path.endswith("/medical-forms")]
    assert len(forms) == 7
    appointments = [r for r in requests if r.path.endswith("/appointments")]
    assert {r.headers["x-clinic"] for r in appointments} == {"NORTH", "SOUTH"}
    child = run.records("medical_forms")
    assert all(isinstance(rec["client_id"], int) for rec in child)  # added from context
    assert all(
        rec["clinic_code"] in {"NORTH", "SOUTH"} for rec in run.records("appointments")
    )
    assert "appointments" not in run.final_state["bookmarks"] or not run.final_state[
        "bookmarks"
    ]["appointments"].get("partitions")
    if state is None:
        assert all("x-updated-since" not in r.headers for r in forms)
    else:
        partitions = state["bookmarks"]["medical_forms"]["partitions"]
        sent = {r.path: r.headers.get("x-updated-since") for r in forms}
        for partition in partitions:
            client_id = partition["context"]["client_id"]
            value = partition.get("replication_key_value")  # none: client without forms
            expected = value.replace("Z", "")[:19] if value else None
            assert sent[f"/clinic/v1/clients/{client_id}/medical-forms"] == expected


SECOND_SYNC["clinic"] = lambda run: (
    _ids(run, "medical_forms") == [9002, 9003, 9006, 9007, 9009, 9010]
    and _ids(run, "clients") == FULL_IDS["clinic"]["clients"]
    and _ids(run, "appointments") == FULL_IDS["clinic"]["appointments"]
)
REQUEST_CHECKS["clinic"] = _clinic


def _helpdesk(
    requests: list[RecordedRequest], run: Run, state: dict[str, Any] | None
) -> None:
    config = demo_config("helpdesk", "")
    assert all(
        r.method == "POST" and r.query["api_key"] == [config["api_key"]]
        for r in requests
    )
    assert [r.headers["x-page"] for r in requests] == [
        str(n) for n in range(len(requests))
    ]
    assert all(r.headers["x-tenant"] == config["tenant"] for r in requests)
    for r in requests:
        assert r.body["page_size"] == 4 and isinstance(r.body["page_size"], int)
        assert r.body["note"] == "literal {braces} stay"
        assert r.body["filter"] == {"status": "open"}
    if state is None:
        assert all("updated_since" not in r.query for r in requests)
    else:
        assert all(
            r.query["updated_since"] == ["2024-02-21 09:15:00"] for r in requests
        )


SECOND_SYNC["helpdesk"] = lambda run: _ids(run, "tickets") == [314]
REQUEST_CHECKS["helpdesk"] = _helpdesk


def _openlib(
    requests: list[RecordedRequest], run: Run, state: dict[str, Any] | None
) -> None:
    assert all("authorization" not in r.headers for r in requests)
    books = [r for r in requests if r.path.endswith("/books")]
    assert "x-offset" not in books[0].headers
    assert [r.headers["x-offset"] for r in books[1:]] == [
        str(5 * n) for n in range(1, len(books))
    ]
    assert all(r.headers["x-limit"] == "5" for r in books)


SECOND_SYNC["openlib"] = lambda run: _ids(run, "books") == FULL_IDS["openlib"]["books"]
REQUEST_CHECKS["openlib"] = _openlib


def _shopify(
    requests: list[RecordedRequest], run: Run, state: dict[str, Any] | None
) -> None:
    config = demo_config("shopify", "")
    assert all(r.path.startswith(f"/shopify/{config['store_name']}/") for r in requests)
    assert all(
        r.headers["x-shopify-access-token"] == config["access_token"] for r in requests
    )
    products = [r for r in requests if r.path.endswith("/products.json")]
    assert all(r.query["limit"] == ["3"] for r in products)
    if state is None:
        assert all("updated_at_min" not in r.query for r in products)
    else:
        assert all(
            r.query["updated_at_min"] == ["2024-03-02T08:30:00Z"] for r in products
        )


SECOND_SYNC["shopify"] = lambda run: (
    _ids(run, "products") == [8100000010]
    and _ids(run, "orders") == FULL_IDS["shopify"]["orders"]
)
REQUEST_CHECKS["shopify"] = _shopify


def test_start_date_is_the_first_filter(
    sample_tap: SampleTap, server: DemoServer, tmp_path: Path
) -> None:
    """Without state, start_date is sent in the spec's date format."""
    tap = sample_tap("helpdesk")
    run = _sync(
        tap,
        server,
        tmp_path,
        extra_config={"start_date": "2024-01-15T00:00:00Z"},
        env={"TZ": "Asia/Tokyo"},  # formatting is UTC whatever the machine's zone
    )
    assert all(
        r.query["updated_since"] == ["2024-01-15 00:00:00"] for r in server.requests
    )
    assert _ids(run, "tickets") == [312, 314]


def test_every_sample_has_checks() -> None:
    """Adding a sample spec without expectations fails here."""
    assert set(FULL_IDS) == set(REQUEST_CHECKS) == set(SECOND_SYNC) == set(DEMO_SPECS)


def test_catalog_selects_streams(
    sample_tap: SampleTap, server: DemoServer, tmp_path: Path
) -> None:
    """--catalog: a deselected stream is neither requested nor emitted."""
    tap = sample_tap("aircall")
    discover = tap.run("--discover", config={}, workdir=tmp_path)
    catalog = json.loads(discover.stdout)
    for entry in catalog["streams"]:
        for metadata in entry["metadata"]:
            if metadata["breadcrumb"] == []:
                metadata["metadata"]["selected"] = entry["tap_stream_id"] == "users"
    run = _sync(tap, server, tmp_path, catalog=catalog)
    assert _ids(run, "users") == FULL_IDS["aircall"]["users"]
    assert run.records("calls") == []
    assert all(r.path.endswith("/users") for r in server.requests)


@pytest.mark.parametrize("stem", DEMO_SPECS)
def test_about_markdown_describes_every_setting(
    stem: str, sample_tap: SampleTap, tmp_path: Path
) -> None:
    """--about --format=markdown and the generated README list each setting."""
    tap = sample_tap(stem)
    run = tap.run("--about", "--format=markdown", workdir=tmp_path)
    assert run.returncode == 0, run.stderr
    readme = (tap.package_dir / "README.md").read_text()
    spec = validate_spec(load_spec(SAMPLES / f"{stem}.yaml")).spec
    for parameter in spec.parameters:
        assert f"| {parameter.name} " in run.stdout
        assert f"`{parameter.name}`" in readme
        if parameter.description:
            assert parameter.description in run.stdout
    for name in BUILTINS[stem]:
        assert f"| {name} " in run.stdout and f"`{name}`" in readme
