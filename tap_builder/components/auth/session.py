"""``session``: log in once, then send the session token in a header (run-time)."""

from __future__ import annotations

import typing as t

from pydantic import Field

from tap_builder.components.auth.model import AuthModel
from tap_builder.components.base import RUNTIME_AUTH, AuthComponent
from tap_builder.spec.fields import NonEmpty, header_name_problem, jsonpath_problem

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from tap_builder.spec.fields import Found, Loc


class SessionAuth(AuthModel):
    """Log in once (POST credentials), then send the session token as a header."""

    type: t.Literal["session"]
    login_url: NonEmpty = Field(
        description="Login endpoint: a URL, or a path joined to the API's base URL."
    )
    body: dict[NonEmpty, t.Any] = Field(description="JSON body of the login request.")
    token_selector: NonEmpty = Field(description="JSONPath to the token in the answer.")
    header: NonEmpty = Field("Authorization", description="Header that carries it.")
    prefix: str = Field("Bearer ", description="Text before the token in the header.")

    @property
    def credential_headers(self) -> tuple[str, ...]:
        """The header that carries the session token."""
        return (self.header,)


def _problems(auth: SessionAuth, loc: Loc) -> Iterator[Found]:
    if problem := jsonpath_problem(auth.token_selector):
        yield (*loc, "token_selector"), problem
    if problem := header_name_problem(auth.header):
        yield (*loc, "header"), problem


def _header_text(auth: SessionAuth) -> Iterator[tuple[Loc, object]]:
    yield ("prefix",), auth.prefix


COMPONENT = AuthComponent(
    type="session",
    macro="session",
    class_name="SessionAuthenticator",
    module=RUNTIME_AUTH,
    model=SessionAuth,
    problems=_problems,
    header_text=_header_text,
    example="sample_specs/features/lab_session.yaml",
)
