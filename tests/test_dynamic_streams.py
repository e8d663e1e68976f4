"""Dynamic streams end to end: sample_specs/features/lab_dynamic.yaml generated,
pip-installed and run against the lab API: one stream per item of a list setting
(report types), one per record of a discovery endpoint (custom objects, each with
its own inferred schema); catalogs and state keyed by those names."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from tap_builder import SpecError, load_spec, validate_spec
from tap_builder.commands.preview import PreviewError, run_stream
from tap_builder.demo import DemoServer, demo_config
from tap_builder.runtime.dynamic import infer_properties, stream_id_of
from tap_builder.spec.schema import spec_json_schema
from tests.e2e import SAMPLES, InstalledTap, Run, install_tap
from tests.test_studio_browser import browser, key, open_spec, page, screen, studio

if TYPE_CHECKING:
    from playwright.sync_api import Page

__all__ = ["browser", "page", "studio"]  # the studio's fixtures, used here too

SPEC = SAMPLES / "features" / "lab_dynamic.yaml"
REPORTS = [{"type": "sales", "region": "eu"}, {"type": "returns", "region": "us"}]


def _config(server: DemoServer, reports: list[Any] = REPORTS) -> dict[str, Any]:
    return {**demo_config("lab", server.url), "report_types": reports}


@pytest.fixture(scope="module")
def tap(tap_venv: Path, tmp_path_factory: pytest.TempPathFactory) -> InstalledTap:
    return install_tap(SPEC, tmp_path_factory.mktemp("dynamic") / "tap", tap_venv)


@pytest.fixture(scope="module")
def two_syncs(
    tap: InstalledTap, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Run, Run, list[Any], list[Any]]:
    workdir = tmp_path_factory.mktemp("dynamic-run")
    with DemoServer() as server:
        config = _config(server)
        first = tap.run(config=config, workdir=workdir)
        assert first.returncode == 0, first.stderr[-3000:]
        first_requests = server.requests
        server.clear_requests()
        second = tap.run(config=config, state=first.final_state, workdir=workdir)
        assert second.returncode == 0, second.stderr[-3000:]
        second_requests = server.requests
    return first, second, first_requests, second_requests


def _rows(kind: str, region: str, base: int, days: tuple[int, ...]) -> list[Any]:
    return [
        {
            "day": f"2024-07-0{n}T00:00:00Z",
            "region": region,
            "value": n * base,
            "report_type": kind,
        }
        for n in days
    ]


@pytest.mark.slow
def test_one_stream_per_item_of_a_list_setting(
    two_syncs: tuple[Run, Run, list[Any], list[Any]],
) -> None:
    """report_{item.type}: {item.type} in the path, {item.region} in the query."""
    first, _, first_requests, _ = two_syncs
    assert first.records("report_sales") == _rows("sales", "eu", 100, (1, 2, 3))
    assert first.records("report_returns") == _rows("returns", "us", 7, (1, 2, 3))
    reports = [(r.path, r.query) for r in first_requests if "/report/" in r.path]
    assert sorted(reports) == [
        ("/lab/v1/report/returns", {"region": ["us"]}),
        ("/lab/v1/report/sales", {"region": ["eu"]}),
    ]
    schema = first.schemas()["report_sales"]
    assert schema["key_properties"] == ["day", "region"]
    assert schema["bookmark_properties"] == ["day"]
    assert first.assert_records_fit_schemas() == 10


@pytest.mark.slow
def test_one_stream_per_record_of_a_discovery_endpoint(
    two_syncs: tuple[Run, Run, list[Any], list[Any]],
) -> None:
    """/objects lists two objects; each is a stream with its own schema, inferred
    from at most sample_records of its records and merged under the declared one."""
    first, _, first_requests, _ = two_syncs
    assert first.records("pets") == [
        {"id": 1, "name": "Rex", "species": "dog"},
        {"id": 2, "name": "Tom", "species": "cat", "age": 3},
    ]
    assert first.records("vehicles") == [
        {"id": 1, "plate": "AB-123", "wheels": 4, "electric": True},
        {"id": 2, "plate": "CD-456", "wheels": 2, "electric": False},
    ]
    schemas = first.schemas()
    assert schemas["pets"]["schema"]["properties"] == {
        "id": {"type": "integer"},
        "name": {"type": ["string", "null"]},
        "species": {"type": ["string", "null"]},
        "age": {"type": ["integer", "null"]},
    }
    assert schemas["vehicles"]["schema"]["properties"] == {
        "id": {"type": "integer"},
        "plate": {"type": ["string", "null"]},
        "wheels": {"type": ["integer", "null"]},
        "electric": {"type": ["boolean", "null"]},
    }
    paths = [r.path for r in first_requests if r.path.startswith("/lab/v1/objects")]
    # discovery: the list, one sample request per object; then the sync
    assert paths[:3] == [
        "/lab/v1/objects",
        "/lab/v1/objects/pets/records",
        "/lab/v1/objects/vehicles/records",
    ]
    assert sorted(paths[3:]) == [
        "/lab/v1/objects/pets/records",
        "/lab/v1/objects/vehicles/records",
    ]


@pytest.mark.slow
def test_state_is_keyed_by_the_dynamic_names(
    two_syncs: tuple[Run, Run, list[Any], list[Any]],
) -> None:
    first, second, _, second_requests = two_syncs
    bookmark = {
        "replication_key": "day",
        "replication_key_value": "2024-07-03T00:00:00Z",
    }
    expected = {
        "bookmarks": {
            "pets": {},
            "report_returns": bookmark,
            "report_sales": bookmark,
            "vehicles": {},
        }
    }
    assert first.final_state == expected
    reports = [(r.path, r.query) for r in second_requests if "/report/" in r.path]
    assert sorted(reports) == [
        (
            "/lab/v1/report/returns",
            {"region": ["us"], "since": ["2024-07-03T00:00:00Z"]},
        ),
        ("/lab/v1/report/sales", {"region": ["eu"], "since": ["2024-07-03T00:00:00Z"]}),
    ]
    assert second.records("report_sales") == _rows("sales", "eu", 100, (3,))
    assert second.records("report_returns") == _rows("returns", "us", 7, (3,))
    assert second.final_state == expected


@pytest.mark.slow
def test_discover_and_a_catalog_of_dynamic_streams(
    tap: InstalledTap, tmp_path: Path
) -> None:
    """--discover lists the dynamic streams; a catalog selects among them."""
    with DemoServer() as server:
        config = _config(server)
        discovered = tap.run("--discover", config=config, workdir=tmp_path)
        assert discovered.returncode == 0, discovered.stderr[-3000:]
        catalog = json.loads(discovered.stdout)
        names = sorted(entry["tap_stream_id"] for entry in catalog["streams"])
        assert names == ["pets", "report_returns", "report_sales", "vehicles"]
        for entry in catalog["streams"]:
            for metadata in entry["metadata"]:
                if metadata["breadcrumb"] == []:
                    metadata["metadata"]["selected"] = (
                        entry["tap_stream_id"] == "vehicles"
                    )
        run = tap.run(config=config, catalog=catalog, workdir=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert {m["stream"] for m in run.messages if m["type"] == "RECORD"} == {"vehicles"}
    assert run.ids("vehicles") == [1, 2]


@pytest.mark.slow
def test_colliding_names_are_one_clear_error(tap: InstalledTap, tmp_path: Path) -> None:
    with DemoServer() as server:
        reports = [*REPORTS, {"type": "Sales", "region": "us"}]
        run = tap.run(config=_config(server, reports), workdir=tmp_path)
    assert run.returncode == 1
    assert run.stdout == ""
    assert (
        run.stderr.strip()
        .splitlines()[-1]
        .endswith(
            "two streams are named 'report_sales' (an item of stream 'report' and an "
            "item of stream 'report'); change for_each.stream_id or the items so that "
            "every stream id is unique"
        )
    )
    assert "Traceback" not in run.stderr


def test_preview_of_a_dynamic_stream(demo_server: DemoServer) -> None:
    connector = validate_spec(load_spec(SPEC))
    config = _config(demo_server)
    result = run_stream(connector, "report_returns", config)
    assert result.records == _rows("returns", "us", 7, (1, 2, 3))
    assert [e.url.rsplit("/", 1)[1] for e in result.requests] == ["returns?region=us"]
    vehicles = run_stream(connector, "vehicles", config)
    assert vehicles.schema["properties"]["plate"] == {"type": ["string", "null"]}
    with pytest.raises(PreviewError) as caught:
        run_stream(connector, "report", config)
    assert str(caught.value) == (
        "no stream 'report' in the tap. Streams: pets, report_returns, "
        "report_sales, vehicles"
    )


# --------------------------------------------------------------------------- #
# Naming, inference and validation
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("report_sales", "report_sales"),
        ("Sales Report", "sales_report"),
        ("Crème-brûlée!", "cr_me_br_l_e"),
        ("2024 leads", "_2024_leads"),
        ("---", ""),
    ],
)
def test_stream_id_of(text: str, expected: str) -> None:
    assert stream_id_of(text) == expected


def test_infer_properties() -> None:
    assert infer_properties(
        [{"a": 1, "b": None, "c": "x"}, {"a": 1.5, "c": {"k": 1}, "d": [1], "e": True}]
    ) == {
        "a": {"type": ["number", "null"]},
        "b": {"type": ["string", "null"]},
        "c": {"type": ["object", "string", "null"]},
        "d": {"type": ["array", "null"]},
        "e": {"type": ["boolean", "null"]},
    }


def _problems(spec: dict[str, Any], tmp_path: Path) -> list[tuple[str, str]]:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        validate_spec(load_spec(path))
    return [(issue.path, issue.message) for issue in caught.value.issues]


def test_for_each_is_checked_at_its_field_paths(tmp_path: Path) -> None:
    schema = {"type": "object", "properties": {"id": {"type": "integer"}}}
    base = {"primary_key": "id", "schema": schema}
    spec = {
        "name": "X",
        "tap_id": "x",
        "base_url": "https://x.test",
        "parameters": [{"name": "kinds"}, {"name": "ids", "type": "list"}],
        "streams": [
            {"name": "A", "id": "a", "path": "/a/{item}", **base,
             "for_each": {"config": "kinds", "stream_id": "a_{item}"}},
            {"name": "B", "id": "b", "path": "/b", **base,
             "for_each": {"stream_id": "b", "path": "/x/{item}",
                          "records_selector": "$[*"}},
            {"name": "C", "id": "c", "path": "/c/{item.id}", **base,
             "for_each": {"config": "ids", "path": "/ids",
                          "stream_id": "{config.kinds}_{item.id}"}},
            {"name": "D", "id": "d", "path": "/d/{item.id}", **base},
        ],
    }  # fmt: skip
    item_only = "is an item variable: it exists only in streams with for_each"
    assert _problems(spec, tmp_path) == [
        (
            "streams[0].for_each.config",
            "'kinds' is not a parameter of type: list (list parameters: ids)",
        ),
        ("streams[1].for_each.path", f"{{item}} {item_only} (dynamic streams)"),
        (
            "streams[1].for_each.records_selector",
            "'$[*' is not a valid JSONPath: Parse error near the end of string!",
        ),
        (
            "streams[1].for_each.stream_id",
            "needs an item variable ({item} or {item.NAME}), so that each stream "
            "gets its own id",
        ),
        (
            "streams[2].for_each",
            "give exactly one of config (a list setting) or path (an endpoint)",
        ),
        (
            "streams[2].for_each.stream_id",
            "{config.kinds}: a stream id holds item variables only",
        ),
        ("streams[3].path", f"{{item.id}} {item_only} (dynamic streams)"),
    ]


def test_the_studio_form_has_the_new_keys() -> None:
    """The studio builds its forms from the spec's JSON Schema."""
    definitions = spec_json_schema()["definitions"]
    assert set(definitions["ForEach"]["properties"]) == {
        "config", "path", "records_selector", "stream_id", "max_items",
        "infer_schema", "sample_records",
    }  # fmt: skip
    assert "for_each" in definitions["Stream"]["properties"]
    incremental = definitions["Incremental"]["properties"]
    for name in ("replication_key_field", "sequence", "send_next", "initial_path",
                 "initial_records_selector", "max_pages_per_query"):  # fmt: skip
        assert name in incremental


