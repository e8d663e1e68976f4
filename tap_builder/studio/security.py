"""Who may talk to the studio: the token, the Host and the Origin.

The studio listens on 127.0.0.1 only, but any web page the user opens could
still send requests to it (CSRF), or reach it through a name that resolves to
127.0.0.1 (DNS rebinding). So, as Jupyter does, every request must carry the
random token printed with the URL (the first page load moves it into a
same-site cookie); the Host header must name the studio's own address; a
request with an Origin must come from the studio's own pages; and every
request that changes something must also carry the token in a header, which
no other site's page can set.
"""

from __future__ import annotations

import secrets
import typing as t
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

if t.TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

#: The header pages send the token in.
TOKEN_HEADER = "x-studio-token"  # noqa: S105 - a header name, not a secret
#: Methods that only read.
SAFE_METHODS = {"GET", "HEAD"}

#: Headers on every response: no framing, no sniffing, scripts and styles from
#: the studio only (a spec string can never run as code), images also from
#: https (a logo preview).
SECURITY_HEADERS = (
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; "
        b"img-src 'self' https: data:; connect-src 'self'; object-src 'none'; "
        b"base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
)


def cookie_name(port: int) -> str:
    """The token cookie's name (per port: two studios do not share it)."""
    return f"tap_builder_studio_{port}"


class Guard:
    """ASGI middleware refusing requests without the token or from elsewhere."""

    def __init__(self, app: ASGIApp, token: str, port: int) -> None:
        self.app = app
        self.token = token
        self.port = port
        self.hosts = {f"127.0.0.1:{port}", f"localhost:{port}"}
        self.origins = {f"http://{host}" for host in self.hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the request, then pass it on with the security headers."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = self.problem(scope)
        if problem is not None:
            await _forbidden(send, problem)
            return

        async def with_headers(message: t.MutableMapping[str, t.Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)

    def problem(self, scope: Scope) -> str | None:
        """Why the request is refused, or None."""
        headers = {
            k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]
        }
        if headers.get("host") not in self.hosts:
            return "the Host header does not name this studio (DNS rebinding?)"
        origin = headers.get("origin")
        if origin is not None and origin not in self.origins:
            return "requests from other sites are refused"
        header_token = headers.get(TOKEN_HEADER, "")
        if scope["method"] not in SAFE_METHODS:
            if not self._matches(header_token):
                return "a request that changes something needs the studio token header"
            return None
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        given = [*query.get("token", []), header_token, self._cookie(headers)]
        if not any(self._matches(value) for value in given):
            return "the studio token is missing or wrong; open the URL it printed"
        return None

    def _cookie(self, headers: dict[str, str]) -> str:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(headers.get("cookie", ""))
        except Exception:
            return ""
        morsel = jar.get(cookie_name(self.port))
        return morsel.value if morsel is not None else ""

    def _matches(self, value: str) -> bool:
        return bool(value) and secrets.compare_digest(value, self.token)


async def _forbidden(send: Send, reason: str) -> None:
    body = f"403 forbidden: {reason}\n".encode()
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                *SECURITY_HEADERS,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
