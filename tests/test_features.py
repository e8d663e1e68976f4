"""Options beyond the Connector Builder, end to end: sample_specs/features/*.yaml
generated, pip-installed and synced against the demo API's lab endpoints."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tap_builder.demo import DemoServer, demo_config
from tests.e2e import SAMPLES, InstalledTap, Run, install_tap

pytestmark = pytest.mark.slow

FEATURES = SAMPLES / "features"
ALL_IDS = list(range(1, 11))


@pytest.fixture(scope="module")
def feature_tap(
    tap_venv: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], InstalledTap]:
    """Generate and install a feature spec's tap once per module."""
    installed: dict[str, InstalledTap] = {}

    def get(stem: str) -> InstalledTap:
        if stem not in installed:
            out = tmp_path_factory.mktemp(f"feature-{stem}") / "tap"
            installed[stem] = install_tap(FEATURES / f"{stem}.yaml", out, tap_venv)
        return installed[stem]

    return get


@pytest.fixture(scope="module")
def lab_run(
    feature_tap: Callable[[str], InstalledTap], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Run, list[Any]]:
    """One full sync of the lab tap, with the server's request log."""
    with DemoServer() as server:
        run = feature_tap("lab").run(
            config=demo_config("lab", server.url),
            workdir=tmp_path_factory.mktemp("lab"),
        )
        requests = server.requests
    assert run.returncode == 0, run.stderr[-3000:]
    return run, requests


def _paths(requests: list[Any], endpoint: str) -> list[Any]:
    return [r for r in requests if r.path == f"/lab/v1/{endpoint}"]


def test_headers_auth_sends_every_header(lab_run: tuple[Run, list[Any]]) -> None:
    """type: headers sends each header on every request; secrets stay secret."""
    run, requests = lab_run
    assert all(r.headers["authorization"] == "Bearer lab-demo-token" for r in requests)
    assert all(r.headers["x-workspace"] == "acme" for r in requests)
    assert run.ids("workspace") == [1, 2]
    assert "lab-demo-token" not in run.stdout + run.stderr


def test_cursor_from_body_sent_in_query(lab_run: tuple[Run, list[Any]]) -> None:
    """next_cursor (JSONPath) -> ?cursor=; stops when the cursor is null."""
    run, requests = lab_run
    assert run.ids("events") == ALL_IDS
    sent = [r.query.get("cursor") for r in _paths(requests, "events")]
    assert sent == [None, ["cur-3"], ["cur-6"], ["cur-9"]]


def test_cursor_from_header_sent_in_header(lab_run: tuple[Run, list[Any]]) -> None:
    """next_cursor_header -> X-Cursor request header; stops without the header."""
    run, requests = lab_run
    assert run.ids("notes") == ALL_IDS
    sent = [r.headers.get("x-cursor") for r in _paths(requests, "notes")]
    assert sent == [None, "cur-4", "cur-8"]


def test_cursor_in_post_body(lab_run: tuple[Run, list[Any]]) -> None:
    """location: body puts the cursor at the dotted path, beside the spec's body."""
    run, requests = lab_run
    assert run.ids("search") == ALL_IDS
    bodies = [r.body for r in _paths(requests, "search")]
    assert bodies[0] == {"query": {"kind": "any"}}
    assert [b.get("paging") for b in bodies[1:]] == [
        {"cursor": "cur-4"},
        {"cursor": "cur-8"},
    ]


def test_next_url_from_body(lab_run: tuple[Run, list[Any]]) -> None:
    """next_url: the (relative) URL is followed as given, query and all."""
    run, requests = lab_run
    assert run.ids("articles") == ALL_IDS
    sent = [r.query for r in _paths(requests, "articles")]
    assert sent == [{"per_page": ["4"]}, {"page": ["2"], "per_page": ["4"]},
                    {"page": ["3"], "per_page": ["4"]}]  # fmt: skip


