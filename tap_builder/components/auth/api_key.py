"""``api_key``: a key in a request header or a query parameter (SDK class)."""

from __future__ import annotations

import typing as t

from pydantic import Field

from tap_builder.components.auth.model import AuthModel
from tap_builder.components.base import SDK_AUTH, AuthComponent
from tap_builder.spec.fields import NonEmpty, header_name_problem

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from tap_builder.spec.fields import Found, Loc


class ApiKeyAuth(AuthModel):
    """An API key sent in a header or a query parameter."""

    type: t.Literal["api_key"]
    location: t.Literal["header", "query"] = Field(
        description="Where the key goes: a request header or a URL query parameter."
    )
    name: NonEmpty = Field(
        description="Header or query-parameter name, e.g. x-api-key."
    )
    value: NonEmpty = Field(description="The key, usually {config.api_key}.")
    prefix: str = Field(
        "", description='Text sent before the key in the header, e.g. "Token ".'
    )

    @property
    def secret_query_params(self) -> tuple[str, ...]:
        """The key's parameter, when it goes in the query."""
        return (self.name,) if self.location == "query" else ()

    @property
    def credential_headers(self) -> tuple[str, ...]:
        """The key's header, when it goes in a header."""
        return (self.name,) if self.location == "header" else ()


def _problems(auth: ApiKeyAuth, loc: Loc) -> Iterator[Found]:
    if auth.location == "header" and (problem := header_name_problem(auth.name)):
        yield (*loc, "name"), problem
    if auth.prefix and auth.location != "header":
        yield (*loc, "prefix"), "only a key sent in a header (location: header) has one"
    if "{" in auth.prefix or "}" in auth.prefix:
        yield (*loc, "prefix"), "the prefix is literal text: put variables in value"


def _header_text(auth: ApiKeyAuth) -> Iterator[tuple[Loc, object]]:
    if auth.location == "header":
        yield ("value",), auth.value
        yield ("prefix",), auth.prefix


COMPONENT = AuthComponent(
    type="api_key",
    macro="api_key",
    class_name="APIKeyAuthenticator",
    module=SDK_AUTH,
    model=ApiKeyAuth,
    problems=_problems,
    header_text=_header_text,
    example="sample_specs/shopify.yaml",
)
