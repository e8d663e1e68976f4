"""``headers``: several credential headers on every request (run-time class)."""

from __future__ import annotations

import typing as t

from pydantic import Field

from tap_builder.components.auth.model import AuthModel
from tap_builder.components.base import RUNTIME_AUTH, AuthComponent
from tap_builder.spec.fields import NonEmpty, header_name_problem

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from tap_builder.spec.fields import Found, Loc


class HeadersAuth(AuthModel):
    """Several headers on every request (e.g. APIs with two keys)."""

    type: t.Literal["headers"]
    headers: t.Annotated[dict[NonEmpty, NonEmpty], Field(min_length=1)] = Field(
        description="Header name -> value (values may hold variables)."
    )

    @property
    def credential_headers(self) -> tuple[str, ...]:
        """Every header it sends."""
        return tuple(self.headers)


def _problems(auth: HeadersAuth, loc: Loc) -> Iterator[Found]:
    for name in auth.headers:
        if problem := header_name_problem(name):
            yield (*loc, "headers", name), problem


def _header_text(auth: HeadersAuth) -> Iterator[tuple[Loc, object]]:
    for name, value in auth.headers.items():
        yield ("headers", name), value


COMPONENT = AuthComponent(
    type="headers",
    macro="headers",
    class_name="HeadersAuthenticator",
    module=RUNTIME_AUTH,
    model=HeadersAuth,
    problems=_problems,
    header_text=_header_text,
    example="sample_specs/features/lab.yaml",
)
