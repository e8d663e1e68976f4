"""The harder incremental cases end to end: sample_specs/features/lab_cursors.yaml
generated, pip-installed and synced twice (the second run from the first's STATE)
against the lab API: a nested replication key, integer sequence cursors (sent as
they are, or plus one), a first sync from a bulk endpoint, and new queries when
the API refuses deep pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tap_builder.demo import DemoServer, demo_config
from tests.e2e import SAMPLES, Run, install_tap

pytestmark = pytest.mark.slow

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
