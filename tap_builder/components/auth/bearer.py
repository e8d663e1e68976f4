"""``bearer``: ``Authorization: Bearer <token>`` (SDK class)."""

from __future__ import annotations

import typing as t

from pydantic import Field

from tap_builder.components.auth.model import AuthModel
from tap_builder.components.base import SDK_AUTH, AuthComponent
from tap_builder.spec.fields import NonEmpty

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from tap_builder.spec.fields import Loc


class BearerAuth(AuthModel):
    """``Authorization: Bearer <token>``."""

    type: t.Literal["bearer"]
    token: NonEmpty = Field(description="The token, usually {config.token}.")


def _header_text(auth: BearerAuth) -> Iterator[tuple[Loc, object]]:
    yield ("token",), auth.token


COMPONENT = AuthComponent(
    type="bearer",
    macro="bearer",
    class_name="BearerTokenAuthenticator",
    module=SDK_AUTH,
    model=BearerAuth,
    header_text=_header_text,
    example="sample_specs/features/lab_bearer.yaml",
)
