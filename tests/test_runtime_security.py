"""Focused tests of the runtime's security helpers (the end-to-end proofs are in
tests/test_security.py)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

import tap_builder.runtime.auth as runtime_auth
from tap_builder.runtime import cli, jsonio
from tap_builder.runtime.auth import OAuth2Authenticator
from tap_builder.runtime.cli import state_problems
from tap_builder.runtime.http import (
    APIError,
    GuardedSession,
    Limits,
    OriginError,
    host_allowed,
    origin_of,
)
from tap_builder.runtime.secrets import (
    excerpt,
    redact,
    redact_url,
    register_basic_credentials,
    register_secret,
    secret_forms,
)


@pytest.mark.parametrize(
    ("url", "entries", "allowed"),
    [
        ("https://cdn.example.com/x", ["cdn.example.com"], True),
        ("https://cdn.example.com:8443/x", ["cdn.example.com"], True),
        ("https://cdn.example.com:8443/x", ["cdn.example.com:8443"], True),
        ("https://cdn.example.com/x", ["cdn.example.com:8443"], False),
        ("https://a.cdn.example.com/x", ["*.cdn.example.com"], True),
        ("https://cdn.example.com/x", ["*.cdn.example.com"], False),
        ("https://evilcdn.example.com/x", ["*.cdn.example.com"], False),
        ("https://cdn.example.com.evil.io/x", ["cdn.example.com"], False),
        ("http://127.0.0.1:9000/x", ["127.0.0.1:9000"], True),
        ("http://localhost:9000/x", ["127.0.0.1:9000"], False),
        ("http://[::1]:9000/x", ["[::1]:9000"], True),
        ("http://[0:0:0:0:0:0:0:1]:9000/x", ["[::1]:9000"], True),
        ("http://[2001:DB8::1]/x", ["[2001:db8:0::1]"], True),
    ],
)
def test_allowed_hosts_entries(url: str, entries: list[str], allowed: bool) -> None:
    assert host_allowed(origin_of(url), entries) is allowed


def test_origins_fill_in_default_ports_and_ignore_case() -> None:
    assert origin_of("HTTPS://API.Example.com/v1") == ("https", "api.example.com", 443)
    assert origin_of("https://api.example.com:443/") == origin_of(
        "https://api.example.com"
    )
    assert origin_of("http://api.example.com") != origin_of("https://api.example.com")


def _prepared(url: str, headers: dict[str, str]) -> requests.PreparedRequest:
    return requests.Request("GET", url, headers=headers).prepare()


def _session(**kwargs: object) -> GuardedSession:
    return GuardedSession(
        home="https://api.example.com/v1",
        owner="stream 'items'",
        limits=Limits(),
        **kwargs,  # type: ignore[arg-type]
    )


def test_https_never_goes_to_plain_http_even_to_an_allowed_host() -> None:
    session = _session(allowed_hosts=["cdn.example.com"])
    request = _prepared("http://cdn.example.com/page/2", {"Authorization": "x"})
    with pytest.raises(OriginError, match="which is not HTTPS; refused"):
        session._guard(request)


def test_same_host_plain_http_is_refused_too() -> None:
    session = _session()
    with pytest.raises(OriginError, match=r"api\.example\.com, which is not HTTPS"):
        session._guard(_prepared("http://api.example.com/v1/items", {}))


def test_other_origin_is_refused_naming_both_and_the_spec_key() -> None:
    session = _session()
    with pytest.raises(OriginError) as caught:
        session._guard(_prepared("https://api.example.com:8443/v1/items", {}))
    assert str(caught.value) == (
        "stream 'items': the API sent to https://api.example.com:8443, but "
        "credentials go only to https://api.example.com; refused (if "
        "https://api.example.com:8443 really belongs to the API, list "
        "'api.example.com' in the spec's allowed_hosts (requests to it carry no "
        "credentials))"
    )


def test_allowed_host_gets_no_credential_headers_or_key_params() -> None:
    session = _session(
        allowed_hosts=["*.example-cdn.com"],
        credential_headers=["X-Api-Key"],
        credential_params=["api_key"],
    )
    request = _prepared(
        "https://files.example-cdn.com/p?api_key=s3cret&page=2&sig=abc",
        {
            "Authorization": "Bearer t",
            "x-api-key": "k",
            "Cookie": "session=1",
            "Accept": "application/json",
        },
    )
    session._guard(request)
    assert dict(request.headers) == {"Accept": "application/json"}
    assert request.url == "https://files.example-cdn.com/p?page=2&sig=abc"


def test_home_requests_keep_their_credentials() -> None:
    session = _session(credential_headers=["X-Api-Key"])
    request = _prepared("https://api.example.com/v1/items", {"X-Api-Key": "k"})
    session._guard(request)
    assert request.headers["X-Api-Key"] == "k"


def test_secret_forms_cover_encodings() -> None:
    forms = secret_forms('a b/"é')
    assert {
        'a b/"é',
        'a b/\\"\\u00e9',
        "a%20b%2F%22%C3%A9",
        "a+b%2F%22%C3%A9",
        "a%20b/%22%C3%A9",
        "a%20b%2f%22%c3%a9",
    } <= forms
    assert secret_forms(12345678) == {"12345678"}
    assert secret_forms(True) == set()
    assert secret_forms(None) == set()


def test_basic_credentials_are_masked_in_base64() -> None:
    register_basic_credentials("basic-user-1", "basic pass/1")
    assert redact("Authorization: Basic YmFzaWMtdXNlci0xOmJhc2ljIHBhc3MvMQ==") == (
        "Authorization: Basic ***"
    )


def test_non_string_secrets_are_masked() -> None:
    register_secret(9081726354)
    assert redact("key=9081726354") == "key=***"


def test_url_redaction_catches_every_query_encoding() -> None:
    register_secret("q*ery secret")
    shown = redact_url("https://api.example.com/x?k=q%2Aery+secret&p=1")
    assert shown == "https://api.example.com/x?k=***&p=1"


def test_excerpt_masks_before_cutting_and_escapes_control_characters() -> None:
    register_secret("straddling-secret-value")
    text = "x" * 10 + "straddling-secret-value"
    assert excerpt(text, 15) == "x" * 10 + "***"
    assert "strad" not in excerpt(text, 15)
    assert excerpt("a\x1b[2Jb\r\nc", 40) == "a\\x1b[2Jb\\r c"


@pytest.mark.parametrize(
    ("value", "seconds"), [(None, 3600.0), ("", 3600.0), (120, 120.0), ("90", 90.0)]
)
def test_token_lifetimes(value: object, seconds: float) -> None:
    assert runtime_auth._lifetime(value, "https://x/token") == seconds


@pytest.mark.parametrize("value", ["soon", -5, True, "1e400", float("nan"), [1]])
def test_token_lifetimes_that_are_not_seconds_are_clear_errors(value: object) -> None:
    with pytest.raises(APIError, match="which is not a number of seconds"):
        runtime_auth._lifetime(value, "https://x/token")


def test_rotated_token_that_cannot_be_saved_is_kept_in_a_fallback_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If writing the rotated token fails after the folder check passed (disk
    full, a race), it is written to a private file in the working folder, and
    the error names it."""
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "tokens" / "refresh.json"
    target.parent.mkdir()

    def fail(path: Path, content: bytes) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(runtime_auth, "_write_private", fail)
    auth = OAuth2Authenticator(
        token_url="https://x/token",
        grant_type="refresh_token",
        client_id="c",
        client_secret="s",
        settings="client_id",
        refresh_token="old",
        refresh_token_file=str(target),
    )
    with pytest.raises(APIError) as caught:
        auth._store_refresh_token("rotated-token")
    message = str(caught.value)
    assert "No space left on device" in message
    fallback = Path(message.split("it was saved to ")[1].split(" instead")[0])
    assert fallback.parent == tmp_path
    assert json.loads(fallback.read_text()) == {"refresh_token": "rotated-token"}
    assert stat.S_IMODE(fallback.stat().st_mode) == 0o600


