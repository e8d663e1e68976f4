"""``tap-builder preview`` prints nothing an API could use against the terminal,
and no credential.

A small API on 127.0.0.1 answers records whose values and keys hold terminal
escape sequences (clear screen, window title, carriage return, C1 CSI,
bidirectional override, newline), a pagination cursor header holding one, an
error body full of them, and next-page URLs (in the body and in ``Link``
headers) carrying the API key, under its own name and under others. Preview's
whole output (text and ``--json``) must hold no control character but its own
line breaks, show the API's text escaped, and show no form of any credential.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

import pytest

from tap_builder import load_spec, validate_spec
from tap_builder.cli import main
from tap_builder.commands.preview import run_stream, safe_text

KEY = 'k3y s/"é-apikey'  # a secret setting, sent as the query's api_key
TOKEN = 'tk3n v/"é-token'  # NOT marked secret, but sent in the Authorization header

#: Characters a terminal acts on (a newline is allowed: preview lays out lines).
UNSAFE = re.compile(
    r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e"
    r"\u2066-\u2069]"
)

HOSTILE_RECORD = {
    "id": 1,
    "a": "\x1b[2Jclr",
    "b": "\x1b]0;ttl\x07",
    "c": "r\rFAKE",
    "d": "\x9b31m",
    "e": "\u202eevil",
    "f": "n\nINJECTED: ok",
    "\x1b[31mk": "v",
}
#: How each hostile value must show (escaped, visible).
SHOWN = ["\\x1b[2Jclr", "\\x1b]0;ttl\\x07", "r\\rFAKE", "\\x9b31m", "\\u202eevil"]


# --------------------------------------------------------------------------- #
# The API
# --------------------------------------------------------------------------- #

Answer = tuple[int, dict[str, str], Any]


def _hostile(handler: BaseHTTPRequestHandler, query: dict[str, str]) -> Answer:
    if handler.headers.get("X-Cursor"):  # the second page
        return 200, {}, {"things": [{"id": "\x9b2J", "a": "second"}]}
    return 200, {"X-Next": "\x1b[1mc2"}, {"things": [HOSTILE_RECORD]}


def _broken(handler: BaseHTTPRequestHandler, query: dict[str, str]) -> Answer:
    text = "\x1b[2J\x1b]0;pwned\x07 bad request\r\nFAKE: all good \x9b"
    return 400, {"Content-Type": "text/plain"}, text


def _keyed(handler: BaseHTTPRequestHandler, query: dict[str, str]) -> Answer:
    """Next pages whose URLs carry the key, as api_key and under other names."""
    host = f"http://127.0.0.1:{handler.server.server_address[1]}"
    if query.get("page") == "2":
        return 200, {}, {"data": [{"id": 2, "a": "page two"}]}
    key, token = quote_plus(KEY), quote(TOKEN, safe="")
    url = f"{host}/v1/keyed?page=2&api_key={key}&sig=x{key}&access={token}"
    return 200, {"Link": f'<{url}>; rel="next"'}, {"data": [{"id": 1}], "next": url}


def _echo(handler: BaseHTTPRequestHandler, query: dict[str, str]) -> Answer:
    """Records echoing the credentials the request carried."""
    if query.get("page") == "2":
        return 200, {}, {"data": [{"id": 2, "a": handler.path}]}
    auth = handler.headers.get("Authorization", "")
    record = {"id": 1, "a": auth, "b": handler.path}
    nxt = f"/v1/echo?page=2&access={quote(TOKEN, safe='')}"
    return 200, {}, {"data": [record], "next": nxt}


ROUTES: dict[str, Callable[[BaseHTTPRequestHandler, dict[str, str]], Answer]] = {
    "/v1/things": _hostile,
    "/v1/broken": _broken,
    "/v1/keyed": _keyed,
    "/v1/linked": _keyed,
    "/v1/echo": _echo,
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        route = ROUTES.get(parts.path)
        if route is None:
            status, headers, body = 404, {}, {"error": "no such path"}
        else:
            status, headers, body = route(self, dict(parse_qsl(parts.query)))
        data = (body if isinstance(body, str) else json.dumps(body)).encode("utf-8")
        self.send_response(status)
        self.send_header(
            "Content-Type", headers.pop("Content-Type", "application/json")
        )
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def api() -> Iterator[str]:
    """The API on 127.0.0.1 (a free port), in a daemon thread, stopped after."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=10)


