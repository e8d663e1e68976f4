"""HTTP for generated taps: credentials stay at the API's origin, answers are bounded.

Also retry timing (``Retry-After``, rate-limit resets) and failures in words.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import ipaddress
import os
import re
import threading
import time
import typing as t
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from urllib.parse import (
    parse_qsl,
    urlencode,
    urljoin,
    urlsplit,
    urlunsplit,
)

import requests
import urllib3
from singer_sdk.exceptions import FatalAPIError

if t.TYPE_CHECKING:
    from collections.abc import Iterable


from .secrets import redact_url

Origin = tuple[str, str, int]
_DEFAULT_PORTS = {"http": 80, "https": 443}
#: Headers that carry credentials whatever the authentication type.
ALWAYS_CREDENTIAL_HEADERS = ("Authorization", "Proxy-Authorization", "Cookie")


def origin_of(url: str) -> Origin:
    """``(scheme, host, port)`` of a URL, with the scheme's default port filled in."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    host = (parts.hostname or "").lower()
    with contextlib.suppress(ValueError):  # IP addresses in one spelling
        host = ipaddress.ip_address(host).compressed
    return scheme, host, port or _DEFAULT_PORTS.get(scheme, 0)


def show_origin(origin: Origin) -> str:
    """``https://api.example.com`` (the port only when it is not the default)."""
    scheme, host, port = origin
    shown = f"[{host}]" if ":" in host else host
    if port != _DEFAULT_PORTS.get(scheme):
        shown += f":{port}"
    return f"{scheme}://{shown}"


def host_allowed(origin: Origin, allowed_hosts: Iterable[str]) -> bool:
    """Whether ``origin`` matches an ``allowed_hosts`` entry.

    An entry is a host (any port), ``host:port``, or ``*.domain`` (subdomains of
    domain, not domain itself).
    """
    _, host, port = origin
    for entry in allowed_hosts:
        name, _, wanted = entry.lower().rpartition(":")
        if not name or not wanted.isdigit():  # no port in the entry
            name, wanted = entry.lower(), ""
        if wanted and int(wanted) != port:
            continue
        name = name.strip("[]")
        with contextlib.suppress(ValueError):
            name = ipaddress.ip_address(name).compressed
        if name.startswith("*."):
            if host.endswith(name[1:]) and host != name[2:]:
                return True
        elif host == name:
            return True
    return False


class OriginError(FatalAPIError):
    """A request would carry credentials to another origin; it was not sent."""


class ResponseTooLargeError(FatalAPIError):
    """An answer was larger than the response size limit; reading stopped."""


class DeadlineExceededError(requests.exceptions.Timeout):
    """An answer took longer than the total deadline (even if bytes kept coming)."""


@dataclass(frozen=True)
class Limits:
    """Bounds on one request: answer size (decompressed) and total seconds."""

    max_bytes: int = 256 * 1024 * 1024
    max_seconds: float = 900.0


def _read_some(response: requests.Response) -> bytes:
    """The next bytes of a streamed body as soon as any arrive (decompressed).

    ``read1`` returns what the socket has instead of waiting for a full chunk,
    so the caller can check its deadline between reads; decompression is
    bounded per call. urllib3's errors become the ones requests raises.
    """
    try:
        return bytes(response.raw.read1(1 << 16, decode_content=True))
    except urllib3.exceptions.ReadTimeoutError as exc:
        raise requests.exceptions.ReadTimeout(exc, response=response) from None
    except urllib3.exceptions.ProtocolError as exc:
        raise requests.exceptions.ChunkedEncodingError(exc, response=response) from None
    except urllib3.exceptions.DecodeError as exc:
        raise requests.exceptions.ContentDecodingError(exc, response=response) from None
    except urllib3.exceptions.SSLError as exc:
        raise requests.exceptions.SSLError(exc, response=response) from None


