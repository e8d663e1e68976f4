"""The run-time module shipped in every generated tap: variables, dates, secrets,
and the base stream's error handling (HTTP faked with requests-mock)."""

from __future__ import annotations

import datetime as dt
import decimal
import os
import time
import typing as t
from pathlib import Path

import pytest
import requests
import requests_mock as rm
from singer_sdk import Tap
from singer_sdk import typing as th

import tap_builder.runtime.auth as runtime_auth
from tap_builder.runtime import budget, cli, jsonio, records, streams
from tap_builder.runtime.budget import retry_after_seconds
from tap_builder.runtime.dates import format_filter_value, unix_to_iso
from tap_builder.runtime.http import APIError
from tap_builder.runtime.secrets import redact, redact_url, register_secret
from tap_builder.runtime.streams import BuilderStream
from tap_builder.runtime.variables import (
    TemplateError,
    Variable,
    parse_template,
    render_data,
    render_fields,
    render_text,
    to_text,
)

# --------------------------------------------------------------------------- #
# Variables
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("plain", ("plain",)),
        ("{config.key}", (Variable("key", from_config=True),)),
        ("/c/{client_id}/x", ("/c/", Variable("client_id", from_config=False), "/x")),
        ("{{literal}}", ("{literal}",)),
        ("a{{b}}{config.x}c", ("a{b}", Variable("x", from_config=True), "c")),
        ("", ()),
    ],
)
def test_parse_template(text: str, parts: tuple[object, ...]) -> None:
    """Literal text, config and context variables, and doubled braces."""
    assert parse_template(text) == parts


@pytest.mark.parametrize(
    "text", ["{", "}", "a{b", "{config.}", "{1abc}", "{a b}", "x}y"]
)
def test_parse_template_rejects_lone_braces(text: str) -> None:
    """A brace that opens no variable is an error that says how to write one."""
    with pytest.raises(TemplateError, match="literal brace"):
        parse_template(text)


@pytest.mark.parametrize(
    ("value", "text"),
    [(5, "5"), (True, "true"), (False, "false"), (2.0, "2"), (0.1, "0.1"), (None, "")],
)
def test_to_text(value: object, text: str) -> None:
    """Values inside strings: digits, true/false, shortest numbers."""
    assert to_text(value) == text


def test_single_variable_keeps_json_type_in_body() -> None:
    """A body value that is exactly one variable keeps the setting's type."""
    config = {"size": 4, "flag": True, "name": "x"}
    body = {
        "a": "{config.size}",
        "b": ["{config.flag}", "n={config.size}"],
        "c": "{{x}}",
    }
    assert render_data(body, config) == {"a": 4, "b": [True, "n=4"], "c": "{x}"}


def test_unset_settings_drop_the_entry() -> None:
    """Query params, headers and body members on unset settings are not sent."""
    config = {"set": "yes"}
    fields = {
        "a": "{config.set}",
        "b": "{config.unset}",
        "c": 50,
        "d": "x-{config.unset}",
    }
    assert render_fields(fields, config) == {"a": "yes", "c": "50"}
    assert render_data({"a": "{config.unset}", "b": 1}, config) == {"b": 1}


def test_context_variables_render_from_context() -> None:
    """Bare variables come from the parent context."""
    assert render_text("/c/{id}/f", {}, {"id": 7}) == "/c/7/f"


# --------------------------------------------------------------------------- #
# Dates
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("value", "fmt", "expected"),
    [
        ("2024-02-01T14:30:00Z", "timestamp", 1706797800),
        ("2024-02-01T15:30:00+01:00", "timestamp", 1706797800),
        (1706797800, "%Y-%m-%d %H:%M:%S", "2024-02-01 14:30:00"),
        ("2024-02-01T14:30:00", "%Y-%m-%dT%H:%M:%SZ", "2024-02-01T14:30:00Z"),
        (decimal.Decimal("1706797800"), "timestamp", 1706797800),
    ],
)
def test_format_filter_value(value: object, fmt: str, expected: object) -> None:
    """Bookmarks become the filter format, in UTC."""
    assert format_filter_value(value, fmt) == expected


