"""The harder incremental cases end to end: sample_specs/features/lab_cursors.yaml
generated, pip-installed and synced twice (the second run from the first's STATE)
against the lab API: a nested replication key, integer sequence cursors (sent as
they are, or plus one), a first sync from a bulk endpoint, and new queries when
the API refuses deep pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tap_builder import SpecError, load_spec, validate_spec
from tap_builder.cli import main
from tap_builder.commands.preview import PreviewError, run_stream
from tap_builder.demo import DemoServer, demo_config
from tests.e2e import SAMPLES, Run, install_tap

SPEC = SAMPLES / "features" / "lab_cursors.yaml"
STREAMS = ("contacts", "revisions", "revisions_next", "revisions_deep", "catalog")


@pytest.fixture(scope="module")
def two_syncs(
    tap_venv: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Run, Run, list[Any], list[Any]]:
    """Two syncs of every stream: from nothing, then from the first's STATE."""
    tap = install_tap(SPEC, tmp_path_factory.mktemp("cursors") / "tap", tap_venv)
    workdir = tmp_path_factory.mktemp("cursors-run")
    with DemoServer() as server:
        config = demo_config("lab", server.url)
        first = tap.run(config=config, workdir=workdir)
        assert first.returncode == 0, first.stderr[-3000:]
        first_requests = server.requests
        server.clear_requests()
        second = tap.run(config=config, state=first.final_state, workdir=workdir)
        assert second.returncode == 0, second.stderr[-3000:]
        second_requests = server.requests
    return first, second, first_requests, second_requests


def _bookmark(run: Run, stream: str) -> dict[str, Any]:
    return run.final_state["bookmarks"][stream]


def _queries(requests: list[Any], path: str) -> list[dict[str, list[str]]]:
    return [r.query for r in requests if r.path == f"/lab/v1/{path}"]


@pytest.mark.slow
def test_nested_replication_key(
    two_syncs: tuple[Run, Run, list[Any], list[Any]],
) -> None:
    """properties.updated_at is copied to the top-level updated_at, the bookmark."""
    first, second, first_requests, second_requests = two_syncs
    assert first.records("contacts") == [
        {
            "id": n,
            "properties": {
                "email": f"c{n}@lab.test",
                "updated_at": f"2024-06-0{n}T08:00:00Z",
            },
            "updated_at": f"2024-06-0{n}T08:00:00Z",
        }
        for n in range(1, 6)
    ]
    schema = first.schemas()["contacts"]
    assert schema["key_properties"] == ["id"]
    assert schema["bookmark_properties"] == ["updated_at"]
    assert schema["schema"]["properties"]["updated_at"]["format"] == "date-time"
    assert _bookmark(first, "contacts") == {
        "replication_key": "updated_at",
        "replication_key_value": "2024-06-05T08:00:00Z",
    }
    assert _queries(first_requests, "contacts") == [{}]
    assert _queries(second_requests, "contacts") == [
        {"updated_after": ["2024-06-05T08:00:00Z"]}
    ]
    assert second.ids("contacts") == [5]
    assert _bookmark(second, "contacts") == _bookmark(first, "contacts")
    assert first.assert_records_fit_schemas() > 0


def _revisions(*versions: int) -> list[dict[str, Any]]:
    return [
        {"id": v - 100, "version": v, "title": f"revision {v - 100}"} for v in versions
    ]


@pytest.mark.slow
def test_sequence_cursor_sent_as_it_is(
    two_syncs: tuple[Run, Run, list[Any], list[Any]],
) -> None:
    """An integer cursor: the state holds the integer, the filter sends it."""
    first, second, first_requests, second_requests = two_syncs
    assert first.records("revisions") == _revisions(*range(101, 111))
    assert _bookmark(first, "revisions") == {
        "replication_key": "version",
        "replication_key_value": 110,
    }
    assert first.schemas()["revisions"]["bookmark_properties"] == ["version"]
    assert _queries(first_requests, "revisions")[0] == {"limit": ["100"]}
    assert [
        q for q in _queries(second_requests, "revisions") if "after_version" in q
    ] == [{"limit": ["100"], "after_version": ["110"]}]
    assert second.records("revisions") == []
    assert _bookmark(second, "revisions") == _bookmark(first, "revisions")


