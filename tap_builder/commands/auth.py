"""``tap-builder auth``: get the first refresh token of an authorization-code API.

OAuth2 ``grant_type: authorization_code`` needs a user's consent once: this
prints (and opens) the consent URL, receives the redirect on 127.0.0.1 (bounded
wait), checks its ``state``, exchanges the code (with PKCE) at the token
endpoint, and stores the refresh token in the ``refresh_token_file`` setting's
file (mode 0600). The tap then refreshes from that file. No token is printed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import tempfile
import threading
import time
import typing as t
import webbrowser
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from tap_builder.commands.preview import credential_settings
from tap_builder.components.auth.oauth2 import loopback_port
from tap_builder.runtime.auth import _post_for_token, _write_private
from tap_builder.runtime.http import APIError
from tap_builder.runtime.secrets import register_secret
from tap_builder.runtime.variables import render_data, render_text

if t.TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from tap_builder.components.auth.oauth2 import OAuth2Auth
    from tap_builder.spec.validation import Connector


class AuthFlowError(Exception):
    """The consent flow could not finish; the message says why (no secrets)."""


#: The answer the browser shows after the redirect.
_DONE_PAGE = (
    b"<!doctype html><title>tap-builder</title><p>Done: you can close this tab.</p>"
)


def _oauth_block(connector: Connector) -> OAuth2Auth:
    from tap_builder.components.auth.oauth2 import OAuth2Auth

    auth = connector.spec.authentication
    if not isinstance(auth, OAuth2Auth) or auth.grant_type != "authorization_code":
        grant = getattr(auth, "grant_type", None)
        kind = f"{auth.type} ({grant})" if grant else auth.type
        msg = (
            "tap-builder auth is for oauth2 authentication with grant_type: "
            f"authorization_code; this spec's authentication is {kind}"
        )
        raise AuthFlowError(msg)
    return auth


def _values(connector: Connector, config: Mapping[str, t.Any]) -> dict[str, t.Any]:
    values = {
        p.name: p.default for p in connector.spec.parameters if p.default is not None
    }
    values.update({k: v for k, v in config.items() if v is not None})
    return values


def _check_folder(target: Path) -> None:
    try:
        handle, probe = tempfile.mkstemp(prefix=".probe-", dir=target.parent)
    except OSError as exc:
        msg = (
            f"cannot write the refresh token file {target} ({exc.strerror or exc}); "
            "fix the folder or the refresh_token_file setting first"
        )
        raise AuthFlowError(msg) from None
    os.close(handle)
    Path(probe).unlink()


def pkce_pair() -> tuple[str, str]:
    """A PKCE code verifier and its S256 challenge (RFC 7636)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class _Callback:
    """What the redirect brought: the code, or the error the API sent."""

    def __init__(self, path: str, state: str) -> None:
        self.path = path
        self.state = state
        self.code: str | None = None
        self.error: str | None = None
        self.done = threading.Event()

    def handler(self) -> type[BaseHTTPRequestHandler]:
        callback = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                split = urlsplit(self.path)
                if split.path != callback.path:
                    self.send_error(404)
                    return
                query = {k: v[0] for k, v in parse_qs(split.query).items()}
                if not hmac.compare_digest(query.get("state", ""), callback.state):
                    self.send_error(400, "state mismatch")
                    return
                if "error" in query:
                    callback.error = query["error"][:200]
                elif query.get("code"):
                    callback.code = query["code"]
                else:
                    self.send_error(400, "no code")
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(_DONE_PAGE)))
                self.end_headers()
                self.wfile.write(_DONE_PAGE)
                callback.done.set()

            def log_message(self, format: str, *args: object) -> None:
                """Stay quiet: the request line holds the code."""

        return Handler