class GuardedSession(requests.Session):
    """A ``requests.Session`` that keeps credentials at home and bounds answers.

    Every request it sends, redirects included, is checked against the home
    origin (scheme, host, port): there it goes as prepared. A request to another
    origin is refused with :class:`OriginError`, unless its host is in
    ``allowed_hosts``; then it goes without credentials (every credential
    header, and query parameters that carry keys, removed). An HTTPS home never
    sends anything over plain HTTP.

    Bodies are read as they arrive, decompressed size included, and reading
    stops with a clear error past ``limits.max_bytes`` or ``limits.max_seconds``
    (a server trickling bytes cannot hold a request open).
    """

    def __init__(
        self,
        *,
        home: str,
        owner: str,
        limits: Limits,
        allowed_hosts: Iterable[str] = (),
        credential_headers: Iterable[str] = (),
        credential_params: Iterable[str] = (),
        hint: str = "",
    ) -> None:
        """A session for requests to ``home``, on behalf of ``owner``."""
        super().__init__()
        self.home = origin_of(home)
        self.owner = owner
        self.limits = limits
        self.allowed_hosts = tuple(allowed_hosts)
        self.credential_headers = {
            name.lower() for name in (*ALWAYS_CREDENTIAL_HEADERS, *credential_headers)
        }
        self.credential_params = set(credential_params)
        self.hint = hint
        self._redirected = False

    def send(
        self,
        request: requests.PreparedRequest,
        **kwargs: t.Any,  # noqa: ANN401
    ) -> requests.Response:
        """Send ``request`` (and follow redirects) under the origin rule."""
        allow_redirects = bool(kwargs.pop("allow_redirects", True))
        kwargs.pop("stream", None)
        self._guard(request)
        hooks, request.hooks = request.hooks, {"response": []}
        deadline = time.monotonic() + self.limits.max_seconds
        try:
            response = super().send(
                request, allow_redirects=False, stream=True, **kwargs
            )
        finally:
            request.hooks = hooks
        self._read(response, deadline)
        for hook in hooks.get("response", []):  # as requests' dispatch_hook
            response = hook(response, **kwargs) or response
        if not (allow_redirects and response.is_redirect):
            return response
        self._redirected = True
        try:
            history: list[requests.Response] = [response]
            history += self.resolve_redirects(response, request, **kwargs)
        finally:
            self._redirected = False
        final = history.pop()
        final.history = history
        return final

    def _guard(self, request: requests.PreparedRequest) -> None:
        url = str(request.url)
        target = origin_of(url)
        if target == self.home:
            return
        how = "redirected" if self._redirected else "sent to"
        home, there = show_origin(self.home), show_origin(target)
        if self.home[0] == "https" and target[0] != "https":
            msg = (
                f"{self.owner}: the API {how} {there}, which is not HTTPS; "
                f"refused, so that nothing goes unencrypted (the API is {home})"
            )
            raise OriginError(msg)
        if not host_allowed(target, self.allowed_hosts):
            hint = self.hint or (
                f"if {there} really belongs to the API, list {target[1]!r} in the "
                "spec's allowed_hosts (requests to it carry no credentials)"
            )
            msg = (
                f"{self.owner}: the API {how} {there}, but credentials go only to "
                f"{home}; refused ({hint})"
            )
            raise OriginError(msg)
        for name in list(request.headers):
            if name.lower() in self.credential_headers:
                del request.headers[name]
        if self.credential_params:
            parts = urlsplit(url)
            query = [
                (name, value)
                for name, value in parse_qsl(parts.query, keep_blank_values=True)
                if name not in self.credential_params
            ]
            request.url = urlunsplit(parts._replace(query=urlencode(query)))

    def _read(self, response: requests.Response, deadline: float) -> None:
        """Read the whole body within the size and time limits."""
        limit = self.limits.max_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            response.close()
            raise ResponseTooLargeError(self._too_large(response))
        try:
            body = self._read_body(response, deadline)
        except BaseException:
            response.close()
            raise
        response._content = body  # noqa: SLF001 - where requests keeps a read body

    def _read_body(self, response: requests.Response, deadline: float) -> bytes:
        body = bytearray()
        while chunk := _read_some(response):
            body += chunk
            if len(body) > self.limits.max_bytes:
                raise ResponseTooLargeError(self._too_large(response))
            if time.monotonic() > deadline:
                seconds = self.limits.max_seconds
                msg = f"no complete answer within {seconds:g} s"
                raise DeadlineExceededError(msg, response=response)
        return bytes(body)

    def open_streamed(
        self, request: requests.PreparedRequest, *, timeout: float
    ) -> requests.Response:
        """Send ``request`` under the origin rule and return the answer unread.

        For files too large to hold: read the body with :class:`StreamedBody`.
        Redirects (at most 10) are followed, each checked like the first.
        """
        for _ in range(11):
            self._guard(request)
            response = super().send(
                request, allow_redirects=False, stream=True, timeout=timeout
            )
            target = self.get_redirect_target(response)
            if target is None:
                return response
            response.close()
            request = request.copy()
            request.prepare_url(urljoin(str(response.url), target), None)
            if response.status_code != HTTPStatus.TEMPORARY_REDIRECT:
                request.method, request.body = "GET", None
            self._redirected = True
        self._redirected = False
        where = redact_url(str(request.url), self.credential_params)
        msg = f"{self.owner}: more than 10 redirects, the last to {where}"
        raise APIError(msg)

    def _too_large(self, response: requests.Response) -> str:
        where = redact_url(response.url, self.credential_params)
        megabytes = self.limits.max_bytes / 1024 / 1024
        return (
            f"{self.owner}: the answer from {where} is larger than {megabytes:g} MB "
            "(the max_response_mb setting); reading stopped"
        )


