"""Authenticators beyond the SDK's: headers, OAuth2 tokens, session login.

OAuth2 rotating refresh tokens are kept in a file, written privately.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
import typing as t
from http import HTTPStatus
from pathlib import Path

import requests

from .http import APIError, GuardedSession, Limits, describe_failure
from .jsonio import decode_json, first_match
from .secrets import excerpt, redact_url, register_secret
from .variables import to_text

if t.TYPE_CHECKING:
    from collections.abc import Mapping


class HeadersAuthenticator(requests.auth.AuthBase):
    """Sets several headers on every request (their values are secrets)."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        """Send ``headers`` (name to value) on every request."""
        self.headers = dict(headers)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Set the headers on ``request``."""
        request.headers.update(self.headers)
        return request


#: Bounds on token and login answers.
TOKEN_LIMITS = Limits(max_bytes=1024 * 1024, max_seconds=120.0)


#: Tries of a token or login request (connection errors and 5xx answers).
_TOKEN_ATTEMPTS = 3


def _post_for_token(
    url: str,
    what: str,
    settings: str,
    **kwargs: t.Any,  # noqa: ANN401
) -> t.Any:  # noqa: ANN401
    """POST to a token or login endpoint (3 attempts on 5xx); the JSON answer.

    Raises:
        APIError: on a 4xx (naming the settings to check) or after the attempts.
    """
    where = redact_url(url)
    session = GuardedSession(
        home=url,
        owner=what,
        limits=TOKEN_LIMITS,
        hint=(
            "a token or login request follows no redirect to another origin, as it "
            "would re-send the credentials; set its URL to the address that answers"
        ),
    )
    last = _TOKEN_ATTEMPTS - 1
    for attempt in range(_TOKEN_ATTEMPTS):
        try:
            response = session.post(url, timeout=60, **kwargs)
        except requests.RequestException as exc:
            if attempt == last:
                msg = f"{what} at {where} failed: {describe_failure(exc, 60)}"
                raise APIError(msg) from None
            time.sleep(2**attempt)
            continue
        if response.status_code >= HTTPStatus.INTERNAL_SERVER_ERROR and attempt < last:
            time.sleep(2**attempt)
            continue
        if response.status_code >= HTTPStatus.BAD_REQUEST:
            snippet = excerpt(response.text, 200)
            msg = (
                f"{what} at {where} failed: HTTP {response.status_code} "
                f"{response.reason}: {snippet}. Check the settings {settings}."
            )
            raise APIError(msg)
        try:
            return decode_json(response.content)
        except ValueError:
            msg = f"{what} at {where} did not answer JSON"
            raise APIError(msg) from None
    msg = f"{what} at {where} failed"  # pragma: no cover - the loop returns or raises
    raise APIError(msg)


