"""preview, live infer-schema and init: the builder's test, infer and create buttons."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tap_builder import load_spec, validate_spec
from tap_builder.cli import main
from tap_builder.commands.infer import infer_schema
from tap_builder.commands.init import Answers, ask, render_starter
from tap_builder.commands.preview import PreviewError, run_stream
from tap_builder.demo import DEMO_SPECS, DemoServer, demo_config
from tests.e2e import SAMPLES, InstalledTap

SampleTap = Callable[[str], InstalledTap]
ALL = 10_000  # a budget larger than any demo stream


def _connector(stem: str) -> Any:
    return validate_spec(load_spec(SAMPLES / f"{stem}.yaml"))


def _streams(stem: str) -> list[str]:
    return [s.id for s in _connector(stem).spec.streams]


CASES = [(stem, stream) for stem in DEMO_SPECS for stream in _streams(stem)]


@pytest.fixture(scope="module")
def full_syncs(
    sample_tap: SampleTap,
    demo_server: DemoServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Any]:
    """One full sync of each installed sample tap."""
    runs = {}
    for stem in DEMO_SPECS:
        workdir = tmp_path_factory.mktemp(f"sync-{stem}")
        run = sample_tap(stem).run(
            config=demo_config(stem, demo_server.url), workdir=workdir
        )
        assert run.returncode == 0, run.stderr[-2000:]
        runs[stem] = run
    return runs


@pytest.mark.slow
@pytest.mark.parametrize(("stem", "stream"), CASES)
def test_preview_records_equal_the_installed_taps(
    stem: str, stream: str, full_syncs: dict[str, Any], demo_server: DemoServer
) -> None:
    """Preview (no budget) emits exactly the installed tap's records and bookmark."""
    config = demo_config(stem, demo_server.url)
    result = run_stream(_connector(stem), stream, config, limit=None, parents=ALL)
    assert result.records == full_syncs[stem].records(stream)
    assert result.requests and result.stop_reason
    tap_bookmark = full_syncs[stem].final_state["bookmarks"].get(stream)
    if (
        result.replication_key
        and not _connector(stem).spec.stream(stream).parent_stream
    ):
        assert result.bookmark == tap_bookmark
    assert result.mismatches == []


@pytest.mark.slow
@pytest.mark.parametrize(("stem", "stream"), CASES)
def test_inferred_schema_accepts_every_synced_record(
    stem: str, stream: str, full_syncs: dict[str, Any], demo_server: DemoServer
) -> None:
    """A schema inferred from the demo API accepts every record of a full sync."""
    config = demo_config(stem, demo_server.url)
    result = run_stream(
        _connector(stem), stream, config, limit=None, pages=ALL, parents=ALL
    )
    schema = infer_schema(result.raw_records)
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    records = full_syncs[stem].records(stream)
    assert records
    for record in records:
        jsonschema.validate(record, schema, format_checker=checker)


def test_preview_limit_stops_paging(server: DemoServer) -> None:
    """--limit stops requesting pages once enough records came, and says so."""
    result = run_stream(
        _connector("aircall"), "calls", demo_config("aircall", server.url), limit=6
    )
    assert [r.query["page"] for r in server.requests] == [["1"], ["2"]]
    assert result.stop_reason == "preview limit of 6 records reached"
    assert [e.decision for e in result.requests] == [
        "next page: 2",
        result.requests[1].decision,
    ]
    assert result.bookmark == {
        "replication_key": "started_at",
        "replication_key_value": "2024-01-03T06:00:00+00:00",
    }


def test_preview_explains_each_stop(server: DemoServer) -> None:
    """Each paginator's stop reason reaches the report."""
    reasons = {
        ("chargebee", "customers"): "the response holds no next offset",
        ("clinic", "clients"): "the page had fewer records than the limit",
        ("aircall", "users"): "the page had no records",
        ("shopify", "orders"): "the stream makes a single request (no pagination)",
    }
    for (stem, stream), reason in reasons.items():
        config = demo_config(stem, server.url)
        assert (
            run_stream(_connector(stem), stream, config, limit=None).stop_reason
            == reason
        )