class APIError(FatalAPIError):
    """A request failed for good; the message is meant for the user."""


class StreamedBody(io.RawIOBase):
    """A streamed answer as a binary file, read as it arrives.

    Reading stops with a clear error past the session's size limit
    (decompressed ``Content-Encoding`` included) or its total deadline.
    """

    def __init__(self, session: GuardedSession, response: requests.Response) -> None:
        """Read ``response`` within ``session``'s limits, from now."""
        super().__init__()
        self._session = session
        self._response = response
        self._deadline = time.monotonic() + session.limits.max_seconds
        self._pending = b""
        self._read = 0

    def readable(self) -> bool:
        """A body is readable."""
        return True

    def readinto(self, buffer: t.Any) -> int:  # noqa: ANN401
        """Fill ``buffer`` with the next bytes; 0 at the end of the body."""
        if not self._pending:
            self._pending = _read_some(self._response)
            self._read += len(self._pending)
            if self._read > self._session.limits.max_bytes:
                too_large = self._session._too_large(self._response)  # noqa: SLF001
                raise ResponseTooLargeError(too_large)
            if time.monotonic() > self._deadline:
                seconds = self._session.limits.max_seconds
                msg = f"no complete answer within {seconds:g} s"
                raise DeadlineExceededError(msg, response=self._response)
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def close(self) -> None:
        """Close the connection too."""
        self._response.close()
        super().close()


#: A reset value above this many seconds is a Unix time, not a wait.
_ONE_DAY = 86400

#: Rate-limit reset headers: seconds until the reset, or its Unix time.
RESET_HEADERS = ("X-RateLimit-Reset", "RateLimit-Reset", "X-Rate-Limit-Reset")


def retry_after_seconds(response: requests.Response | None) -> float | None:
    """Seconds an API asked us to wait.

    ``Retry-After`` (seconds or an HTTP date) first; else, on a 429, an
    ``X-RateLimit-Reset``-style header (seconds to wait, or the reset's Unix time
    when the number is larger than a day).
    """
    if response is None:
        return None
    header = response.headers.get("Retry-After", "").strip()
    if not header:
        return _reset_seconds(response)
    if re.fullmatch(r"\d+(\.\d+)?", header):
        return float(header)
    try:
        when = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _reset_seconds(response: requests.Response) -> float | None:
    if response.status_code != HTTPStatus.TOO_MANY_REQUESTS:
        return None
    for name in RESET_HEADERS:
        raw = response.headers.get(name, "").strip()
        if re.fullmatch(r"\d+(\.\d+)?", raw):
            value = float(raw)
            if value > _ONE_DAY:  # a Unix time
                value -= dt.datetime.now(dt.UTC).timestamp()
            return max(0.0, value)
    return None