def test_records_offset_counts_the_records_read(
    lab_run: tuple[Run, list[Any]],
) -> None:
    """records_offset: the API sends 4 of the 10 records asked for; the offset
    is the records read (0, 4, 8), so none is skipped, and the empty page at
    10 ends paging (offsets counted by limit would stop after the first page)."""
    run, requests = lab_run
    assert run.ids("capped") == ALL_IDS
    sent = [r.query for r in _paths(requests, "capped")]
    assert sent == [{"offset": [str(n)], "limit": ["10"]} for n in (0, 4, 8, 10)]


def test_link_header(lab_run: tuple[Run, list[Any]]) -> None:
    """link_header: rel="next" URLs until there is none."""
    run, requests = lab_run
    assert run.ids("tags") == ALL_IDS
    assert [r.query.get("page") for r in _paths(requests, "tags")] == [
        None, ["2"], ["3"], ["4"]
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("stream", "size", "pages"),
    [
        ("reports_has_more", "4", 3),  # has_more false on page 3
        ("reports_total_pages", "3", 4),  # total_pages 4
        ("reports_total", "5", 2),  # total: 10 records after page 2
        ("reports_max_pages", "2", 2),  # max_pages 2 (4 of 10 records)
    ],
)
def test_stop_conditions_save_the_empty_page(
    lab_run: tuple[Run, list[Any]], stream: str, size: str, pages: int
) -> None:
    """Stop conditions end paging without requesting an empty page."""
    run, requests = lab_run
    mine = [r for r in _paths(requests, "reports") if r.query.get("size") == [size]]
    assert [r.query["page"] for r in mine] == [[str(n)] for n in range(1, pages + 1)]
    expected = ALL_IDS if stream != "reports_max_pages" else [1, 2, 3, 4]
    assert run.ids(stream) == expected


def _feed_cursors(requests: list[Any], limit: int) -> list[Any]:
    """The cursor each /feed request with this limit sent (None: the first page)."""
    mine = [r for r in _paths(requests, "feed") if r.query.get("limit") == [str(limit)]]
    return [r.query.get("cursor") for r in mine]


def test_cursor_has_more_saves_the_empty_page(lab_run: tuple[Run, list[Any]]) -> None:
    """The feed always sends a next cursor; has_more: "$.has_more" stops paging at
    the page that says false, so no request follows it."""
    run, requests = lab_run
    # feed_has_more (limit 4): pages 4 + 4 + 2, has_more false on the third
    assert _feed_cursors(requests, 4) == [None, ["cur-4"], ["cur-8"]]
    assert run.ids("feed_has_more") == ALL_IDS
    # the same feed without a stop condition (limit 5) asks for the empty page
    assert _feed_cursors(requests, 5) == [None, ["cur-5"], ["cur-10"]]
    assert run.ids("feed") == ALL_IDS


@pytest.mark.parametrize(
    ("stream", "limit", "cursors"),
    [
        # cursor, total_records "$.total" (10): after 3 + 3 + 3 + 1 records
        ("feed_total", 3, [None, ["cur-3"], ["cur-6"], ["cur-9"]]),
        # next_url "$.links.next", has_more: false on page 2 (6 + 4 records)
        ("feed_next_url", 6, [None, ["cur-6"]]),
        # link_header, total_pages "$.total_pages" (2 pages of 7)
        ("feed_links", 7, [None, ["cur-7"]]),
    ],
)
def test_stop_conditions_on_cursors_and_next_urls(
    lab_run: tuple[Run, list[Any]], stream: str, limit: int, cursors: list[Any]
) -> None:
    """Stop conditions on cursor, next_url and link_header pagination end paging
    although the API still offers a next page."""
    run, requests = lab_run
    assert _feed_cursors(requests, limit) == cursors
    assert run.ids(stream) == ALL_IDS