def _wait_for_code(
    redirect_uri: str, state: str, timeout: float, announce: Callable[[], None]
) -> str:
    port = loopback_port(redirect_uri)
    if port is None:  # the spec check guarantees one
        msg = f"redirect_uri {redirect_uri} is not a loopback URL with a port"
        raise AuthFlowError(msg)
    callback = _Callback(urlsplit(redirect_uri).path or "/", state)
    try:
        server = HTTPServer(("127.0.0.1", port), callback.handler())
    except OSError as exc:
        msg = f"cannot listen on 127.0.0.1:{port} ({exc.strerror or exc})"
        raise AuthFlowError(msg) from None
    with server:
        server.timeout = 0.2
        announce()
        deadline = time.monotonic() + timeout
        while not callback.done.is_set() and time.monotonic() < deadline:
            server.handle_request()
    if callback.error:
        msg = f"the consent was not given: the API answered error={callback.error}"
        raise AuthFlowError(msg)
    if callback.code is None:
        msg = f"no redirect reached {redirect_uri} within {timeout:g} s; run it again"
        raise AuthFlowError(msg)
    return callback.code


def run_auth(
    connector: Connector,
    config: Mapping[str, t.Any],
    *,
    timeout: float,
    open_browser: bool,
    say: Callable[[str], None] = print,
) -> Path:
    """Run the consent flow; returns the file the refresh token was stored in.

    Raises:
        AuthFlowError: on a spec, config, consent or token problem.
    """
    auth = _oauth_block(connector)
    values = _values(connector, config)
    stored = values.get("refresh_token_file")
    if not stored:
        msg = "set refresh_token_file in the config: the refresh token is stored there"
        raise AuthFlowError(msg)
    target = Path(str(stored))
    _check_folder(target)
    try:
        base = render_text(values.get("api_url") or connector.spec.base_url, values)
        client_id = render_text(auth.client_id, values)
        client_secret = render_text(auth.client_secret, values)
        authorize = render_text(str(auth.authorize_url), values)
        token_url = render_text(auth.token_url, values)
        extra = render_data(dict(auth.extra_params), values)
        more = render_data(dict(auth.authorize_params), values)
    except LookupError as exc:
        msg = f"the config lacks a setting the authentication uses: {exc}"
        raise AuthFlowError(msg) from None
    register_secret(client_secret)

    def resolve(url: str) -> str:
        return base.rstrip("/") + url if url.startswith("/") else url

    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(16)
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": auth.redirect_uri,
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **({"scope": " ".join(auth.scopes)} if auth.scopes else {}),
        **{k: str(v) for k, v in more.items()},
    }
    authorize = resolve(authorize)
    consent = authorize + ("&" if "?" in authorize else "?") + urlencode(params)

    def announce() -> None:
        say(f"Open this URL in a browser and grant access:\n\n  {consent}\n")
        say(f"Waiting up to {timeout:g} s for the redirect to {auth.redirect_uri} ...")
        if open_browser:
            webbrowser.open(consent)

    code = _wait_for_code(auth.redirect_uri, state, timeout, announce)
    register_secret(code)
    data: dict[str, t.Any] = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": auth.redirect_uri,
        "code_verifier": verifier,
        **extra,
    }
    basic = None
    if auth.client_auth == "basic":
        basic = requests.auth.HTTPBasicAuth(client_id, client_secret)
    else:
        data["client_id"], data["client_secret"] = client_id, client_secret
    settings = ", ".join(credential_settings(connector))
    try:
        answer = _post_for_token(
            resolve(token_url),
            "the OAuth2 code exchange",
            settings,
            data=data,
            auth=basic,
        )
    except APIError as exc:
        raise AuthFlowError(str(exc)) from None
    refresh = answer.get("refresh_token") if isinstance(answer, dict) else None
    if not refresh:
        msg = (
            "the token endpoint answered no refresh_token: ask for offline access "
            "(authorize_params or scopes, as the API documents)"
        )
        raise AuthFlowError(msg)
    register_secret(str(refresh))
    try:
        _write_private(target, json.dumps({"refresh_token": str(refresh)}).encode())
    except OSError as exc:
        msg = f"cannot write {target} ({exc.strerror or exc}); nothing was stored"
        raise AuthFlowError(msg) from None
    say(f"Stored the refresh token in {target} (readable by you only).")
    return target
