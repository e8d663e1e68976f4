"""Security of generated taps against a hostile API, end to end.

Every tap here is generated, pip-installed (non-editable) and run as a process
against tests/hostile_api.py: an API on 127.0.0.1 whose next-page URLs, Link
headers and redirects lead to another origin (another port, or ``localhost``),
and whose token and login endpoints redirect. The other origin records every
request it gets: no credential of any authentication type may ever reach it.
The API also abuses the tap (huge, compressed and trickling bodies, absurd
Retry-After values, looping offsets, deep JSON, echoed credentials); each abuse
ends in one clear line and exit 1, quickly.
"""

from __future__ import annotations

import base64
import gzip
import json
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tap_builder.runtime.secrets import secret_forms
from tests.e2e import InstalledTap, Run, install_taps
from tests.hostile_api import HostileAPI

pytestmark = pytest.mark.slow

KEY = 'k3y s/"é-apikey'
TOKEN = 'b3arer s/"é-token'
USER = "us er-name"
PASSWORD = 'pa ss/"é-word'
CLIENT_ID = "client-id-7"
CLIENT_SECRET = 'cl ient/"é-secret'
REFRESH = 'refr esh/"é-token'

#: Every credential a config holds, and the tokens the API hands out.
SECRETS = (KEY, TOKEN, USER, PASSWORD, CLIENT_SECRET, REFRESH, 'tok en/"é-access')
BASIC = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

AUTHS: dict[str, dict[str, Any]] = {
    "api_key_header": {
        "type": "api_key",
        "location": "header",
        "name": "X-Api-Key",
        "value": "{config.key}",
    },
    "api_key_query": {
        "type": "api_key",
        "location": "query",
        "name": "api_key",
        "value": "{config.key}",
    },
    "bearer": {"type": "bearer", "token": "{config.token}"},
    "basic": {
        "type": "basic",
        "username": "{config.user}",
        "password": "{config.password}",
    },
    "headers": {
        "type": "headers",
        "headers": {
            "X-Api-Key": "{config.key}",
            "Authorization": "Bearer {config.token}",
        },
    },
    "oauth2": {
        "type": "oauth2",
        "grant_type": "client_credentials",
        "token_url": "/oauth/{config.token_route}",
        "client_id": "{config.client_id}",
        "client_secret": "{config.client_secret}",
    },
    "session": {
        "type": "session",
        "login_url": "/{config.login_route}",
        "body": {"username": "{config.user}", "password": "{config.password}"},
        "token_selector": "$.session.token",
        "header": "X-Session",
        "prefix": "",
    },
}
PARAMETERS = [
    {"name": "key", "secret": True, "required": False},
    {"name": "token", "secret": True, "required": False},
    {"name": "user", "required": False},
    {"name": "password", "secret": True, "required": False},
    {"name": "client_id", "required": False},
    {"name": "client_secret", "secret": True, "required": False},
    {"name": "token_route", "required": False},
    {"name": "login_route", "required": False},
]
CONFIG = {
    "key": KEY,
    "token": TOKEN,
    "user": USER,
    "password": PASSWORD,
    "client_id": CLIENT_ID,
    "client_secret": CLIENT_SECRET,
    "token_route": "token",
    "login_route": "login",
    "max_attempts": 1,
}
SCHEMA = {"type": "object", "properties": {"id": {"type": "integer"}}}


def _stream(
    stream_id: str, path: str, pagination: dict[str, Any] | None = None
) -> dict[str, Any]:
    stream: dict[str, Any] = {
        "name": stream_id,
        "id": stream_id,
        "path": path,
        "primary_key": "id",
        "records_selector": "$.items[*]",
        "schema": SCHEMA,
    }
    if pagination:
        stream["pagination"] = pagination
    return stream