@pytest.mark.slow
def test_sequence_cursor_send_next(
    two_syncs: tuple[Run, Run, list[Any], list[Any]],
) -> None:
    """send_next: an inclusive filter (>=) gets the bookmark plus one."""
    first, second, _, second_requests = two_syncs
    assert first.records("revisions_next") == _revisions(*range(101, 111))
    assert _bookmark(first, "revisions_next")["replication_key_value"] == 110
    sent = [q.get("min_version") for q in _queries(second_requests, "revisions")]
    assert ["111"] in sent
    assert second.records("revisions_next") == []
    assert _bookmark(second, "revisions_next")["replication_key_value"] == 110


@pytest.mark.slow
def test_capped_page_depth_starts_new_queries(
    two_syncs: tuple[Run, Run, list[Any], list[Any]],
) -> None:
    """After 2 pages (the API refuses offset 6) a new query starts from the last
    version seen; the record at that version is not sent twice."""
    first, second, first_requests, second_requests = two_syncs
    assert first.records("revisions_deep") == _revisions(*range(101, 111))
    deep = [q for q in _queries(first_requests, "revisions") if q.get("limit") == ["3"]]
    assert deep == [
        {"offset": ["0"], "limit": ["3"]},
        {"offset": ["3"], "limit": ["3"]},
        {"offset": ["0"], "limit": ["3"], "min_version": ["106"]},
        {"offset": ["3"], "limit": ["3"], "min_version": ["106"]},
        {"offset": ["0"], "limit": ["3"], "min_version": ["110"]},
    ]
    assert _bookmark(first, "revisions_deep") == {
        "replication_key": "version",
        "replication_key_value": 110,
    }
    # the next sync starts from the bookmark; the API's filter is inclusive
    deep_again = [
        q for q in _queries(second_requests, "revisions") if q.get("limit") == ["3"]
    ]
    assert deep_again == [{"offset": ["0"], "limit": ["3"], "min_version": ["110"]}]
    assert second.records("revisions_deep") == _revisions(110)
    assert _bookmark(second, "revisions_deep")["replication_key_value"] == 110


@pytest.mark.slow
def test_first_sync_from_bulk_then_changes(
    two_syncs: tuple[Run, Run, list[Any], list[Any]],
) -> None:
    """No bookmark: /export, unfiltered; with one: /changes?since=bookmark."""
    first, second, first_requests, second_requests = two_syncs
    assert first.ids("catalog") == list(range(1, 11))
    assert [
        r.path for r in first_requests if r.path.endswith(("export", "changes"))
    ] == ["/lab/v1/export"]
    assert _queries(first_requests, "export") == [{}]
    assert _bookmark(first, "catalog") == {
        "replication_key": "updated_at",
        "replication_key_value": "2024-03-10T12:00:00Z",
    }
    assert [
        r.path for r in second_requests if r.path.endswith(("export", "changes"))
    ] == ["/lab/v1/changes"]
    assert _queries(second_requests, "changes") == [{"since": ["2024-03-10T12:00:00Z"]}]
    assert second.records("catalog") == [first.records("catalog")[-1]]
    assert _bookmark(second, "catalog") == _bookmark(first, "catalog")


@pytest.mark.slow
def test_whole_state_after_two_syncs(
    two_syncs: tuple[Run, Run, list[Any], list[Any]],
) -> None:
    """The exact final STATE: one bookmark per stream, no progress markers."""
    _, second, _, _ = two_syncs
    assert second.final_state == {
        "bookmarks": {
            "contacts": {
                "replication_key": "updated_at",
                "replication_key_value": "2024-06-05T08:00:00Z",
            },
            "revisions": {"replication_key": "version", "replication_key_value": 110},
            "revisions_next": {
                "replication_key": "version",
                "replication_key_value": 110,
            },
            "revisions_deep": {
                "replication_key": "version",
                "replication_key_value": 110,
            },
            "catalog": {
                "replication_key": "updated_at",
                "replication_key_value": "2024-03-10T12:00:00Z",
            },
        }
    }


