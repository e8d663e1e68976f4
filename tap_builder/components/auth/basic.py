"""``basic``: HTTP Basic credentials (the SDK's class, built once per tap)."""

from __future__ import annotations

import typing as t

from pydantic import Field, field_validator

from tap_builder.components.auth.model import AuthModel
from tap_builder.components.base import SDK_AUTH, AuthComponent
from tap_builder.spec.fields import NonEmpty

if t.TYPE_CHECKING:
    from collections.abc import Iterator


class BasicAuth(AuthModel):
    """HTTP Basic authentication (RFC 7617)."""

    type: t.Literal["basic"]
    username: NonEmpty = Field(description="User name, may hold variables.")
    password: str = Field("", description="Password; empty or omitted for none.")

    @field_validator("password", mode="before")
    @classmethod
    def _none_is_empty(cls, value: object) -> object:
        return "" if value is None else value


def _pairs(auth: BasicAuth) -> Iterator[tuple[str, str]]:
    yield auth.username, auth.password


COMPONENT = AuthComponent(
    type="basic",
    macro="basic",
    class_name="BasicAuthenticator",
    module=SDK_AUTH,
    model=BasicAuth,
    annotation_only=True,
    basic_credentials=_pairs,
    example="sample_specs/aircall.yaml",
)