#: Each way an API can send a tap elsewhere: stream id -> (path, pagination).
VECTORS: dict[str, tuple[str, dict[str, Any] | None]] = {
    "next_url": ("/items", {"type": "next_url", "next_url": "$.next"}),
    "next_url_localhost": (
        "/items-localhost",
        {"type": "next_url", "next_url": "$.next"},
    ),
    "link_header": ("/linked", {"type": "link_header"}),
    "redirect_302": ("/moved302", None),
    "redirect_307": ("/moved307", None),
}


def _spec(
    tap_id: str, api: HostileAPI, auth: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    return {
        "name": f"Hostile {tap_id}",
        "tap_id": tap_id,
        "base_url": api.api_url,
        "authentication": auth,
        "parameters": PARAMETERS,
        "streams": [
            _stream(name, path, paging) for name, (path, paging) in VECTORS.items()
        ],
        **extra,
    }


@pytest.fixture(scope="module")
def api() -> Iterator[HostileAPI]:
    with HostileAPI() as hostile:
        yield hostile


@pytest.fixture(scope="module")
def taps(
    api: HostileAPI, tap_venv: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, InstalledTap]:
    """One tap per authentication type, plus the bounds and refresh taps."""
    root = tmp_path_factory.mktemp("hostile")
    specs: dict[str, Path] = {}
    for kind, auth in AUTHS.items():
        tap_id = "hostile-" + kind.replace("_", "-")
        specs[kind] = _write(root, tap_id, _spec(tap_id, api, auth))
    specs["bounds"] = _write(root, "hostile-bounds", _bounds_spec(api))
    specs["refresh"] = _write(root, "hostile-refresh", _refresh_spec(api))
    return install_taps(specs, root / "out", tap_venv)


@pytest.fixture(scope="module")
def allowed_tap(
    api: HostileAPI, tap_venv: Path, tmp_path_factory: pytest.TempPathFactory
) -> InstalledTap:
    """A tap whose spec lists the other host in allowed_hosts."""
    root = tmp_path_factory.mktemp("allowed")
    other_host = api.other_origin.removeprefix("http://")
    spec = _spec("hostile-allowed", api, AUTHS["headers"], allowed_hosts=[other_host])
    path = _write(root, "hostile-allowed", spec)
    return install_taps({"allowed": path}, root / "out", tap_venv)["allowed"]


def _write(root: Path, name: str, spec: dict[str, Any]) -> Path:
    path = root / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False))
    return path


def _select(tap: InstalledTap, stream: str, workdir: Path) -> dict[str, Any]:
    """A catalog with only ``stream`` selected."""
    discover = tap.run("--discover", config=CONFIG, workdir=workdir)
    assert discover.returncode == 0, discover.stderr
    catalog = json.loads(discover.stdout)
    for entry in catalog["streams"]:
        for metadata in entry["metadata"]:
            if metadata["breadcrumb"] == []:
                metadata["metadata"]["selected"] = entry["tap_stream_id"] == stream
    return catalog


def _sync(
    tap: InstalledTap,
    stream: str,
    workdir: Path,
    config: dict[str, Any] | None = None,
    **kwargs: Any,
) -> Run:
    catalog = _select(tap, stream, workdir)
    return tap.run(config=config or CONFIG, catalog=catalog, workdir=workdir, **kwargs)


def _forms() -> set[str]:
    forms = {BASIC}
    for secret in SECRETS:
        forms |= secret_forms(secret)
    return forms


def _leaks(text: str) -> list[str]:
    return sorted(form for form in _forms() if form in text)


def _last_line(run: Run) -> str:
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _assert_one_clear_error(run: Run, *expected: str) -> str:
    assert run.returncode == 1, run.stderr[-2000:]
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    line = _last_line(run)
    for text in expected:
        assert text in line, line
    assert _leaks(run.stdout + run.stderr) == []
    return line