# --------------------------------------------------------------------------- #
# The studio renders the new keys (its forms come from the spec's JSON Schema)
# --------------------------------------------------------------------------- #


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A studio folder holding the dynamic-streams and cursors specs."""
    root = tmp_path_factory.mktemp("studio-dynamic")
    for name in ("lab_dynamic.yaml", "lab_cursors.yaml", "item.schema.json"):
        shutil.copy(SAMPLES / "features" / name, root / name)
    return root


@pytest.mark.slow
def test_the_studio_shows_the_new_keys(page: Page) -> None:
    open_spec(page, "lab_dynamic.yaml")
    screen(page, "streams")
    page.click('[data-stream="0"]')
    assert page.input_value(key("streams[0].for_each.config")) == "report_types"
    assert page.input_value(key("streams[0].for_each.stream_id")) == (
        "report_{item.type}"
    )
    page.click('[data-stream="1"]')
    assert page.input_value(key("streams[1].for_each.path")) == "/objects"
    assert page.is_checked(key("streams[1].for_each.infer_schema"))
    open_spec(page, "lab_cursors.yaml")
    screen(page, "streams")
    page.click('[data-stream="0"]')
    assert page.input_value(key("streams[0].incremental.replication_key_field")) == (
        "updated_at"
    )
    page.click('[data-stream="3"]')
    assert page.input_value(key("streams[3].incremental.max_pages_per_query")) == "2"
    assert page.is_checked(key("streams[3].incremental.sequence"))
