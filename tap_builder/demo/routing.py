"""How an emulated API is declared and how a request finds its handler.

An :class:`Api` is a path prefix, an authenticator and a table of
:class:`Route` s; a handler takes an :class:`ApiRequest` and returns a JSON
payload or an :class:`ApiResponse`, or raises :class:`ApiError` to answer with
an error. :func:`dispatch` picks the API by prefix, authenticates, resolves the
route (404/405 otherwise) and calls the handler. Nothing here touches a socket:
:mod:`tap_builder.demo.server` does.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

Record = dict[str, Any]


@dataclass(frozen=True)
class ApiRequest:
    """A request as a route handler sees it.

    Attributes:
        method: HTTP method.
        path: Path below the API prefix, percent-decoded.
        query: Query parameters.
        headers: Lower-cased headers.
        body: Parsed JSON body or None.
        params: Values of the ``{name}`` segments of the prefix and the route.
    """

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    params: dict[str, str]

    def arg(self, name: str) -> str | None:
        """The first value of query parameter ``name``, if sent."""
        values = self.query.get(name)
        return values[0] if values else None

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (any case), if sent."""
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class ApiResponse:
    """A JSON response (or raw bytes): status, payload and extra headers."""

    status: int
    payload: Payload | bytes
    headers: tuple[tuple[str, str], ...] = ()


class ApiError(Exception):
    """Raised by authenticators and handlers to answer with an error."""

    def __init__(
        self, status: int, message: str, headers: tuple[tuple[str, str], ...] = ()
    ) -> None:
        """Build the error.

        Args:
            status: HTTP status to answer.
            message: Human-readable explanation (never holds a secret).
            headers: Extra response headers, e.g. ``WWW-Authenticate``.
        """
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers

    def response(self) -> ApiResponse:
        """The JSON error response."""
        name = _ERROR_NAMES.get(self.status, "error")
        payload = {"error": name, "message": self.message}
        return ApiResponse(self.status, payload, self.headers)


_ERROR_NAMES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    429: "too_many_requests",
    409: "conflict",
    404: "not_found",
    405: "method_not_allowed",
    500: "internal_error",
}

#: A JSON response payload.
Payload = dict[str, Any] | list[Record]
Handler = Callable[[ApiRequest], "Payload | ApiResponse"]
Authenticator = Callable[[ApiRequest], None]


@dataclass(frozen=True)
class Route:
    """A method and path pattern (below the API prefix) mapped to a handler."""

    method: str
    pattern: re.Pattern[str]
    handler: Handler


@dataclass(frozen=True)
class Api:
    """One emulated API: a path prefix, an authenticator and its routes."""

    name: str
    prefix: re.Pattern[str]
    authenticate: Authenticator
    routes: tuple[Route, ...]


def route(method: str, template: str, handler: Handler) -> Route:
    """A route for ``method`` on ``template`` (``{name}`` segments become params)."""
    return Route(method, _pattern(template, whole=True), handler)


def define_api(
    name: str, prefix: str, authenticate: Authenticator, *routes: Route
) -> Api:
    """An emulated API serving ``routes`` below the path ``prefix``."""
    return Api(name, _pattern(prefix, whole=False), authenticate, routes)


def _pattern(template: str, *, whole: bool) -> re.Pattern[str]:
    """Compile ``/a/{name}/b`` into a regex with a named group per segment."""
    parts = re.split(r"\{(\w+)\}", template)
    regex = "".join(
        f"(?P<{part}>[^/]+)" if index % 2 else re.escape(part)
        for index, part in enumerate(parts)
    )
    return re.compile("^" + regex + ("$" if whole else "(?=/|$)"))


# --------------------------------------------------------------------------- #
# Authenticators
# --------------------------------------------------------------------------- #


def same(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a credential."""
    return given is not None and hmac.compare_digest(
        given.encode("utf-8"), expected.encode("utf-8")
    )


def basic_credentials(request: ApiRequest) -> tuple[str, str] | None:
    """The (username, password) of a Basic ``Authorization`` header, if valid."""
    scheme, _, token = (request.header("authorization") or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, colon, password = decoded.partition(":")
    return (username, password) if colon else None


def basic_auth(username: str, password: str, realm: str) -> Authenticator:
    """An authenticator for HTTP Basic credentials (RFC 7617)."""

    def authenticate(request: ApiRequest) -> None:
        given = basic_credentials(request) or (None, None)
        if not (same(given[0], username) and same(given[1], password)):
            challenge = (("WWW-Authenticate", f'Basic realm="{realm}"'),)
            message = f"invalid or missing Basic credentials for {realm}"
            raise ApiError(401, message, challenge)

    return authenticate


def header_auth(name: str, value: str) -> Authenticator:
    """An authenticator that requires header ``name`` to equal ``value``."""

    def authenticate(request: ApiRequest) -> None:
        if not same(request.header(name), value):
            raise ApiError(401, f"invalid or missing {name} header")

    return authenticate


def query_auth(name: str, value: str) -> Authenticator:
    """An authenticator that requires query parameter ``name`` to equal ``value``."""

    def authenticate(request: ApiRequest) -> None:
        if not same(request.arg(name), value):
            raise ApiError(401, f"invalid or missing {name} query parameter")

    return authenticate


def no_auth(request: ApiRequest) -> None:
    """An authenticator that lets every request through."""
    del request


# --------------------------------------------------------------------------- #
# Dispatch
# --------------------------------------------------------------------------- #


def _resolve(api: Api, request: ApiRequest) -> tuple[Route, dict[str, str]]:
    """The route matching the request below the prefix; 404 or 405 otherwise."""
    matches = [(r, m) for r in api.routes if (m := r.pattern.match(request.path))]
    for found, match in matches:
        if found.method == request.method:
            return found, match.groupdict()
    if matches:
        allowed = ", ".join(sorted({route.method for route, _ in matches}))
        raise ApiError(405, f"{request.method} not allowed here", (("Allow", allowed),))
    endpoint = request.path or "/"
    raise ApiError(404, f"the {api.name} demo API has no {endpoint} endpoint")


def _call(api: Api, request: ApiRequest) -> ApiResponse:
    try:
        api.authenticate(request)
        route, params = _resolve(api, request)
        result = route.handler(replace(request, params={**request.params, **params}))
    except ApiError as error:
        return error.response()
    return result if isinstance(result, ApiResponse) else ApiResponse(200, result)


def dispatch(request: ApiRequest, apis: Sequence[Api]) -> ApiResponse:
    """Answer a request whose ``path`` is the full (decoded) URL path.

    Args:
        request: The request; ``params`` is ignored.
        apis: The emulated APIs, matched by path prefix in this order.

    Returns:
        The JSON response, 404 when no API owns the path.
    """
    for api in apis:
        match = api.prefix.match(request.path)
        if match:
            below = request.path[match.end() :]
            return _call(api, replace(request, path=below, params=match.groupdict()))
    return ApiError(404, f"no demo API serves {request.path!r}").response()