# --------------------------------------------------------------------------- #
# Credentials go only to the API's own origin
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("kind", list(AUTHS))
@pytest.mark.parametrize("vector", list(VECTORS))
def test_no_credential_leaves_the_api_origin(
    kind: str,
    vector: str,
    api: HostileAPI,
    taps: dict[str, InstalledTap],
    tmp_path: Path,
) -> None:
    """next_url, Link, 302, 307 and localhost-for-127.0.0.1 are refused for
    every authentication type: the other origin gets no request at all, and the
    error names the stream, both origins and the allowed_hosts key."""
    api.clear()
    run = _sync(taps[kind], vector, tmp_path)
    there = api.localhost_origin if vector == "next_url_localhost" else api.other_origin
    how = "redirected" if vector.startswith("redirect") else "sent to"
    _assert_one_clear_error(
        run,
        f"stream '{vector}': the API {how} {there}",
        f"credentials go only to {api.api_origin}",
        "allowed_hosts",
    )
    assert api.other.seen == []
    # localhost is the same machine: the refused page never got there either
    assert all("page=2" not in seen.query for seen in api.api.seen)
    if not vector.startswith("redirect"):
        assert run.ids(vector) == [1]  # the API's own first page was emitted


@pytest.mark.parametrize(
    ("kind", "route", "what"),
    [
        ("oauth2", {"token_route": "moved"}, "the OAuth2 token request"),
        ("session", {"login_route": "login-moved"}, "the login"),
    ],
)
def test_token_and_login_requests_follow_no_redirect_elsewhere(
    kind: str,
    route: dict[str, str],
    what: str,
    api: HostileAPI,
    taps: dict[str, InstalledTap],
    tmp_path: Path,
) -> None:
    """A 307 from the token or login endpoint to another host would re-POST the
    client secret or the password: it is not followed."""
    api.clear()
    run = _sync(taps[kind], "redirect_302", tmp_path, config={**CONFIG, **route})
    _assert_one_clear_error(
        run, f"{what}: the API redirected {api.other_origin}", "re-send the credentials"
    )
    assert api.other.seen == []


def test_allowed_hosts_are_followed_without_credentials(
    api: HostileAPI, allowed_tap: InstalledTap, tmp_path: Path
) -> None:
    """With the other host in allowed_hosts, next URLs, Link headers and
    redirects lead there, and the requests carry no credential header or key."""
    tap = allowed_tap
    for stream in ("next_url", "link_header", "redirect_307"):
        api.clear()
        run = _sync(tap, stream, tmp_path)
        assert run.returncode == 0, run.stderr[-2000:]
        expected = [2] if stream == "redirect_307" else [1, 2]
        assert run.ids(stream) == expected
        assert len(api.other.seen) == 1
        seen = api.other.seen[0]
        assert "authorization" not in {h.lower() for h in seen.headers}
        assert "x-api-key" not in {h.lower() for h in seen.headers}
        assert _leaks(seen.dump()) == []
        # the API itself still got its credentials
        assert api.api.seen[0].headers.get("X-Api-Key") == KEY
        assert _leaks(run.stdout + run.stderr) == []


# --------------------------------------------------------------------------- #
# Bounded reads, waits and loops
# --------------------------------------------------------------------------- #


def _bounds_spec(api: HostileAPI) -> dict[str, Any]:
    streams = [
        _stream("big", "/big"),
        _stream("gzbomb", "/gzbomb"),
        _stream("trickle", "/trickle"),
        _stream("wait_long", "/wait-long"),
        _stream("wait_huge", "/wait-huge"),
        _stream(
            "offsets",
            "/offsets",
            {
                "type": "offset",
                "offset_param": "offset",
                "next_offset_selector": "$.next_offset",
            },
        ),
        _stream("deep", "/deep"),
        _stream("echo_error", "/echo-error"),
        _stream("straddle", "/secret-straddle"),
        {
            **_stream("incremental", "/items"),
            "schema": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "updated": {"type": "string", "format": "date-time"},
                },
            },
            "incremental": {"replication_key": "updated", "param_name": "since"},
        },
    ]
    return {
        "name": "Hostile bounds",
        "tap_id": "hostile-bounds",
        "base_url": api.api_url,
        "authentication": AUTHS["basic"],
        "parameters": PARAMETERS,
        "streams": streams,
    }