def test_bearer_auth_and_loop_protection(
    feature_tap: Callable[[str], InstalledTap], tmp_path: Path
) -> None:
    """type: bearer works; a cursor the API repeats stops with one clear line."""
    tap = feature_tap("lab_bearer")
    with DemoServer() as server:
        config = demo_config("lab", server.url)
        config.pop("workspace")
        run = tap.run(config=config, workdir=tmp_path)
        assert all(
            r.headers["authorization"] == "Bearer lab-demo-token"
            for r in server.requests
        )
    assert run.returncode == 1
    assert run.ids("events") == ALL_IDS
    last = [line for line in run.stderr.splitlines() if "ERROR" in line][-1]
    assert "pagination loop" in last and "'cur-same'" in last
    assert "Traceback" not in run.stderr


@pytest.fixture(scope="module")
def records_runs(
    feature_tap: Callable[[str], InstalledTap], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Run, Run, list[Any]]:
    """Two syncs of the lab_records tap: a full one, then one from its state."""
    from tap_builder.demo import lab

    tap = feature_tap("lab_records")
    workdir = tmp_path_factory.mktemp("records")
    with DemoServer() as server:
        config = demo_config("lab", server.url) | {"backoff_seconds": 0.01}
        lab.reset_conflicts()
        first = tap.run(config=config, workdir=workdir)
        assert first.returncode == 0, first.stderr[-3000:]
        server.clear_requests()
        lab.reset_conflicts()
        second = tap.run(config=config, state=first.final_state, workdir=workdir)
        assert second.returncode == 0, second.stderr[-3000:]
        requests = server.requests
    return first, second, requests


def test_record_filter_and_field_transforms(
    records_runs: tuple[Run, Run, list[Any]],
) -> None:
    """record_filter drops void entries; remove_fields/add_fields reshape records."""
    first, _, _ = records_runs
    assert first.ids("ledger") == [1, 2, 4, 5, 7, 8]
    record = first.records("ledger")[0]
    assert record == {
        "id": 1,
        "account": "acc-1",
        "status": "posted",
        "amount": 100,
        "booked": "2024-04-01T09:30:00+00:00",  # replication_key_format -> ISO-8601
        "source": "lab-ledger",
        "workspace": "acme",
    }
    schema = first.schemas()["ledger"]["schema"]["properties"]
    assert "secret_ref" not in schema and {"source", "workspace"} <= set(schema)
    first.assert_records_fit_schemas()


def test_timestamp_ms_filter_with_lookback(
    records_runs: tuple[Run, Run, list[Any]],
) -> None:
    """The bookmark goes back by lookback (PT1H) and is sent in Unix milliseconds."""
    first, second, requests = records_runs
    assert first.final_state["bookmarks"]["ledger"]["replication_key_value"] == (
        "2024-04-08T09:30:00+00:00"
    )
    ledger = [r for r in requests if r.path == "/lab/v1/ledger"]
    assert ledger[0].query["since_ms"] == ["1712565000000"]  # 2024-04-08T08:30Z
    assert second.ids("ledger") == [8]


def test_client_side_filter(records_runs: tuple[Run, Run, list[Any]]) -> None:
    """client_filter: the API returns everything; the tap drops what is older."""
    first, second, requests = records_runs
    assert first.ids("ledger_all") == list(range(1, 9))
    assert second.ids("ledger_all") == [8]  # at the bookmark: at least once
    assert all(r.query == {} for r in requests if r.path == "/lab/v1/ledger-all")


def test_iso8601_filter(records_runs: tuple[Run, Run, list[Any]]) -> None:
    """date_format: iso8601 sends the bookmark as ...Z."""
    _, second, requests = records_runs
    sent = [r.query["since"] for r in requests if r.path == "/lab/v1/ledger-iso"]
    assert sent == [["2024-04-08T09:30:00Z"]]
    assert second.ids("ledger_iso") == [8]


