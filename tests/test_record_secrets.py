"""``tap-builder record`` writes fixtures that hold no credential, in any form.

A small API on 127.0.0.1 echoes every request it gets (path and query, the
Authorization header, the body, and all of that again as a JSON string inside
the JSON) and sends a next-page URL and a ``Link`` header carrying the key. The
spec uses a secret in a query parameter, another in a POST body, and builds the
bearer token from a parameter that is not marked secret; a second spec uses
Basic authentication. Every secret holds a space, a slash, a double quote and a
non-ASCII character, so that each encoding differs. The fixture file must hold
none of them in any form; the package's replay server must still answer every
request the tap makes with the recorded placeholder config.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

import pytest

from tap_builder import load_spec, render_package, validate_spec
from tap_builder.cli import main
from tap_builder.commands.inprocess import generated_tap, tap_class
from tap_builder.commands.preview import CapturingWriter
from tap_builder.commands.record import (
    FIXTURES_PATH,
    SECRET_PLACEHOLDER,
    record_fixtures,
)
from tap_builder.write import write_package

QUERY_SECRET = 'qs3cr et/"é-query'
BODY_SECRET = 'bs3cr et/"é-body'
TOKEN = 'tk3n v/"é-bearer'  # a parameter that is NOT marked secret
USER = 'us3r n/"é-name'  # Basic username: not marked secret either
PASSWORD = 'pw3rd p/"é-word'
#: Each secret's stem: no form of a secret can appear without it.
STEMS = ("qs3cr", "bs3cr", "tk3n", "us3r", "pw3rd")

SCHEMA = {
    "type": "object",
    "properties": {"id": {"type": "integer"}, "echo": {"type": "string"}},
}


# --------------------------------------------------------------------------- #
# The API: echoes each request back, and hands out next pages carrying the key
# --------------------------------------------------------------------------- #


class _EchoAPI(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10

    def _answer(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8") if length else ""
        seen = {
            "path": self.path,
            "query": dict(parse_qsl(parts.query)),
            "authorization": self.headers.get("Authorization", ""),
            "body": body,
        }
        # The request as JSON data, and as a JSON string inside the JSON.
        echo = json.dumps(seen)
        query = dict(parse_qsl(parts.query))
        page = int(query.get("page", "1"))
        link = ""
        payload: dict[str, Any]
        if parts.path == "/v1/items":
            payload = {"items": [{"id": page, "echo": echo, "seen": seen}]}
            if page == 1:
                key = quote_plus(QUERY_SECRET)
                token = quote(TOKEN, safe="")
                host = f"http://127.0.0.1:{self.server.server_address[1]}"
                payload["next"] = f"/v1/items?page=2&key={key}&t={token}"
                link = f'<{host}/v1/items?page=2&key={quote(QUERY_SECRET)}>; rel="next"'
        elif parts.path == "/v1/search" and self.command == "POST":
            payload = {"results": [{"id": 7, "echo": echo, "seen": seen}]}
        elif parts.path == "/v1/me":
            payload = {"me": [{"id": 1, "echo": echo, "seen": seen}]}
        else:
            payload = {"error": f"unknown {parts.path}"}
        data = json.dumps(payload).encode("utf-8")
        self.send_response(200 if "error" not in payload else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if link:
            self.send_header("Link", link)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def log_message(self, *args: Any) -> None:
        pass


class EchoAPI:
    """The echoing API on 127.0.0.1 (a free port), in a daemon thread."""

    def __init__(self) -> None:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _EchoAPI)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"
        self._running = True

    def stop(self) -> None:
        """Stop serving (the replay must then do without the API)."""
        if self._running:
            self._running = False
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(timeout=10)


@pytest.fixture
def echo_api() -> Iterator[EchoAPI]:
    """The API, stopped after the test at the latest."""
    api = EchoAPI()
    yield api
    api.stop()


# --------------------------------------------------------------------------- #
# Specs and helpers
# --------------------------------------------------------------------------- #


def _bearer_spec() -> dict[str, Any]:
    return {
        "name": "Secret Lab",
        "tap_id": "secret-lab",
        "base_url": "https://api.example.com/v1",
        "authentication": {"type": "bearer", "token": "{config.account_token}"},
        "parameters": [
            {"name": "account_token"},
            {"name": "api_secret", "secret": True},
            {"name": "body_secret", "secret": True},
            {"name": "region", "required": False, "default": "eu"},
        ],
        "streams": [
            {
                "name": "Items",
                "id": "items",
                "path": "/items",
                "primary_key": "id",
                "query_params": {
                    "key": "{config.api_secret}",
                    "q": "owner:{config.api_secret} region:{config.region}",
                },
                "pagination": {"type": "next_url", "next_url": "$.next"},
                "records_selector": "$.items[*]",
                "schema": SCHEMA,
            },
            {
                "name": "Search",
                "id": "search",
                "path": "/search",
                "method": "POST",
                "primary_key": "id",
                "body": {
                    "filter": {
                        "token": "{config.body_secret}",
                        "tags": ["plain", "tag {config.body_secret}"],
                    },
                    "owner": "{config.account_token}",
                },
                "records_selector": "$.results[*]",
                "schema": SCHEMA,
            },
        ],
    }


def _basic_spec() -> dict[str, Any]:
    return {
        "name": "Basic Lab",
        "tap_id": "basic-lab",
        "base_url": "https://api.example.com/v1",
        "authentication": {
            "type": "basic",
            "username": "{config.user}",
            "password": "{config.password}",
        },
        "parameters": [{"name": "user"}, {"name": "password", "secret": True}],
        "streams": [
            {
                "name": "Me",
                "id": "me",
                "path": "/me",
                "primary_key": "id",
                "records_selector": "$.me[*]",
                "schema": SCHEMA,
            }
        ],
    }


def _forms(value: str) -> set[str]:
    """Every form a secret may take in a fixture file."""
    forms = {
        value,
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
    }
    for safe in ("", "/"):
        forms |= {quote(value, safe=safe), quote_plus(value, safe=safe)}
    forms |= {re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), f) for f in forms}
    forms |= {json.dumps(f)[1:-1] for f in list(forms)}  # inside a JSON string
    return forms


def _basic_forms(user: str, password: str) -> set[str]:
    pair = f"{user}:{password}"
    encoded = {
        base64.b64encode(pair.encode(encoding)).decode("ascii")
        for encoding in ("utf-8", "latin-1")
    }
    return encoded | {quote(e, safe="") for e in encoded}


def _assert_no_secret(
    text: str, secrets: list[str], extra: set[str] | None = None
) -> None:
    for secret in secrets:
        for form in _forms(secret):
            assert form not in text, f"{form!r} of {secret!r} is in the fixtures"
    for form in extra or set():
        assert form not in text, f"{form!r} is in the fixtures"
    for stem in STEMS:
        assert stem not in text, f"{stem!r} (a secret's stem) is in the fixtures"


def _package(spec: dict[str, Any], tmp_path: Path) -> tuple[Any, Path]:
    """The validated spec and its generated package (not installed)."""
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(spec), encoding="utf-8")
    connector = validate_spec(load_spec(spec_file))
    package = tmp_path / "pkg"
    write_package(render_package(connector), package)
    return connector, package


def _replay_module(package: Path) -> ModuleType:
    path = package / "tests" / "replay.py"
    spec = importlib.util.spec_from_file_location(f"replay_{id(path)}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _replayed_records(connector: Any, package: Path) -> dict[str, list[Any]]:
    """Run the tests' dry run against the package's replay server (no API)."""
    replay = _replay_module(package)
    started = replay.fixture_config()
    assert started is not None
    config, max_records = started
    try:
        with generated_tap(connector) as module:
            writer = CapturingWriter()
            tap = tap_class(module)(
                config=config, parse_env_config=False, message_writer=writer
            )
            tap.run_sync_dry_run(dry_run_record_limit=max_records)
    finally:
        replay.SERVERS[-1].shutdown()
        replay.SERVERS[-1].server_close()
    records: dict[str, list[Any]] = {}
    for message in writer.messages:
        if message["type"] == "RECORD":
            records.setdefault(message["stream"], []).append(message["record"]["id"])
    return records


# --------------------------------------------------------------------------- #
# Tests
# --------------------------------------------------------------------------- #


def test_record_keeps_query_body_and_auth_secrets_out_of_fixtures(
    echo_api: EchoAPI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Secrets in query, body, bearer auth (from a non-secret setting), echoes and
    next-page URLs: no form of any reaches the file; replay still answers."""
    connector, package = _package(_bearer_spec(), tmp_path)
    config = {
        "account_token": TOKEN,
        "api_secret": QUERY_SECRET,
        "body_secret": BODY_SECRET,
        "api_url": echo_api.url,
        "request_timeout": 20,
    }
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config), encoding="utf-8")
    code = main(
        [
            "record",
            str(tmp_path / "spec.json"),
            "--config",
            str(config_file),
            "-o",
            str(package),
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "recorded 3 responses" in out
    text = (package / FIXTURES_PATH).read_text(encoding="utf-8")
    _assert_no_secret(text, [QUERY_SECRET, BODY_SECRET, TOKEN])

    data = json.loads(text)
    for name in ("account_token", "api_secret", "body_secret"):
        assert data["config"][name] == SECRET_PLACEHOLDER
    assert data["config"]["request_timeout"] == 20 and "api_url" not in data["config"]
    by_path = {
        (e["method"], e["path"], json.dumps(e["query"])): e for e in data["exchanges"]
    }
    first = by_path[
        "GET", "/items", json.dumps([["key", "***"], ["q", "owner:*** region:eu"]])
    ]
    assert first["link"] is not None and "key=***" in first["link"]
    assert "***" in json.loads(first["response"])["next"]
    search = next(e for e in data["exchanges"] if e["method"] == "POST")
    assert search["body"] == {
        "filter": {"token": "***", "tags": ["plain", "tag ***"]},
        "owner": "***",
    }
    assert json.loads(search["response"])["results"][0]["seen"]["authorization"] == (
        "Bearer ***"
    )

    # Offline: the replay server answers every request of the placeholder run.
    echo_api.stop()
    assert _replayed_records(connector, package) == {"items": [1, 2], "search": [7]}


def test_record_masks_basic_credentials_in_every_form(
    echo_api: EchoAPI, tmp_path: Path
) -> None:
    """Basic auth from a non-secret user and a secret password: neither value nor
    the base64 header value reaches the fixtures, even when the API echoes it."""
    connector, package = _package(_basic_spec(), tmp_path)
    config = {"user": USER, "password": PASSWORD, "api_url": echo_api.url}
    fixtures = record_fixtures(connector, config)
    echo_api.stop()
    target = package / FIXTURES_PATH
    target.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(fixtures, ensure_ascii=False, indent=2)
    target.write_text(text + "\n", encoding="utf-8")
    encoded = _basic_forms(USER, PASSWORD)
    (exchange,) = fixtures["exchanges"]
    echoed = json.loads(exchange["response"])["me"][0]["seen"]["authorization"]
    assert echoed == "Basic ***"  # the API did echo the header: it was masked
    _assert_no_secret(text, [USER, PASSWORD], encoded)
    assert fixtures["config"]["user"] == SECRET_PLACEHOLDER
    assert fixtures["config"]["password"] == SECRET_PLACEHOLDER
    assert _replayed_records(connector, package) == {"me": [1]}


def test_replay_matches_masked_values_only_where_they_were_masked(
    tmp_path: Path,
) -> None:
    """*** in a recorded query value, path or body string stands for any text
    there; everything else still has to match exactly."""
    _, package = _package(_bearer_spec(), tmp_path)
    replay = _replay_module(package)
    assert replay._fits("owner:*** region:eu", "owner:fixture-secret region:eu")
    assert not replay._fits("owner:*** region:eu", "owner:x region:us")
    assert replay._fits({"a": "***", "b": [1, "t ***"]}, {"a": 5, "b": [1, "t x"]})
    assert not replay._fits({"a": "***", "b": [1, "t ***"]}, {"a": 5, "b": [2, "t x"]})
    assert not replay._fits({"a": "***"}, {"a": 1, "extra": 2})
    assert replay._query_fits([["k", "***"], ["p", "2"]], [["p", "2"], ["k", "v"]])
    assert not replay._query_fits([["k", "***"], ["p", "2"]], [["p", "3"], ["k", "v"]])
    assert not replay._query_fits([["k", "***"]], [["k", "v"], ["k", "w"]])


def test_generated_suite_passes_on_masked_fixtures(
    echo_api: EchoAPI, tmp_path: Path
) -> None:
    """The package's own SDK standard tests pass on the masked fixtures, offline
    (the echoing API is stopped by then; the package is not installed)."""
    connector, package = _package(_bearer_spec(), tmp_path)
    config = {
        "account_token": TOKEN,
        "api_secret": QUERY_SECRET,
        "body_secret": BODY_SECRET,
        "api_url": echo_api.url,
    }
    fixtures = record_fixtures(connector, config)
    echo_api.stop()
    target = package / FIXTURES_PATH
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(fixtures, ensure_ascii=False), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x"],
        cwd=package,
        env={**os.environ, "PYTHONPATH": str(package)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and " failed" not in result.stdout