def test_refresh_token_file_is_written_privately_and_atomically(tmp_path: Path) -> None:
    target = tmp_path / "refresh.json"
    target.write_text('{"refresh_token": "old"}')
    target.chmod(0o644)
    runtime_auth._write_private(target, b'{"refresh_token": "new"}')
    assert target.read_text() == '{"refresh_token": "new"}'
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["refresh.json"]


@pytest.mark.parametrize(
    ("state", "problems"),
    [
        ({}, []),
        ({"bookmarks": {"a": {"replication_key_value": "2024-01-01T00:00:00Z"}}}, []),
        ({"bookmarks": {"a": {"replication_key_value": 1704067200}}}, []),
        (
            {"bookmarks": {"a": {"replication_key_value": True}}},
            [
                "bookmarks.a.replication_key_value: true is not a date-time or Unix "
                "timestamp the tap can use"
            ],
        ),
        (
            {
                "bookmarks": {
                    "a": {
                        "partitions": [
                            {"context": {"x": 1}, "replication_key_value": "9999-99"}
                        ]
                    }
                }
            },
            [
                'bookmarks.a.partitions[0].replication_key_value: "9999-99" is not a '
                "date-time or Unix timestamp the tap can use"
            ],
        ),
        (
            {"bookmarks": {"a": {"partitions": {}}}},
            ["bookmarks.a.partitions: must be a list"],
        ),
        ("x", ["the state must be a JSON object, not str"]),
    ],
)
def test_state_problems(state: object, problems: list[str]) -> None:
    assert state_problems(state) == problems


# --------------------------------------------------------------------------- #
# Property tests: whatever a state file or a response body holds, the runtime
# answers with its own clear errors, never an unexpected exception.
# --------------------------------------------------------------------------- #

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "bookmarks",
                    "partitions",
                    "context",
                    "replication_key_value",
                    "starting_replication_value",
                    "a",
                    "b",
                ]
            )
            | st.text(max_size=5),
            inner,
            max_size=4,
        )
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_any_state_gives_problems_or_none_never_an_exception(state: object) -> None:
    problems = state_problems(state)
    assert all(isinstance(p, str) and p for p in problems)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300) | JSON_VALUES.map(lambda v: json.dumps(v).encode()))
def test_any_state_file_is_read_or_refused_clearly(
    tmp_path_factory, data: bytes
) -> None:
    path = tmp_path_factory.mktemp("state") / "state.json"
    path.write_bytes(data)
    try:
        state = cli.read_json_arg(str(path), "state")
    except cli.UsageError as exc:
        assert str(exc).startswith(f"the state file {path}")
        return
    state_problems(state)


@settings(max_examples=300, deadline=None)
@given(
    st.binary(max_size=200)
    | JSON_VALUES.map(lambda v: json.dumps(v).encode())
    | st.integers(min_value=1, max_value=200_000).map(lambda n: b"[" * n + b"]" * n)
)
def test_any_response_body_decodes_or_is_a_value_error(body: bytes) -> None:
    try:
        decoded = jsonio.decode_json(body)
    except ValueError:
        return
    for selector in ("$[*]", "$.items[*]", "$.a.b[*]", "$..id"):
        jsonio.select_records(decoded, selector)