def test_error_rules_ignore_and_retry(records_runs: tuple[Run, Run, list[Any]]) -> None:
    """A 404 on a deleted child is ignored with a warning; a 409 is retried."""
    first, _, _ = records_runs
    assert first.ids("members") == [11, 12, 31]
    assert (
        "ignoring HTTP 404" in first.stderr and "the team was deleted" in first.stderr
    )
    assert first.ids("conflict") == [1]
    assert "HTTP 409" in first.stderr and "retrying" in first.stderr


def test_rate_limit_spaces_every_request(
    records_runs: tuple[Run, Run, list[Any]],
) -> None:
    """rate_limit: 50 requests per second keeps requests about 20 ms apart.

    Arrival times are taken in the server process, so scheduling may shift one
    arrival by a few milliseconds (making one gap shorter and the next longer);
    the span of all requests cannot shrink that way. Without the limit the gaps
    are about 1 ms.
    """
    _, _, requests = records_runs
    gaps = [b.at - a.at for a, b in itertools.pairwise(requests)]
    span = requests[-1].at - requests[0].at
    assert len(gaps) >= 5
    assert span >= 0.020 * len(gaps) - 0.010
    assert min(gaps) >= 0.008


def test_json_lines_responses(records_runs: tuple[Run, Run, list[Any]]) -> None:
    """response_format: application/x-ndjson reads one record per line."""
    first, _, _ = records_runs
    assert first.ids("lines") == [1, 2, 3, 4]


def test_error_rule_on_body_value(records_runs: tuple[Run, Run, list[Any]]) -> None:
    """A 400 whose body says busy is retried (rule with body_path/body_value)."""
    first, _, _ = records_runs
    assert first.ids("busy") == [3]
    assert "the API said busy" in first.stderr


def test_rate_limit_reset_header_is_honoured(
    records_runs: tuple[Run, Run, list[Any]],
) -> None:
    """A 429 with X-RateLimit-Reset: 1 is retried after that second."""
    first, _, _ = records_runs
    assert first.ids("throttled") == [2]
    assert "attempt 1 failed (429); retrying in 1.00 s" in first.stderr


def test_error_rule_fail_with_message(
    feature_tap: Callable[[str], InstalledTap], tmp_path: Path
) -> None:
    """action: fail stops at once with the spec's message."""
    with DemoServer() as server:
        config = {
            "token": demo_config("lab", server.url)["token"],
            "api_url": server.url + "/lab/v1",
        }
        run = feature_tap("lab_fail").run(config=config, workdir=tmp_path)
        assert len(server.requests) == 1
    assert run.returncode == 1
    last = [line for line in run.stderr.splitlines() if "ERROR" in line][-1]
    assert "HTTP 403" in last and "ask an admin for the reports:read scope" in last


@pytest.mark.parametrize(
    ("stream", "reason"),
    [
        ("events", "the response holds no next cursor"),
        ("capped", "the page had no records"),
        ("articles", "the response gives no next URL"),
        ("tags", "the response gives no next URL"),
        ("reports_has_more", "$.has_more is false"),
        ("reports_total_pages", "all 4 pages ($.total_pages) read"),
        ("reports_total", "all 10 records ($.total) read"),
        ("reports_max_pages", "max_pages (2) reached"),
        ("feed_has_more", "$.has_more is false"),
        ("feed_total", "all 10 records ($.total) read"),
        ("feed_next_url", "$.has_more is false"),
        ("feed_links", "all 2 pages ($.total_pages) read"),
    ],
)
def test_preview_says_why_paging_stopped(stream: str, reason: str) -> None:
    """preview names each new pagination option's stop reason."""
    from tap_builder import load_spec, validate_spec
    from tap_builder.commands.preview import run_stream

    connector = validate_spec(load_spec(FEATURES / "lab.yaml"))
    with DemoServer() as server:
        result = run_stream(
            connector, stream, demo_config("lab", server.url), limit=None
        )
    assert result.stop_reason == reason