# --------------------------------------------------------------------------- #
# Specs and helpers
# --------------------------------------------------------------------------- #

SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        **{name: {"type": "string"} for name in "abcdef"},
    },
}


def _stream(stream_id: str, selector: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": stream_id.title(),
        "id": stream_id,
        "path": f"/{stream_id}",
        "primary_key": "id",
        "records_selector": selector,
        "schema": SCHEMA,
        **extra,
    }


def _write_spec(tmp_path: Path, authentication: dict[str, Any], **params: Any) -> Path:
    spec = {
        "name": "Hostile Lab",
        "tap_id": "hostile-lab",
        "base_url": "https://api.example.com/v1",
        "authentication": authentication,
        "parameters": [
            {"name": name, "secret": secret} for name, secret in params.items()
        ],
        "streams": [
            _stream(
                "things",
                "$.things[*]",
                pagination={
                    "type": "cursor",
                    "next_cursor_header": "X-Next",
                    "location": "header",
                    "param": "X-Cursor",
                },
            ),
            _stream("broken", "$.data[*]"),
            _stream(
                "keyed",
                "$.data[*]",
                pagination={"type": "next_url", "next_url": "$.next"},
            ),
            _stream("linked", "$.data[*]", pagination={"type": "link_header"}),
            _stream(
                "echo",
                "$.data[*]",
                pagination={"type": "next_url", "next_url": "$.next"},
            ),
        ],
    }
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    return path


def _query_key_spec(tmp_path: Path) -> Path:
    """The key in the query (api_key), a secret setting."""
    auth = {
        "type": "api_key",
        "location": "query",
        "name": "api_key",
        "value": "{config.api_key}",
    }
    return _write_spec(tmp_path, auth, api_key=True)


def _header_token_spec(tmp_path: Path) -> Path:
    """A header built from a setting that is not marked secret."""
    auth = {
        "type": "api_key",
        "location": "header",
        "name": "Authorization",
        "value": "Token {config.account_token}",
    }
    return _write_spec(tmp_path, auth, account_token=False)


def _preview(
    spec: Path,
    stream: str,
    config: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    *extra: str,
) -> tuple[int, str]:
    config_file = spec.parent / "config.json"
    config_file.write_text(json.dumps(config), encoding="utf-8")
    argv = ["preview", str(spec), "--stream", stream, "--config", str(config_file)]
    code = main([*argv, *extra])
    out, err = capsys.readouterr()
    return code, out + err


def _assert_printable(output: str) -> None:
    found = sorted({repr(char) for char in UNSAFE.findall(output)})
    assert not found, f"control characters reached the terminal: {found}"


def _forms(value: str) -> set[str]:
    forms = {
        value,
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
    }
    for safe in ("", "/"):
        forms |= {quote(value, safe=safe), quote_plus(value, safe=safe)}
    return forms | {f.lower() for f in forms if "%" in f}


def _assert_no_credential(output: str, *secrets: str) -> None:
    for secret in secrets:
        for form in _forms(secret):
            assert form not in output, f"{form!r} was printed"
        stem = secret.split()[0]  # no form of a secret can appear without it
        assert stem not in output, f"{stem!r} (a secret's stem) was printed"


# --------------------------------------------------------------------------- #
# Tests
# --------------------------------------------------------------------------- #