def test_dates_ignore_the_machine_time_zone() -> None:
    """Formatting gives the same text whatever TZ the machine runs in."""
    old = os.environ.get("TZ")
    try:
        os.environ["TZ"] = "Asia/Tokyo"
        time.tzset()
        assert format_filter_value(0, "%Y-%m-%d %H:%M") == "1970-01-01 00:00"
        assert format_filter_value("2024-01-01T00:00:00", "timestamp") == 1704067200
    finally:
        if old is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old
        time.tzset()


def test_unix_to_iso() -> None:
    """Unix seconds become ISO-8601 with an explicit UTC offset; text is kept."""
    assert unix_to_iso(1704067200) == "2024-01-01T00:00:00+00:00"
    assert unix_to_iso("2024-01-01T00:00:00Z") == "2024-01-01T00:00:00Z"
    assert unix_to_iso(True) is True


def test_retry_after_seconds_and_http_date() -> None:
    """Retry-After in seconds, as an HTTP date, or absent/invalid."""
    with rm.Mocker() as mock:
        future = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)
        date = future.strftime("%a, %d %b %Y %H:%M:%S GMT")
        mock.get("https://x/a", headers={"Retry-After": "3"})
        mock.get("https://x/b", headers={"Retry-After": date})
        mock.get("https://x/c", headers={"Retry-After": "soon"})
        import requests

        assert retry_after_seconds(requests.get("https://x/a", timeout=5)) == 3.0
        wait = retry_after_seconds(requests.get("https://x/b", timeout=5))
        assert wait is not None and 25 <= wait <= 31
        assert retry_after_seconds(requests.get("https://x/c", timeout=5)) is None


def test_redaction_hides_registered_secrets() -> None:
    """Secrets, URL-encoded too, and named query params are masked."""
    register_secret("s3cr3t value")
    assert redact("token=s3cr3t value!") == "token=***!"
    url = "https://x/a?api_key=other&q=s3cr3t+value&page=2"
    assert redact_url(url, ["api_key"]) == "https://x/a?api_key=***&q=***&page=2"


# --------------------------------------------------------------------------- #
# The base stream against a faked API
# --------------------------------------------------------------------------- #

SECRET = "tok-SECRET-123"


class ItemsStream(BuilderStream):
    """A stream as generated code declares it."""

    name = "items"
    path = "/items/{config.account}"
    base_url = "https://api.example.com/v1"
    auth_settings = ("api_token",)
    secret_query_params = ("key",)
    records_jsonpath = "$.items[*]"
    backoff_base_seconds = 0.001
    max_attempts = 3
    schema: t.ClassVar[dict[str, t.Any]] = th.PropertiesList(
        th.Property("id", th.IntegerType)
    ).to_dict()

    def get_url_params(
        self, context: t.Any, next_page_token: t.Any
    ) -> dict[str, t.Any]:
        return {"key": self.render_secret("{config.api_token}")}


class UnitTap(Tap):
    """A tap holding one stream."""

    name = "tap-unit"
    config_jsonschema = th.PropertiesList(
        th.Property("api_token", th.StringType, secret=True),
        th.Property("account", th.StringType),
        th.Property("api_url", th.StringType),
        th.Property("max_attempts", th.IntegerType),
        th.Property("request_timeout", th.NumberType),
        th.Property("backoff_seconds", th.NumberType),
    ).to_dict()

    def discover_streams(self) -> list[ItemsStream]:
        return [ItemsStream(self)]


URL = "https://api.example.com/v1/items/acme/v%201"


@pytest.fixture
def stream() -> ItemsStream:
    tap = UnitTap(
        config={"api_token": SECRET, "account": "acme/v 1"}, setup_mapper=False
    )
    found = tap.streams["items"]
    assert isinstance(found, ItemsStream)
    return found