def test_oauth2_client_credentials(
    feature_tap: Callable[[str], InstalledTap], tmp_path: Path
) -> None:
    """One token request (Basic client auth, scope, extra field), reused by streams."""
    from tap_builder.demo import lab

    lab.reset_tokens()
    with DemoServer() as server:
        config = {
            "client_id": lab.CLIENT_ID,
            "client_secret": lab.CLIENT_SECRET,
            "api_url": server.url + "/lab/v1",
        }
        run = feature_tap("lab_oauth").run(config=config, workdir=tmp_path)
        requests = server.requests
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.ids("secure") == [1, 2, 3] and run.ids("secure_again") == [1, 2, 3]
    token_requests = [r for r in requests if r.path == "/lab/v1/oauth/token"]
    assert len(token_requests) == 1
    assert token_requests[0].headers["authorization"].startswith("Basic ")
    assert token_requests[0].body == {
        "grant_type": "client_credentials",
        "audience": "lab",
        "scope": "read",
    }
    api = [r for r in requests if r.path == "/lab/v1/secure"]
    assert {r.headers["authorization"] for r in api} == {"Bearer at-1"}
    assert lab.CLIENT_SECRET not in run.stdout + run.stderr
    assert "at-1" not in run.stderr  # access tokens are secrets too


def test_oauth2_rotated_refresh_token_is_kept(
    feature_tap: Callable[[str], InstalledTap], tmp_path: Path
) -> None:
    """The rotated refresh token goes to refresh_token_file; the next run uses it."""
    from tap_builder.demo import lab

    lab.reset_tokens()
    token_file = tmp_path / "refresh.json"
    tap = feature_tap("lab_refresh")
    with DemoServer() as server:
        config = {
            "client_id": lab.CLIENT_ID,
            "client_secret": lab.CLIENT_SECRET,
            "refresh_token": lab.FIRST_REFRESH_TOKEN,
            "refresh_token_file": str(token_file),
            "api_url": server.url + "/lab/v1",
        }
        first = tap.run(config=config, workdir=tmp_path)
        assert first.returncode == 0, first.stderr[-2000:]
        assert json.loads(token_file.read_text()) == {"refresh_token": "rt-1"}
        assert oct(token_file.stat().st_mode & 0o777) == "0o600"
        second = tap.run(config=config, workdir=tmp_path)  # config still says rt-0
        assert second.returncode == 0, second.stderr[-2000:]
        assert json.loads(token_file.read_text()) == {"refresh_token": "rt-2"}
        without_file = {k: v for k, v in config.items() if k != "refresh_token_file"}
        lost = tap.run(config=without_file, workdir=tmp_path)
    assert second.ids("secure") == [1, 2, 3]
    assert lost.returncode == 1
    last = [line for line in lost.stderr.splitlines() if "ERROR" in line][-1]
    assert "the OAuth2 token request" in last and "HTTP 400" in last
    assert "check the settings client_id, client_secret, refresh_token" in last.lower()
    assert "rt-0" not in lost.stderr and lab.CLIENT_SECRET not in lost.stderr