def test_preview_redacts_secrets(server: DemoServer) -> None:
    """Headers and URLs in the request log never show a secret."""
    config = demo_config("helpdesk", server.url)
    result = run_stream(_connector("helpdesk"), "tickets", config, limit=3)
    text = json.dumps([e.to_dict() for e in result.requests])
    assert config["api_key"] not in text and "api_key=***" in text
    config = demo_config("shopify", server.url)
    result = run_stream(_connector("shopify"), "products", config, limit=3)
    text = json.dumps([e.to_dict() for e in result.requests])
    assert config["access_token"] not in text


def test_preview_state_starts_from_a_bookmark(server: DemoServer) -> None:
    """--state: the filter carries the bookmark, only newer records come."""
    state = {
        "bookmarks": {
            "calls": {
                "replication_key": "started_at",
                "replication_key_value": "2024-01-31T09:00:00+00:00",
            }
        }
    }
    result = run_stream(
        _connector("aircall"), "calls", demo_config("aircall", server.url), state=state
    )
    assert [r["id"] for r in result.records] == [1011, 1012]


def test_preview_flags_records_that_do_not_fit(
    server: DemoServer, tmp_path: Path
) -> None:
    """A record that breaks the schema is reported with its field path and value."""
    spec = (
        (SAMPLES / "aircall.yaml")
        .read_text()
        .replace("duration: {type: integer}", "duration: {type: integer, maximum: 50}")
    )
    (tmp_path / "schemas").mkdir()
    shutil.copy(SAMPLES / "schemas" / "aircall_users.json", tmp_path / "schemas")
    (tmp_path / "aircall.yaml").write_text(spec)
    connector = validate_spec(load_spec(tmp_path / "aircall.yaml"))
    result = run_stream(connector, "calls", demo_config("aircall", server.url), limit=3)
    assert [(m.record, m.path, m.value) for m in result.mismatches] == [
        (2, "duration", 64),
        (4, "duration", 98),
    ]


# --------------------------------------------------------------------------- #
# The errors a user hits, through the command line
# --------------------------------------------------------------------------- #