def test_path_variables_are_url_quoted(
    stream: ItemsStream, requests_mock: rm.Mocker
) -> None:
    """A setting's value may span path segments: its ``/`` is kept (a prefix or
    an API version like ``v2/beta``); everything else is quoted."""
    requests_mock.get(URL, json={"items": [{"id": 1}]})
    assert list(stream.get_records(None)) == [{"id": 1}]


class SegmentStream(ItemsStream):
    """A child whose path holds a value from the parent record."""

    name = "segments"
    path = "/{config.account}/files/{name}"


def test_parent_values_in_the_path_are_one_segment(stream: ItemsStream) -> None:
    """A value from a parent record is quoted whole: ``/`` becomes ``%2F``."""
    child = SegmentStream(stream._tap)
    assert child.get_url({"name": "a/b c"}) == (
        "https://api.example.com/v1/acme/v%201/files/a%2Fb%20c"
    )


def test_an_invalid_url_is_one_line_naming_it(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A URL that cannot even be built (no scheme) ends in one line naming it."""
    config = {"api_token": SECRET, "account": "a", "api_url": "no-scheme.example"}

    class BrokenTap(UnitTap):
        @classmethod
        def cli(cls) -> None:  # type: ignore[override]
            tap = cls(config=config, setup_mapper=False)
            list(tap.streams["items"].get_records(None))

    monkeypatch.setattr("sys.argv", ["tap-unit"])
    with pytest.raises(SystemExit) as exited:
        cli.run_cli(BrokenTap)
    assert exited.value.code == 1
    last = caplog.records[-1]
    assert last.levelname == "ERROR"
    assert last.getMessage() == (
        "invalid request: Invalid URL 'no-scheme.example/items/a': No scheme "
        "supplied. Perhaps you meant https://no-scheme.example/items/a?"
    )


def test_api_url_replaces_base_url(requests_mock: rm.Mocker) -> None:
    """The api_url setting, with its own variables, replaces base_url."""
    tap = UnitTap(
        config={
            "api_token": SECRET,
            "account": "a",
            "api_url": "http://127.0.0.1:9/{config.account}/",
        },
        setup_mapper=False,
    )
    requests_mock.get("http://127.0.0.1:9/a/items/a", json={"items": [{"id": 2}]})
    assert list(tap.streams["items"].get_records(None)) == [{"id": 2}]


def test_429_is_retried_after_retry_after(
    stream: ItemsStream, requests_mock: rm.Mocker
) -> None:
    """429 then 200: the page is fetched again, waiting what Retry-After says."""
    requests_mock.get(
        URL,
        [
            {"status_code": 429, "headers": {"Retry-After": "0"}},
            {"status_code": 503},
            {"json": {"items": [{"id": 1}]}},
        ],
    )
    assert list(stream.get_records(None)) == [{"id": 1}]
    assert requests_mock.call_count == 3


def test_5xx_gives_up_after_max_attempts(
    stream: ItemsStream, requests_mock: rm.Mocker
) -> None:
    """Persistent 500s fail after max_attempts, with the redacted URL."""
    requests_mock.get(URL, status_code=500, text=f"boom {SECRET}")
    with pytest.raises(APIError) as info:
        list(stream.get_records(None))
    assert requests_mock.call_count == 3
    message = str(info.value)
    assert SECRET not in message and "key=***" in message
    assert "HTTP 500" in message and "gave up after 3 attempts" in message


@pytest.mark.parametrize("status", [401, 403])
def test_auth_failure_names_the_settings(
    stream: ItemsStream, requests_mock: rm.Mocker, status: int
) -> None:
    """401/403 fail at once, naming the auth settings, never the secret."""
    requests_mock.get(URL, status_code=status, text=f"bad token {SECRET}")
    with pytest.raises(APIError) as info:
        list(stream.get_records(None))
    message = str(info.value)
    assert requests_mock.call_count == 1
    assert "check the settings api_token" in message and SECRET not in message


def test_404_names_the_path(stream: ItemsStream, requests_mock: rm.Mocker) -> None:
    """404 names the stream path and the api_url setting."""
    requests_mock.get(URL, status_code=404)
    with pytest.raises(
        APIError, match=r"stream path '/items/\{config.account\}'.*api_url"
    ):
        list(stream.get_records(None))


def test_non_json_body_shows_type_and_start(
    stream: ItemsStream, requests_mock: rm.Mocker
) -> None:
    """A non-JSON body fails with its content type and first bytes."""
    requests_mock.get(
        URL, text="<html>oops</html>", headers={"Content-Type": "text/html"}
    )
    with pytest.raises(APIError, match=r"not JSON \(text/html\).*<html>oops"):
        list(stream.get_records(None))


def test_decimals_keep_precision(stream: ItemsStream, requests_mock: rm.Mocker) -> None:
    """Numbers with decimals are parsed as Decimal, not float."""
    requests_mock.get(
        URL, text='{"items": [{"id": 1, "price": 0.1000000000000000055511}]}'
    )
    record = next(iter(stream.get_records(None)))
    assert record["price"] == decimal.Decimal("0.1000000000000000055511")


def test_missing_path_value_is_a_clear_error(requests_mock: rm.Mocker) -> None:
    """A path variable without a value names the setting."""
    tap = UnitTap(config={"api_token": SECRET}, setup_mapper=False)
    with pytest.raises(APIError, match="setting 'account' has no value"):
        list(tap.streams["items"].get_records(None))


def test_runtime_modules_are_standalone() -> None:
    """The copied runtime modules import nothing from tap_builder (only each
    other, relatively), so a generated tap needs nothing from the tool."""
    folder = Path(streams.__file__).parent
    for source in folder.glob("*.py"):
        text = source.read_text(encoding="utf-8").replace("tap-builder", "")
        assert "tap_builder" not in text, source.name


class ChildStream(ItemsStream):
    """A child stream: context keys are added to its records."""

    name = "children"
    parent_stream_type = ItemsStream


def test_child_records_get_context_keys_but_keep_their_own(stream: ItemsStream) -> None:
    """Context keys are added unless the record has the field (its value stands)."""
    child = ChildStream(stream._tap)
    row = child.prepare_record(
        {"id": 1, "client_id": 99}, {"client_id": 5, "code": "N"}
    )
    assert row == {"id": 1, "client_id": 99, "code": "N"}


class LinesStream(ItemsStream):
    """A JSON Lines endpoint."""

    name = "lines"
    records_jsonpath = "$[*]"
    response_format = "application/x-ndjson"


def test_json_lines_bodies(stream: ItemsStream, requests_mock: rm.Mocker) -> None:
    """response_format JSON Lines: one record per non-empty line."""
    requests_mock.get(URL, text='{"id": 1}\n\n{"id": 2}\n')
    lines = LinesStream(stream._tap)
    assert list(lines.get_records(None)) == [{"id": 1}, {"id": 2}]


def test_unreadable_body_is_retried(
    stream: ItemsStream, requests_mock: rm.Mocker
) -> None:
    """A truncated or empty 200 is retried like a 5xx, then the page is read."""
    requests_mock.get(
        URL,
        [{"text": '{"items": [{"id"'}, {"text": ""}, {"json": {"items": [{"id": 3}]}}],
    )
    assert list(stream.get_records(None)) == [{"id": 3}]
    assert requests_mock.call_count == 3


@pytest.mark.parametrize(
    ("error", "fragment"),
    [
        (requests.exceptions.ConnectTimeout("x"), "no answer within 300.0 s"),
        (
            requests.exceptions.ConnectionError("Connection refused"),
            "connection was refused",
        ),
        (
            requests.exceptions.ConnectionError("Failed to resolve 'x'"),
            "does not resolve",
        ),
        (requests.exceptions.ConnectionError("Connection reset by peer"), "was reset"),
        (requests.exceptions.ChunkedEncodingError("broken"), "cut off"),
    ],
)
def test_connection_failures_end_in_one_clear_error(
    stream: ItemsStream, requests_mock: rm.Mocker, error: Exception, fragment: str
) -> None:
    """After the last attempt: the stream, what happened, the redacted URL."""
    requests_mock.get(URL, exc=error)
    with pytest.raises(APIError) as info:
        list(stream.get_records(None))
    message = str(info.value)
    assert message.startswith("stream 'items': ") and fragment in message
    assert "key=***" in message and "gave up after 3 attempts" in message


def test_retry_settings_come_from_config(requests_mock: rm.Mocker) -> None:
    """max_attempts, request_timeout and backoff_seconds override the defaults."""
    config = {
        "api_token": SECRET,
        "account": "a",
        "max_attempts": 2,
        "request_timeout": 7,
    }
    tap = UnitTap(config=config | {"backoff_seconds": 0}, setup_mapper=False)
    stream = tap.streams["items"]
    assert stream.backoff_max_tries() == 2 and stream.timeout == 7
    requests_mock.get("https://api.example.com/v1/items/a", status_code=503)
    with pytest.raises(APIError, match="gave up after 2 attempts"):
        list(stream.get_records(None))
    assert requests_mock.call_count == 2


def test_conformer_drops_undeclared_fields_recursively() -> None:
    """Undeclared fields go (reported once), nested objects and arrays too."""
    schema = {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "ok": {"type": ["boolean", "null"]},
            "address": {"type": "object", "properties": {"city": {"type": "string"}}},
            "lines": {
                "type": "array",
                "items": {"type": "object", "properties": {"sku": {"type": "string"}}},
            },
            "free": {"type": "object"},
        },
    }
    dropped: list[set[str]] = []
    conform = jsonio.compile_conformer(schema, dropped.append)
    record = {
        "id": 1,
        "extra": 2,
        "ok": 1,
        "address": {"city": "X", "zip": "1"},
        "lines": [{"sku": "a", "qty": 2}, {"sku": "b"}],
        "free": {"anything": True},
    }
    assert conform(record) == {
        "id": 1,
        "ok": True,
        "address": {"city": "X"},
        "lines": [{"sku": "a"}, {"sku": "b"}],
        "free": {"anything": True},
    }
    assert dropped == [{"extra"}, {"zip"}, {"qty"}]
    fitting = {"id": 2, "ok": None}
    assert conform(fitting) is fitting  # nothing to do: the same object back


def test_conformer_keeps_extras_when_the_schema_allows_them() -> None:
    """additionalProperties: true keeps undeclared fields."""
    schema = {"type": "object", "properties": {"id": {}}, "additionalProperties": True}
    assert jsonio.compile_conformer(schema, print)({"id": 1, "x": 2}) == {
        "id": 1,
        "x": 2,
    }


@pytest.mark.parametrize(
    ("selector", "keys"),
    [
        ("$[*]", ()),
        ("$.data[*]", ("data",)),
        ("$.a.b[*]", ("a", "b")),
        ("$.a[0]", None),
        ("$.list[*].customer", None),
        ("$..x", None),
    ],
)
def test_simple_selectors_become_key_lookups(selector: str, keys: object) -> None:
    """Simple paths are key lookups; the rest go through JSONPath."""
    assert jsonio.selector_keys(selector) == keys


def test_select_records_matches_jsonpath() -> None:
    """Key lookups and the JSONPath engine agree on what they select."""
    body = {"data": [{"id": 1}], "list": [{"customer": {"id": 2}}], "one": {"id": 3}}
    assert jsonio.select_records(body, "$.data[*]") == [{"id": 1}]
    assert jsonio.select_records(body, "$.list[*].customer") == [{"id": 2}]
    assert jsonio.select_records(body, "$.missing[*]") == []
    assert jsonio.select_records([{"id": 4}], "$[*]") == [{"id": 4}]


def test_decimals_survive_decode_and_encode() -> None:
    """A number's exact digits survive the fast JSON path."""
    text = b'{"v": 0.1000000000000000055511151231257827, "i": 12345678901234567890}'
    body = jsonio.decode_json(text)
    assert isinstance(body["v"], decimal.Decimal)
    assert jsonio._ENCODER.encode(body) == text.replace(b" ", b"")


def test_rate_limit_spaces_requests() -> None:
    """wait_for_rate_limit keeps calls at least min_interval apart."""
    import time as clock

    start = clock.monotonic()
    for _ in range(4):
        budget.wait_for_rate_limit(0.05)
    assert clock.monotonic() - start >= 0.15


@pytest.mark.parametrize(
    ("value", "op", "expected", "holds"),
    [
        ("a", "==", "a", True),
        ("a", "!=", "a", False),
        (5, ">", 3, True),
        (5, "<=", 3, False),
        ("x", "in", ["x", "y"], True),
        ("z", "not_in", ["x", "y"], True),
        (None, "exists", None, False),
        (None, "missing", None, True),
        (None, ">", 3, False),
        ("a", ">", 3, False),
    ],
)
def test_record_conditions(
    value: object, op: str, expected: object, holds: bool
) -> None:
    """Each record_filter operator, including missing values and type mismatches."""
    assert records._holds(value, op, expected) is holds


def test_rate_limit_reset_headers() -> None:
    """On a 429 without Retry-After, X-RateLimit-Reset says how long to wait."""
    import requests as http

    with rm.Mocker() as mock:
        soon = int(dt.datetime.now(dt.UTC).timestamp()) + 20
        mock.get("https://x/a", status_code=429, headers={"X-RateLimit-Reset": "7"})
        mock.get(
            "https://x/b", status_code=429, headers={"X-RateLimit-Reset": str(soon)}
        )
        mock.get("https://x/c", status_code=500, headers={"X-RateLimit-Reset": "7"})
        assert retry_after_seconds(http.get("https://x/a", timeout=5)) == 7.0
        wait = retry_after_seconds(http.get("https://x/b", timeout=5))
        assert wait is not None and 15 <= wait <= 21
        assert retry_after_seconds(http.get("https://x/c", timeout=5)) is None


def test_429_waits_for_the_rate_limit_reset(
    stream: ItemsStream, requests_mock: rm.Mocker
) -> None:
    """The retry after a 429 honours X-RateLimit-Reset like Retry-After."""
    requests_mock.get(
        URL,
        [
            {"status_code": 429, "headers": {"X-RateLimit-Reset": "0"}},
            {"json": {"items": [{"id": 5}]}},
        ],
    )
    assert list(stream.get_records(None)) == [{"id": 5}]


def test_oauth2_token_is_renewed_before_it_expires(requests_mock: rm.Mocker) -> None:
    """A token is reused while valid and fetched again once its lifetime is over."""
    import time as clock

    requests_mock.post(
        "https://auth.test/token",
        [
            {"json": {"access_token": "t1", "expires_in": 0.2}},
            {"json": {"access_token": "t2"}},
        ],
    )
    auth = runtime_auth.OAuth2Authenticator(
        token_url="https://auth.test/token",
        grant_type="client_credentials",
        client_id="id",
        client_secret="shh",
        settings="client_id, client_secret",
    )
    first = auth(requests.Request("GET", "https://api.test/x").prepare())
    again = auth(requests.Request("GET", "https://api.test/x").prepare())
    clock.sleep(0.25)
    later = auth(requests.Request("GET", "https://api.test/x").prepare())
    assert [r.headers["Authorization"] for r in (first, again, later)] == [
        "Bearer t1",
        "Bearer t1",
        "Bearer t2",
    ]
    assert requests_mock.call_count == 2
    assert requests_mock.request_history[0].text == (
        "grant_type=client_credentials&client_id=id&client_secret=shh"
    )