@pytest.mark.parametrize(
    ("stream", "settings", "expected"),
    [
        (
            "big",
            {"max_response_mb": 1},
            "is larger than 1 MB (the max_response_mb setting)",
        ),
        (
            "gzbomb",
            {"max_response_mb": 1},
            "is larger than 1 MB (the max_response_mb setting)",
        ),
        (
            "trickle",
            {"max_request_seconds": 1, "request_timeout": 5},
            "no complete answer within 1 s (the max_request_seconds setting)",
        ),
        ("wait_long", {"max_attempts": 3}, "asked to wait 99999999 s before retrying"),
        ("wait_huge", {"max_attempts": 3}, "asked to wait forever before retrying"),
        ("offsets", {}, "pagination loop: the API returned the token '10' again"),
        ("deep", {}, "nested too deeply"),
    ],
)
def test_abusive_answers_end_in_one_clear_error_quickly(
    stream: str,
    settings: dict[str, Any],
    expected: str,
    api: HostileAPI,
    taps: dict[str, InstalledTap],
    tmp_path: Path,
) -> None:
    """Oversized and gzip-bomb bodies stop at the size limit, a trickling body at
    the total deadline, absurd Retry-After values are not slept on, alternating
    offsets are a loop, 100,000-deep JSON is refused: one line, exit 1, fast."""
    api.bodies["big"] = b'{"items": [' + b" " * (2 * 1024 * 1024) + b"]}"
    started = time.monotonic()
    run = _sync(taps["bounds"], stream, tmp_path, config={**CONFIG, **settings})
    elapsed = time.monotonic() - started
    _assert_one_clear_error(run, f"'{stream}'" if stream != "offsets" else "", expected)
    assert elapsed < 15, f"took {elapsed:.1f} s"


def test_gzip_bomb_is_small_on_the_wire() -> None:
    """The bomb really is one: about 50 KB that inflate to 50 MB."""
    data = gzip.compress(b"[" + b" " * (50 * 1024 * 1024) + b"]", compresslevel=9)
    assert len(data) < 100 * 1024


def test_echoed_credentials_are_masked_in_errors(
    api: HostileAPI, taps: dict[str, InstalledTap], tmp_path: Path
) -> None:
    """An API that echoes the Basic header (base64 of user:pass) in an error body:
    the error line shows *** instead."""
    run = _sync(taps["bounds"], "echo_error", tmp_path)
    line = _assert_one_clear_error(run, "stream 'echo_error': HTTP 400")
    assert "Basic ***" in line
    assert BASIC not in run.stderr


def test_error_excerpt_is_masked_before_it_is_cut(
    api: HostileAPI, taps: dict[str, InstalledTap], tmp_path: Path
) -> None:
    """A secret straddling the 200-character cut of an error excerpt: no part of
    it shows (masking happens before cutting)."""
    api.bodies["straddle"] = ("x" * 195 + PASSWORD).encode()
    run = _sync(taps["bounds"], "straddle", tmp_path)
    line = _assert_one_clear_error(run, "stream 'straddle': HTTP 400")
    assert PASSWORD[:4] not in line
    assert line.endswith("x***") or "***" in line


# --------------------------------------------------------------------------- #
# Command-line files: config and state
# --------------------------------------------------------------------------- #