# --------------------------------------------------------------------------- #
# Validation: every problem at once, each at its field path
# --------------------------------------------------------------------------- #

SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "updated_at": {"type": "string", "format": "date-time"},
        "version": {"type": "string"},
        "properties": {
            "type": "object",
            "properties": {"updated_at": {"type": "string", "format": "date-time"}},
        },
    },
}


def _spec(*incrementals: dict[str, Any], pagination: bool = False) -> dict[str, Any]:
    streams = []
    for index, incremental in enumerate(incrementals):
        stream: dict[str, Any] = {
            "name": f"S{index}",
            "id": f"s{index}",
            "path": "/items",
            "schema": SCHEMA,
            "incremental": incremental,
        }
        if pagination:
            stream["pagination"] = {
                "type": "offset",
                "offset_param": "offset",
                "limit_param": "limit",
                "limit": 10,
            }
        streams.append(stream)
    return {
        "name": "X",
        "tap_id": "x",
        "base_url": "https://x.test",
        "streams": streams,
    }


def _problems(spec: dict[str, Any], tmp_path: Path) -> list[tuple[str, str]]:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        validate_spec(load_spec(path))
    return [(issue.path, issue.message) for issue in caught.value.issues]


def test_the_new_keys_are_checked_at_their_field_paths(tmp_path: Path) -> None:
    spec = _spec(
        {"replication_key": "properties.updated_at", "param_name": "since"},
        {"replication_key": "props[0].x", "param_name": "since"},
        {
            "replication_key": "updated_at",
            "param_name": "since",
            "replication_key_field": "at",
            "send_next": True,
            "initial_records_selector": "$.rows[*]",
        },
        {"replication_key": "version", "param_name": "v", "sequence": True},
        {
            "replication_key": "id",
            "param_name": "v",
            "sequence": True,
            "date_format": "timestamp",
            "lookback": "P1D",
        },
        {
            "replication_key": "updated_at",
            "param_name": "since",
            "max_pages_per_query": 2,
            "initial_path": "/export/{config.nope}",
            "window": "P1D",
            "end_param": "to",
        },
        {"replication_key": "properties.missing", "param_name": "since"},
    )
    rk = "incremental.replication_key"
    assert _problems(spec, tmp_path) == [
        (
            f"streams[0].{rk}_field",
            "'updated_at' is already a property of the schema; name another "
            "top-level field for the nested value with replication_key_field",
        ),
        (
            f"streams[1].{rk}",
            "'props[0].x' is not a path of field names (e.g. properties.updated_at "
            "or $.properties.updated_at)",
        ),
        (
            "streams[2].incremental.initial_records_selector",
            "only with initial_path (the first sync's endpoint)",
        ),
        (
            f"streams[2].{rk}_field",
            "only for a nested replication_key (e.g. properties.updated_at)",
        ),
        ("streams[2].incremental.send_next", "send_next is for sequence: true cursors"),
        (
            f"streams[3].{rk}",
            "'version' must be declared as type: integer for a sequence cursor",
        ),
        (
            "streams[4].incremental.date_format",
            "a sequence cursor is an integer, not a date: remove date_format",
        ),
        (
            "streams[4].incremental.lookback",
            "a sequence cursor is an integer, not a date: remove lookback",
        ),
        (
            "streams[5].incremental.initial_path",
            "{config.nope} refers to an undeclared parameter. Declared: api_url, "
            "start_date",
        ),
        (
            "streams[5].incremental.initial_path",
            "initial_path and window do not go together (the first sync reads "
            "everything at once)",
        ),
        (
            "streams[5].incremental.max_pages_per_query",
            "needs sorted: true (the next query starts from the last value seen)",
        ),
        (
            "streams[5].incremental.max_pages_per_query",
            "needs pagination (one page per query is never capped)",
        ),
        (
            "streams[5].incremental.max_pages_per_query",
            "needs param_name and no window (each new query is filtered from the "
            "last value)",
        ),
        (
            f"streams[6].{rk}",
            "'properties.missing' is not a nested property of the schema",
        ),
    ]