def test_session_login(
    feature_tap: Callable[[str], InstalledTap], tmp_path: Path
) -> None:
    """One login POST; its token goes in the configured header with its prefix."""
    from tap_builder.demo import lab

    with DemoServer() as server:
        config = {
            "username": lab.USERNAME,
            "password": lab.PASSWORD,
            "api_url": server.url + "/lab/v1",
        }
        run = feature_tap("lab_session").run(config=config, workdir=tmp_path)
        requests = server.requests
        config["password"] = "wrong-password"
        failed = feature_tap("lab_session").run(config=config, workdir=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.ids("secure") == [1, 2, 3]
    logins = [r for r in requests if r.path == "/lab/v1/login"]
    assert len(logins) == 1 and logins[0].body == {
        "username": lab.USERNAME,
        "password": lab.PASSWORD,
    }
    api = [r for r in requests if r.path == "/lab/v1/secure"]
    assert api[0].headers["authorization"].startswith("Session at-")
    assert failed.returncode == 1
    last = [line for line in failed.stderr.splitlines() if "ERROR" in line][-1]
    assert (
        "the login" in last
        and "HTTP 401" in last
        and "wrong-password" not in failed.stderr
    )


def test_children_of_changed_parents_and_global_child_state(
    feature_tap: Callable[[str], InstalledTap], tmp_path: Path
) -> None:
    """sync_children: changed skips unchanged parents; state: global: one bookmark."""
    from tap_builder.demo import lab

    lab.reset_projects()
    tap = feature_tap("lab_parents")
    try:
        with DemoServer() as server:
            config = {"token": "lab-demo-token", "api_url": server.url + "/lab/v1"}
            first = tap.run(config=config, workdir=tmp_path)
            assert first.returncode == 0, first.stderr[-2000:]
            lab.bump_project(2)
            server.clear_requests()
            second = tap.run(config=config, state=first.final_state, workdir=tmp_path)
            assert second.returncode == 0, second.stderr[-2000:]
            requests = server.requests
    finally:
        lab.reset_projects()
    assert first.ids("projects") == [1, 2, 3] and first.ids("tasks") == [101, 201, 301]
    tasks_state = first.final_state["bookmarks"]["tasks"]
    assert "partitions" not in tasks_state
    assert tasks_state["replication_key_value"] == "2024-05-03T01:00:00Z"
    # Second run: project 3 comes again (at the bookmark) but did not change;
    # project 2 changed, so only its tasks are requested.
    assert second.ids("projects") == [2, 3]
    task_paths = [r.path for r in requests if r.path.endswith("/tasks")]
    assert task_paths == ["/lab/v1/projects/2/tasks"]
    assert second.ids("tasks") == [202]
    # Grandchildren: comments of each synced task, with both context keys.
    assert first.ids("comments") == [1011, 1012, 2011, 2012, 3011, 3012]
    assert {(c["project_id"], c["task_id"]) for c in first.records("comments")} == {
        (1, 101), (2, 201), (3, 301)
    }  # fmt: skip
    assert second.ids("comments") == [2021, 2022]


def test_date_windows_commit_each_slice(
    feature_tap: Callable[[str], InstalledTap], tmp_path: Path
) -> None:
    """window + end_param: contiguous 90-day slices to now, a bookmark after each."""
    import datetime as dt

    with DemoServer() as server:
        config = {
            "token": "lab-demo-token",
            "api_url": server.url + "/lab/v1",
            "start_date": "2024-03-01T00:00:00Z",
        }
        run = feature_tap("lab_windows").run(config=config, workdir=tmp_path)
        requests = server.requests
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.ids("range") == ALL_IDS  # each record once
    slices = [(r.query["from"][0], r.query["to"][0]) for r in requests]
    assert slices[0] == ("2024-03-01T00:00:00Z", "2024-05-30T00:00:00Z")
    assert all(a[1] == b[0] for a, b in itertools.pairwise(slices))
    last_end = dt.datetime.fromisoformat(slices[-1][1])
    assert dt.datetime.now(dt.UTC) - last_end < dt.timedelta(minutes=5)
    states = [
        m["value"]["bookmarks"]["range"] for m in run.messages if m["type"] == "STATE"
    ]
    assert (
        states[0]["replication_key_value"] == "2024-05-30T00:00:00+00:00"
    )  # after slice 1
    assert len(states) >= len(slices)
    # the bookmark never moves backwards, and ends at the last slice's end (not
    # at the newest record, which is older: that would re-request a range)
    marks = [dt.datetime.fromisoformat(s["replication_key_value"]) for s in states]
    assert marks == sorted(marks)
    assert marks[-1] == last_end
    assert all("progress_markers" not in s for s in states)
