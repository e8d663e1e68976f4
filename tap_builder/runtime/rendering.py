"""Rendering spec values in generated streams: variables, secrets, requests."""

from __future__ import annotations

import typing as t
import weakref

from singer_sdk import RESTStream
from singer_sdk.authenticators import BasicAuthenticator

from .http import APIError
from .secrets import register_basic_credentials, register_secret
from .variables import (
    MissingValueError,
    render_data,
    render_fields,
    render_text,
    strings_in,
    to_text,
)

if t.TYPE_CHECKING:
    from collections.abc import Mapping

    from singer_sdk import Tap
    from singer_sdk.streams.rest import HTTPRequest


def set_in_body(body: dict[str, t.Any], path: str, value: object) -> None:
    """Put ``value`` at the dotted ``path`` of a JSON body (None: left out)."""
    if value is None:
        return
    *parents, last = path.split(".")
    node = body
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value


#: An authenticator type.
_Auth = t.TypeVar("_Auth")

#: Authenticators shared by the streams of one tap, by tap.
_SHARED_AUTHENTICATORS: weakref.WeakKeyDictionary[Tap, t.Any] = (
    weakref.WeakKeyDictionary()
)


class RenderingStream(RESTStream[t.Any]):
    """Spec strings rendered with the config (and context), secrets registered."""

    #: The tap this stream belongs to (set by the base stream).
    owner: Tap

    # -- rendering ---------------------------------------------------------- #

    def render_text(self, template: str, context: Mapping[str, t.Any] | None) -> str:
        """Render a spec string; a missing value is an error naming the setting."""
        try:
            return render_text(template, self.config, context)
        except MissingValueError as exc:
            msg = f"{self.name}: {exc}, but {template!r} needs it"
            raise APIError(msg) from None

    def render_secret(self, template: str) -> str:
        """Render an authentication value and register it as a secret."""
        value = self.render_text(template, None)
        register_secret(value)
        return value

    def basic_authenticator(self, username: str, password: str) -> BasicAuthenticator:
        """HTTP Basic authentication; both values and the header are secrets."""
        user = self.render_text(username, None)
        secret = self.render_text(password, None)
        register_basic_credentials(user, secret)
        return BasicAuthenticator(username=user, password=secret)

    def render_secret_data(self, template: object) -> t.Any:  # noqa: ANN401
        """Render a JSON value (e.g. a login body); every string in it is secret."""
        value = render_data(template, self.config, None)
        for text in strings_in(value):
            register_secret(text)
        return value

    def resolve_url(self, template: str) -> str:
        """A URL from the spec: absolute, or a path joined to the base URL."""
        url = self.render_text(template, None)
        return self.url_base + url if url.startswith("/") else url

    def shared_authenticator(self, build: t.Callable[[], _Auth]) -> _Auth:
        """One authenticator per tap, shared by its streams (tokens are reused)."""
        shared = _SHARED_AUTHENTICATORS.get(self.owner)
        if shared is None:
            shared = _SHARED_AUTHENTICATORS[self.owner] = build()
        return t.cast("_Auth", shared)

    def render_fields(
        self, fields: Mapping[str, object], context: Mapping[str, t.Any] | None
    ) -> dict[str, str]:
        """Render query parameters or headers (entries on unset settings dropped)."""
        return render_fields(fields, self.config, context)

    def render_data(
        self, template: object, context: Mapping[str, t.Any] | None
    ) -> t.Any:  # noqa: ANN401
        """Render a JSON request body."""
        return render_data(template, self.config, context)

    set_in_body = staticmethod(set_in_body)

    @staticmethod
    def follow_next_url(request: HTTPRequest, next_url: str | None) -> None:
        """Request the next page's URL as given (it carries its own query)."""
        if next_url:
            request.url = next_url
            request.params = {}

    @staticmethod
    def set_header(request: HTTPRequest, name: str, value: object) -> None:
        """Send ``value`` as header ``name``, unless it is None."""
        if value is not None:
            request.headers[name] = to_text(value)