def test_capped_queries_need_sorted_records_and_pagination(tmp_path: Path) -> None:
    spec = _spec(
        {"replication_key": "updated_at", "param_name": "s", "max_pages_per_query": 2},
        {
            "replication_key": "updated_at",
            "param_name": "s",
            "max_pages_per_query": 2,
            "sorted": True,
        },
        pagination=True,
    )
    assert _problems(spec, tmp_path) == [
        (
            "streams[0].incremental.max_pages_per_query",
            "needs sorted: true (the next query starts from the last value seen)",
        )
    ]


def test_bad_spec_exits_non_zero_one_line_per_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = _spec(
        {"replication_key": "updated_at", "param_name": "s", "send_next": True},
        {"replication_key": "version", "param_name": "v", "sequence": True},
    )
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    assert main(["validate", str(path)]) != 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "incremental" in line]
    assert len(lines) == 2, err
    assert "streams[0].incremental.send_next" in lines[0]
    assert "streams[1].incremental.replication_key" in lines[1]
    assert "Traceback" not in err


# --------------------------------------------------------------------------- #
# preview runs the same code in-process
# --------------------------------------------------------------------------- #


def test_preview_runs_the_new_cases(demo_server: DemoServer) -> None:
    """preview: capped queries, then the changes path once a bookmark exists."""
    connector = validate_spec(load_spec(SPEC))
    config = demo_config("lab", demo_server.url)
    deep = run_stream(connector, "revisions_deep", config, limit=None)
    assert [r["version"] for r in deep.records] == list(range(101, 111))
    assert [e.url.split("?")[1] for e in deep.requests] == [
        "limit=3&offset=0",
        "limit=3&offset=3",
        "limit=3&offset=0&min_version=106",
        "limit=3&offset=3&min_version=106",
        "limit=3&offset=0&min_version=110",
    ]
    assert deep.bookmark == {"replication_key": "version", "replication_key_value": 110}
    state = {
        "bookmarks": {
            "catalog": {
                "replication_key": "updated_at",
                "replication_key_value": "2024-03-09T12:00:00Z",
            }
        }
    }
    changes = run_stream(connector, "catalog", config, state=state)
    assert [e.url.rsplit("/", 1)[1] for e in changes.requests] == [
        "changes?since=2024-03-09T12%3A00%3A00Z"
    ]
    assert [r["id"] for r in changes.records] == [9, 10]
    contacts = run_stream(connector, "contacts", config)
    assert contacts.bookmark == {
        "replication_key": "updated_at",
        "replication_key_value": "2024-06-05T08:00:00Z",
    }
    assert contacts.records[0]["updated_at"] == "2024-06-01T08:00:00Z"


def test_capped_queries_that_make_no_progress_stop_clearly(
    tmp_path: Path, requests_mock: Any
) -> None:
    """Pages that hold only the value a query started from: one clear error."""
    spec = _spec(
        {
            "replication_key": "id",
            "sequence": True,
            "param_name": "min_id",
            "sorted": True,
            "max_pages_per_query": 1,
        },
        pagination=True,
    )
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    connector = validate_spec(load_spec(path))
    same = [{"id": 5, "version": "a"}, {"id": 5, "version": "b"}]
    requests_mock.get("https://x.test/items", json=same)
    with pytest.raises(PreviewError) as caught:
        run_stream(connector, "s0", {}, limit=None)
    assert str(caught.value) == (
        "stream 's0': 1 pages hold no newer replication-key value, so a new query "
        "would start where this one did; raise max_pages_per_query or the page size"
    )
    sent = [r.qs for r in requests_mock.request_history]
    assert sent == [{"offset": ["0"], "limit": ["10"]},
                    {"offset": ["0"], "limit": ["10"], "min_id": ["5"]}]  # fmt: skip
