"""HTTP for generated taps: credentials stay at the API's origin, answers are bounded.

Also failures in words; the request budget and the waits an API asks for are in
:mod:`.budget`.
"""

from __future__ import annotations

import contextlib
import ipaddress
import time
import typing as t
from dataclasses import dataclass
from urllib.parse import (
    parse_qsl,
    urlencode,
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


def read_some(response: requests.Response) -> bytes:
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
        while chunk := read_some(response):
            body += chunk
            if len(body) > self.limits.max_bytes:
                raise ResponseTooLargeError(self._too_large(response))
            if time.monotonic() > deadline:
                seconds = self.limits.max_seconds
                msg = f"no complete answer within {seconds:g} s"
                raise DeadlineExceededError(msg, response=response)
        return bytes(body)

    def _too_large(self, response: requests.Response) -> str:
        where = redact_url(response.url, self.credential_params)
        megabytes = self.limits.max_bytes / 1024 / 1024
        return (
            f"{self.owner}: the answer from {where} is larger than {megabytes:g} MB "
            "(the max_response_mb setting); reading stopped"
        )


class APIError(FatalAPIError):
    """A request failed for good; the message is meant for the user."""


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