def test_safe_text_escapes_everything_a_terminal_interprets() -> None:
    """C0, ESC, DEL, C1, bidi controls, separators and surrogates come out escaped;
    ordinary text (accents, emoji, backslashes) is kept."""
    assert safe_text("\x1b[2J\x1b]0;t\x07\r\n\t\x00\x7f\x9b") == (
        "\\x1b[2J\\x1b]0;t\\x07\\r\\n\\t\\x00\\x7f\\x9b"
    )
    assert safe_text("\u202eabc\u2066\u2028\ud800") == "\\u202eabc\\u2066\\u2028\\ud800"
    assert safe_text('café 🎉 C:\\dir "q"') == 'café 🎉 C:\\dir "q"'


def test_preview_escapes_control_characters_from_the_api(
    api: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Record values and keys, a cursor header, schema problems: all shown escaped,
    in the text report and with --json."""
    spec = _query_key_spec(tmp_path)
    config = {"api_key": KEY, "api_url": api}
    code, output = _preview(spec, "things", config, capsys)
    assert code == 0, output
    _assert_printable(output)
    for shown in SHOWN:
        assert shown in output
    assert "n\\nINJECTED: ok" in output
    assert not any(
        line.startswith(("INJECTED", "FAKE")) for line in output.splitlines()
    )
    assert "X-Cursor: \\x1b[1mc2" in output  # the cursor header from the API
    assert "\\x1b[31mk" in output  # a field the schema lacks, named
    assert "\\x9b2J" in output  # a schema problem's value
    _assert_no_credential(output, KEY)

    code, output = _preview(spec, "things", config, capsys, "--json")
    assert code == 0, output
    _assert_printable(output)
    # --json is data: escaped as JSON (nothing raw reaches the terminal), and it
    # decodes back to exactly what the API sent, not to a double-escaped text
    records = [json.loads(line) for line in output.splitlines() if line[:1] == "{"]
    expected = {k: v for k, v in HOSTILE_RECORD.items() if k != "\x1b[31mk"}
    assert records[0] == expected  # (the schema lacks that field: the tap drops it)
    assert "\\u001b[2Jclr" in output and "\\u009b31m" in output


def test_preview_error_from_the_api_is_one_escaped_line(
    api: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An error body full of escape sequences: exit 1, one line, escaped."""
    spec = _query_key_spec(tmp_path)
    code, output = _preview(spec, "broken", {"api_key": KEY, "api_url": api}, capsys)
    assert code == 1
    _assert_printable(output)
    assert len(output.strip().splitlines()) == 1, output
    assert "HTTP 400" in output and "\\x1b[2J" in output
    _assert_no_credential(output, KEY)


@pytest.mark.parametrize("stream", ["keyed", "linked"])
def test_preview_masks_keys_in_next_page_urls(
    stream: str, api: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A next-page URL (body or Link header) carrying the key under its own name
    and others: every such query value shows as ***, in URLs and decisions."""
    spec = _query_key_spec(tmp_path)
    code, output = _preview(spec, stream, {"api_key": KEY, "api_url": api}, capsys)
    assert code == 0, output
    _assert_no_credential(output, KEY)
    decision = next(line for line in output.splitlines() if "next page:" in line)
    assert "api_key=***" in decision and "sig=***" in decision
    assert output.count("api_key=***") >= 3  # two requests and the decision
    _assert_printable(output)


def test_preview_masks_settings_used_by_authentication(
    api: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A setting not marked secret but used to authenticate is a credential: the
    API echoing it (in records, URLs, next pages) never gets it printed."""
    spec = _header_token_spec(tmp_path)
    config = {"account_token": TOKEN, "api_url": api}
    code, output = _preview(spec, "echo", config, capsys)
    assert code == 0, output
    _assert_no_credential(output, TOKEN)
    assert "access=***" in output and "Token ***" in output
    _assert_printable(output)

    connector = validate_spec(load_spec(spec))
    result = run_stream(connector, "echo", config)
    assert result.records[0]["a"] == "Token ***"
    assert all("access=***" in entry.url for entry in result.requests[1:])