def _cli_preview(
    tmp_path: Path,
    stem: str,
    config: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
) -> tuple[int, str]:
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config))
    stream = _streams(stem)[0]
    code = main(
        [
            "preview",
            str(SAMPLES / f"{stem}.yaml"),
            "--stream",
            stream,
            "--config",
            str(config_file),
        ]
    )
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err.strip()


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"api_token": "nope"}, "HTTP 401 Unauthorized"),
        ({"api_token": "nope"}, "check the settings api_id, api_token"),
        ({"api_url": "/nope/v1"}, "HTTP 404 Not Found for http://127.0.0.1"),
        ({"api_url": "/nope/v1"}, "/nope/v1/calls"),
        ({"api_url": "http://127.0.0.1:1/v1"}, "connection was refused"),
        ({"api_url": "http://no-such-host.invalid/v1"}, "its name does not resolve"),
        ({"api_id": None}, "the config lacks required settings: api_id"),
    ],
)
def test_preview_errors_are_one_clear_line(
    change: dict[str, Any],
    fragment: str,
    server: DemoServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """401, 404, unreachable, unresolvable and missing settings: exit 1, one line."""
    config = demo_config("aircall", server.url)
    for key, value in change.items():
        if value is None:
            config.pop(key)
        else:
            config[key] = server.url + value if str(value).startswith("/") else value
    code, err = _cli_preview(tmp_path, "aircall", config, capsys)
    assert code == 1
    assert len(err.splitlines()) == 1 and fragment in err
    assert "nope" not in err or "HTTP 404" in err


@pytest.fixture
def html_server() -> Iterator[str]:
    """A server that answers every request with an HTML page."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<html><body>Login required</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_non_json_body_shows_type_and_first_bytes(
    html_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A body that is not JSON: its content type and how it starts."""
    config = {**demo_config("aircall", html_server), "api_url": html_server + "/v1"}
    code, err = _cli_preview(tmp_path, "aircall", config, capsys)
    assert code == 1
    assert (
        "is not JSON (text/html; charset=utf-8)" in err and "<html><body>Login" in err
    )


def test_selector_matching_nothing_lists_top_level_keys(
    server: DemoServer, tmp_path: Path
) -> None:
    """An empty first page explains the selector and the keys it could have meant."""
    text = (SAMPLES / "aircall.yaml").read_text().replace('"$.calls[*]"', '"$.call[*]"')
    (tmp_path / "schemas").mkdir()
    shutil.copy(SAMPLES / "schemas" / "aircall_users.json", tmp_path / "schemas")
    (tmp_path / "aircall.yaml").write_text(text)
    connector = validate_spec(load_spec(tmp_path / "aircall.yaml"))
    result = run_stream(connector, "calls", demo_config("aircall", server.url))
    assert "'$.call[*]' matched nothing" in result.stop_reason
    assert "top-level keys are: calls, meta" in result.stop_reason


def test_unknown_stream_lists_the_streams(server: DemoServer) -> None:
    """A stream id that is not in the spec names the ones that are."""
    with pytest.raises(PreviewError, match="Streams: calls, users"):
        run_stream(_connector("aircall"), "cals", demo_config("aircall", server.url))


def test_preview_json_prints_records_as_lines(
    server: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--json: records on stdout as JSON Lines, the request log on stderr."""
    config_file = tmp_path / "c.json"
    config_file.write_text(json.dumps(demo_config("aircall", server.url)))
    code = main(
        [
            "preview",
            str(SAMPLES / "aircall.yaml"),
            "--stream",
            "users",
            "--config",
            str(config_file),
            "--limit",
            "5",
            "--json",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0
    assert [json.loads(line)["id"] for line in out.splitlines()] == [
        501,
        502,
        503,
        504,
        505,
    ]
    assert "GET http://127.0.0.1" in err and "paging stopped" in err


# --------------------------------------------------------------------------- #
# Live infer-schema --write
# --------------------------------------------------------------------------- #


def test_infer_write_updates_inline_schema_keeping_comments(
    server: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--write replaces the inline schema only; comments and other keys stay."""
    shutil.copytree(SAMPLES, tmp_path / "specs")
    spec = tmp_path / "specs" / "aircall.yaml"
    before = spec.read_text()
    config = tmp_path / "c.json"
    config.write_text(json.dumps(demo_config("aircall", server.url)))
    code = main(
        [
            "infer-schema",
            "--spec",
            str(spec),
            "--stream",
            "calls",
            "--config",
            str(config),
            "--write",
        ]
    )
    assert code == 0, capsys.readouterr().err
    after = spec.read_text()
    comments = [line for line in before.splitlines() if line.lstrip().startswith("#")]
    assert comments and all(line in after.splitlines() for line in comments)
    head = before.split("    schema:")[0]
    assert after.startswith(head)
    schema = validate_spec(load_spec(spec)).schemas["calls"]
    assert schema["properties"]["started_at"] == {
        "type": "string",
        "format": "date-time",
    }
    assert "required" in schema


def test_infer_write_updates_schema_file_and_hints(
    server: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A stream with schema_file gets that file rewritten; a key hint is shown."""
    shutil.copytree(SAMPLES, tmp_path / "specs")
    spec = tmp_path / "specs" / "aircall.yaml"
    config = tmp_path / "c.json"
    config.write_text(json.dumps(demo_config("aircall", server.url)))
    before = spec.read_text()
    assert (
        main(
            [
                "infer-schema",
                "--spec",
                str(spec),
                "--stream",
                "users",
                "--config",
                str(config),
                "--write",
            ]
        )
        == 0
    )
    assert spec.read_text() == before
    users = json.loads(
        (tmp_path / "specs" / "schemas" / "aircall_users.json").read_text()
    )
    assert users["properties"]["email"]["format"] == "email"
    capsys.readouterr()
    chargebee = tmp_path / "specs" / "chargebee.yaml"
    config.write_text(json.dumps(demo_config("chargebee", server.url)))
    assert (
        main(
            [
                "infer-schema",
                "--spec",
                str(chargebee),
                "--stream",
                "customers",
                "--config",
                str(config),
                "--pages",
                "1",
            ]
        )
        == 0
    )
    out, err = capsys.readouterr()
    assert "hint: the replication key 'updated_at' holds numbers" in err
    assert json.loads(out)["properties"]["updated_at"]["type"] == "integer"


# --------------------------------------------------------------------------- #
# init
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("auth", ["none", "api_key", "basic"])
def test_init_flags_write_a_valid_commented_spec(auth: str, tmp_path: Path) -> None:
    """init with flags only: a spec that validates, with guiding comments."""
    target = tmp_path / "spec.yaml"
    code = main(
        [
            "init",
            str(target),
            "--name",
            "Acme CRM",
            "--base-url",
            "https://api.acme.test/v2",
            "--auth",
            auth,
            "--stream-path",
            "/contacts",
            "--records-selector",
            "$.data[*]",
            "--no-input",
        ]
    )
    assert code == 0
    spec = validate_spec(load_spec(target)).spec
    assert spec.tap_id == "acme-crm" and spec.streams[0].id == "contacts"
    assert spec.authentication.type == auth
    assert "# " in target.read_text() and "infer-schema" in target.read_text()


def test_init_asks_and_reasks_closed_choices() -> None:
    """On a terminal each question is asked; a wrong choice is asked again."""
    replies = iter(
        [
            "Foo",
            "",
            "https://x.test",
            "bogus",
            "api_key",
            "query",
            "key",
            "/items",
            "",
            "",
            "$.items[*]",
            "-",
        ]
    )
    said: list[str] = []
    answers = ask(Answers(), lambda _: next(replies), said.append)
    assert answers.auth == "api_key" and answers.api_key_location == "query"
    assert answers.tap_id == "foo" and answers.stream_id == "items"
    assert answers.primary_key == "" and said == [
        "  please answer one of: none, api_key, basic, bearer, headers, oauth2, session"
    ]
    spec = render_starter(answers)
    assert 'location: "query"' in spec


def test_init_refuses_to_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An existing file is kept unless --force."""
    target = tmp_path / "spec.yaml"
    target.write_text("mine")
    assert (
        main(
            [
                "init",
                str(target),
                "--name",
                "X",
                "--base-url",
                "https://x.test",
                "--stream-path",
                "/a",
                "--no-input",
            ]
        )
        == 1
    )
    assert target.read_text() == "mine" and "--force" in capsys.readouterr().err


def test_init_hostile_answers_stay_data(tmp_path: Path) -> None:
    """Answers with quotes, newlines and YAML syntax become plain strings."""
    hostile = 'Evil "x"\nbase_url: http://evil\n# {{ x }} {% y %}'
    text = render_starter(
        Answers(
            name=hostile,
            tap_id="evil",
            base_url="https://ok.test",
            stream_path="/a",
            spec_file=str(tmp_path / "s.yaml"),
        )
    )
    spec = validate_spec(load_spec_text(text, tmp_path)).spec
    assert spec.name == hostile and spec.base_url == "https://ok.test"


def load_spec_text(text: str, tmp_path: Path) -> Any:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    return load_spec(path)


@pytest.mark.slow
def test_newcomer_walkthrough(
    server: DemoServer,
    tap_venv: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The README's path: init, preview, infer-schema --write, generate, sync."""
    spec = tmp_path / "my-aircall.yaml"
    assert (
        main(
            [
                "init",
                str(spec),
                "--name",
                "My Aircall",
                "--base-url",
                server.url + "/aircall/v1",
                "--auth",
                "basic",
                "--stream-path",
                "/calls",
                "--records-selector",
                "$.calls[*]",
                "--no-input",
            ]
        )
        == 0
    )
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps({"username": "demo-api-id", "password": "demo-api-token"})
    )
    capsys.readouterr()
    assert (
        main(["preview", str(spec), "--stream", "calls", "--config", str(config)]) == 0
    )
    assert "the tap drops: direction, duration" in capsys.readouterr().out
    assert (
        main(
            [
                "infer-schema",
                "--spec",
                str(spec),
                "--stream",
                "calls",
                "--config",
                str(config),
                "--write",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert (
        main(["preview", str(spec), "--stream", "calls", "--config", str(config)]) == 0
    )
    assert "the tap drops" not in capsys.readouterr().out
    from tests.e2e import install_tap

    tap = install_tap(spec, tmp_path / "tap-my-aircall", tap_venv)
    run = tap.run(config=json.loads(config.read_text()), workdir=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.ids("calls") == list(range(1001, 1013))
    assert run.records("calls")[0]["direction"] == "inbound"
    run.assert_records_fit_schemas()