class OAuth2Authenticator(requests.auth.AuthBase):
    """OAuth2 bearer tokens from the token endpoint, renewed before they expire.

    With the refresh_token grant and ``refresh_token_file`` set, the newest
    refresh token is read from that file at start (it wins over the config) and
    every rotated one is written to it at once, so a rotation is never lost.
    """

    #: Renew this long before the token expires.
    MARGIN_SECONDS = 60.0

    def __init__(
        self,
        *,
        token_url: str,
        grant_type: str,
        client_id: str,
        client_secret: str,
        settings: str,
        refresh_token: str | None = None,
        scopes: t.Sequence[str] = (),
        client_auth: str = "body",
        extra_params: Mapping[str, t.Any] | None = None,
        refresh_token_file: str | None = None,
    ) -> None:
        """Get tokens from ``token_url``; ``settings`` names the settings to check."""
        self.token_url = token_url
        self.grant_type = grant_type
        self.client = (client_id, client_secret)
        self.settings = settings
        self.scopes = tuple(scopes)
        self.client_auth = client_auth
        self.extra_params = dict(extra_params or {})
        self.refresh_token_file = refresh_token_file
        self.refresh_token = self._stored_refresh_token() or refresh_token
        register_secret(self.refresh_token)
        self._token: str | None = None
        self._expires_at = 0.0
        self._folder_checked = False
        self._lock = threading.Lock()

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Send the access token, fetching a new one when it is (nearly) expired."""
        with self._lock:
            if self._token is None or time.monotonic() >= self._expires_at:
                self._fetch()
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def _fetch(self) -> None:
        # authorization_code: the code was exchanged once (``tap-builder auth``);
        # runs use the refresh token it stored.
        refreshing = self.grant_type in {"refresh_token", "authorization_code"}
        grant = "refresh_token" if refreshing else self.grant_type
        data: dict[str, t.Any] = {"grant_type": grant, **self.extra_params}
        self._check_token_folder()
        if refreshing:
            if not self.refresh_token:
                msg = (
                    "no refresh token yet: run `tap-builder auth SPEC --config "
                    "CONFIG` once, which stores one in the file the "
                    "refresh_token_file setting names"
                )
                raise APIError(msg)
            data["refresh_token"] = self.refresh_token
        if self.scopes:
            data["scope"] = " ".join(self.scopes)
        auth = None
        if self.client_auth == "basic":
            auth = requests.auth.HTTPBasicAuth(*self.client)
        else:
            data["client_id"], data["client_secret"] = self.client
        answer = _post_for_token(
            self.token_url,
            "the OAuth2 token request",
            self.settings,
            data=data,
            auth=auth,
        )
        token = answer.get("access_token") if isinstance(answer, dict) else None
        if not token:
            where = redact_url(self.token_url)
            msg = f"the OAuth2 token endpoint {where} sent no access_token"
            raise APIError(msg)
        register_secret(token)
        self._token = str(token)
        lifetime = _lifetime(answer.get("expires_in"), self.token_url)
        self._expires_at = time.monotonic() + max(
            0.0, lifetime - min(self.MARGIN_SECONDS, lifetime / 10)
        )
        if rotated := answer.get("refresh_token"):
            register_secret(rotated)
            self.refresh_token = str(rotated)
            self._store_refresh_token(self.refresh_token)

    def _stored_refresh_token(self) -> str | None:
        if not self.refresh_token_file:
            return None
        try:
            with Path(self.refresh_token_file).open("rb") as file:
                data = json.loads(file.read(64 * 1024))
        except (OSError, ValueError):
            return None
        token = data.get("refresh_token") if isinstance(data, dict) else None
        return str(token) if token else None

    def _check_token_folder(self) -> None:
        """Before a rotating token is spent, make sure its successor can be saved.

        Raises:
            APIError: when no file can be created next to ``refresh_token_file``
                (the current token still works then: nothing was rotated yet).
        """
        if not self.refresh_token_file or self._folder_checked:
            return
        target = Path(self.refresh_token_file)
        try:
            handle, probe = tempfile.mkstemp(prefix=".probe-", dir=target.parent)
            os.close(handle)
            Path(probe).unlink()
        except OSError as exc:
            msg = (
                f"cannot save rotated refresh tokens to {target} "
                f"({exc.strerror or exc}); fix the folder or the refresh_token_file "
                "setting first (no token was requested, the current one still works)"
            )
            raise APIError(msg) from None
        self._folder_checked = True

    def _store_refresh_token(self, token: str) -> None:
        """Write the token to ``refresh_token_file``: 0600 from creation, atomically.

        Raises:
            APIError: when it cannot be written there; the token is then kept in a
                fallback file (named in the message) so that it is not lost.
        """
        if not self.refresh_token_file:
            return
        target = Path(self.refresh_token_file)
        content = json.dumps({"refresh_token": token}).encode()
        try:
            _write_private(target, content)
        except OSError as exc:
            fallback = _fallback_token_file(target.name, content)
            where = (
                f"it was saved to {fallback} instead"
                if fallback
                else ("it could not be saved anywhere else either")
            )
            msg = (
                f"the API rotated the refresh token, but {target} cannot be written "
                f"({exc.strerror or exc}); {where}: move that file to {target} "
                "before the next run"
            )
            raise APIError(msg) from None


def _lifetime(value: object, token_url: str) -> float:
    """Seconds an access token lives (``expires_in``; 3600 when absent).

    Raises:
        APIError: when ``expires_in`` is not a sane number of seconds.
    """
    if value is None or value == "":
        return 3600.0
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        seconds = float("nan")
    if isinstance(value, bool) or not 0 <= seconds <= 10 * 365 * 86400:
        msg = (
            f"the OAuth2 token endpoint {redact_url(token_url)} answered expires_in "
            f"{to_text(value)[:40]!r}, which is not a number of seconds"
        )
        raise APIError(msg)
    return seconds


def _write_private(target: Path, content: bytes) -> None:
    """Replace ``target`` with ``content`` atomically; readable by the owner only.

    The temporary file is created with mode 0600 and ``O_EXCL`` under a random
    name (no planted file or symlink is followed); ``os.replace`` swaps it in.
    """
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        Path(temporary).replace(target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _fallback_token_file(name: str, content: bytes) -> Path | None:
    """Keep a token that could not be saved where configured; None if impossible."""
    for folder in (Path.cwd(), Path.home(), Path(tempfile.gettempdir())):
        try:
            handle, path = tempfile.mkstemp(prefix=f"{name}.", dir=folder)
            with os.fdopen(handle, "wb") as file:
                file.write(content)
        except OSError:
            continue
        return Path(path)
    return None


class SessionAuthenticator(requests.auth.AuthBase):
    """Logs in once (POST of credentials), then sends the session token."""

    def __init__(
        self,
        *,
        login_url: str,
        body: Mapping[str, t.Any],
        answer_selector: str,
        header: str,
        prefix: str,
        settings: str,
    ) -> None:
        """Log in at ``login_url``; ``settings`` names the settings to check."""
        self.login_url = login_url
        self.body = dict(body)
        #: JSONPath to the token in the login answer.
        self.answer_selector = answer_selector
        self.header = header
        self.prefix = prefix
        self.settings = settings
        self._token: str | None = None
        self._lock = threading.Lock()

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Send the session token, logging in first if needed."""
        with self._lock:
            if self._token is None:
                self._token = self._login()
        request.headers[self.header] = f"{self.prefix}{self._token}"
        return request

    def _login(self) -> str:
        answer = _post_for_token(
            self.login_url, "the login", self.settings, json=self.body
        )
        token = first_match(self.answer_selector, answer)
        if token in (None, ""):
            msg = (
                f"the login at {redact_url(self.login_url)} answered no token at "
                f"{self.answer_selector}"
            )
            raise APIError(msg)
        register_secret(str(token))
        return str(token)