def test_config_errors_show_no_secret_value(
    taps: dict[str, InstalledTap], tmp_path: Path
) -> None:
    """A secret setting of the wrong type is reported without its value."""
    run = taps["bounds"].run(config={**CONFIG, "password": 98765432}, workdir=tmp_path)
    assert run.returncode != 0
    assert "98765432" not in run.stdout + run.stderr
    assert "in config['password']" in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("not json", "is not JSON"),
        ("[1, 2]", "the state must be a JSON object, not list"),
        ('{"bookmarks": []}', "bookmarks: must be an object of stream names"),
        (
            '{"bookmarks": {"incremental": "x"}}',
            "bookmarks.incremental: must be an object",
        ),
        (
            '{"bookmarks": {"incremental": {"replication_key_value": 1e30}}}',
            "bookmarks.incremental.replication_key_value: 1e+30 is not a date-time",
        ),
        (
            json.dumps(
                {"bookmarks": {"incremental": {"replication_key_value": "0000-01-01"}}}
            ),
            '"0000-01-01" is not a date-time',
        ),
        (
            '{"bookmarks": {"incremental": {"partitions": [{"context": 3}]}}}',
            "bookmarks.incremental.partitions[0]: must be an object with a context",
        ),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ],
)
def test_malformed_state_files_are_one_clear_error(
    content: str, expected: str, taps: dict[str, InstalledTap], tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    state.write_text(content)
    tap = taps["bounds"]
    command = [str(tap.venv / "bin" / tap.executable), "--state", str(state)]
    config = tmp_path / "config.json"
    config.write_text(json.dumps(CONFIG))
    result = subprocess.run(
        [*command, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert f"the state file {state}" in last
    assert expected in last


# --------------------------------------------------------------------------- #
# OAuth2 tokens: odd answers and the refresh token file
# --------------------------------------------------------------------------- #


def _refresh_spec(api: HostileAPI) -> dict[str, Any]:
    return {
        "name": "Hostile refresh",
        "tap_id": "hostile-refresh",
        "base_url": api.api_url,
        "authentication": {
            "type": "oauth2",
            "grant_type": "refresh_token",
            "token_url": "/oauth/{config.token_route}",
            "client_id": "{config.client_id}",
            "client_secret": "{config.client_secret}",
            "refresh_token": "{config.refresh_token}",
        },
        "parameters": [
            *PARAMETERS,
            {"name": "refresh_token", "secret": True, "required": False},
        ],
        "streams": [_stream("one", "/items-localhost")],
    }


def test_expires_in_that_is_not_a_number_is_one_clear_error(
    api: HostileAPI, taps: dict[str, InstalledTap], tmp_path: Path
) -> None:
    run = _sync(
        taps["oauth2"],
        "redirect_302",
        tmp_path,
        config={**CONFIG, "token_route": "soon"},
    )
    _assert_one_clear_error(
        run, "answered expires_in 'soon', which is not a number of seconds"
    )


def test_rotated_refresh_token_file_is_private_and_follows_no_symlink(
    api: HostileAPI, taps: dict[str, InstalledTap], tmp_path: Path
) -> None:
    """The rotated token is written 0600 under a fresh name and swapped in: a
    planted ``.tmp`` symlink is not followed, the file it points at is intact."""
    victim = tmp_path / "victim.txt"
    victim.write_text("do not touch")
    token_file = tmp_path / "refresh.json"
    (tmp_path / "refresh.json.tmp").symlink_to(victim)
    api.clear()
    config = {**CONFIG, "refresh_token": REFRESH, "refresh_token_file": str(token_file)}
    run = _sync(taps["refresh"], "one", tmp_path, config=config)
    # the stream itself is refused (localhost), but the token was fetched first
    assert api.token_requests == 1
    assert victim.read_text() == "do not touch"
    assert json.loads(token_file.read_text()) == {"refresh_token": "rotated-1"}
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert _leaks(run.stdout + run.stderr) == []


def test_unwritable_refresh_token_folder_fails_before_the_token_is_spent(
    api: HostileAPI, taps: dict[str, InstalledTap], tmp_path: Path
) -> None:
    """When no file can be created where the rotated token must go (here the
    "folder" is a regular file, which stops root too), the sync fails before
    the token request, so the current refresh token still works."""
    not_a_folder = tmp_path / "locked"
    not_a_folder.write_text("")
    api.clear()
    config = {
        **CONFIG,
        "refresh_token": REFRESH,
        "refresh_token_file": str(not_a_folder / "refresh.json"),
    }
    run = _sync(taps["refresh"], "one", tmp_path, config=config)
    _assert_one_clear_error(
        run, f"cannot save rotated refresh tokens to {not_a_folder / 'refresh.json'}"
    )
    assert api.token_requests == 0