def describe_failure(exc: BaseException, timeout: float) -> str:
    """What went wrong with a request that got no usable answer, in words."""
    if isinstance(exc, DeadlineExceededError):
        return f"{exc} (the max_request_seconds setting)"
    if isinstance(exc, requests.Timeout):
        return f"no answer within {timeout} s (the request_timeout setting)"
    text = str(exc)
    return next(
        (words for matches, words in _FAILURES if matches(exc, text)),
        f"the request failed ({type(exc).__name__})",
    )


#: Failures told by their exception and its text, in order: the first match wins.
_FAILURES: tuple[tuple[t.Callable[[BaseException, str], bool], str], ...] = (
    (
        lambda _, text: (
            "Name or service not known" in text or "Failed to resolve" in text
        ),
        "cannot reach the host: its name does not resolve",
    ),
    (
        lambda _, text: "refused" in text,
        "cannot reach the host: the connection was refused (check api_url)",
    ),
    (
        lambda exc, _: isinstance(exc, requests.exceptions.ChunkedEncodingError),
        "the answer was cut off",
    ),
    (
        lambda exc, text: (
            isinstance(exc, ConnectionResetError)
            or "reset" in text
            or "aborted" in text
        ),
        "the connection was reset",
    ),
)


class Cancelled(Exception):  # noqa: N818 - a state, not an error
    """A request was called off before it was sent (the sync is ending)."""


class Budget:
    """The request budget of the whole process, shared by every stream and worker.

    Requests are spaced ``min_interval`` apart (each takes the next free slot,
    then sleeps outside the lock, so several workers queue in order), and a
    pause asked for by the API (``Retry-After``, a rate-limit reset) holds back
    every request, not only the one that got the 429.
    """

    def __init__(self, share: int = 1) -> None:
        """An empty budget: no request sent, no pause.

        ``share``: how many processes split the tap's budget (``parallel_streams``
        runs units as child processes): each spaces its requests ``share`` times
        the interval, so together they stay within the spec's rate.
        """
        self._lock = threading.Lock()
        self._last = 0.0
        self._paused_until = 0.0
        self._share = max(1, share)

    def pause(self, seconds: float) -> None:
        """Hold back every request for ``seconds`` from now."""
        if seconds > 0:
            with self._lock:
                self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def wait(
        self,
        min_interval: float,
        not_before: float = 0.0,
        cancel: threading.Event | None = None,
    ) -> None:
        """Sleep until this request may go: its slot, the pause, ``not_before``.

        Raises:
            Cancelled: when ``cancel`` is set before or while waiting.
        """
        while True:
            with self._lock:
                now = time.monotonic()
                slot = max(now, not_before, self._paused_until)
                if min_interval > 0:
                    slot = max(slot, self._last + min_interval * self._share)
                    self._last = slot
            delay = slot - now
            if cancel is not None and (cancel.is_set() or cancel.wait(delay)):
                raise Cancelled
            if cancel is None and delay > 0:
                time.sleep(delay)
            if time.monotonic() >= self._paused_until:  # no pause began meanwhile
                return


#: Set by a parallel_streams tap for its child processes: how many share its budget.
BUDGET_SHARE_ENV = "TAP_BUDGET_SHARE"


def _share_from_env() -> int:
    text = os.environ.get(BUDGET_SHARE_ENV, "")
    return int(text) if text.isdigit() else 1


#: The budget of this process.
BUDGET = Budget(_share_from_env())


def wait_for_rate_limit(min_interval: float) -> None:
    """Sleep so that requests of this process are ``min_interval`` apart.

    Also waits out a pause an API asked for (see :class:`Budget`).
    """
    BUDGET.wait(min_interval)
