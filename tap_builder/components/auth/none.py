"""``none``: no authentication; the base stream has no authenticator."""

from __future__ import annotations

import typing as t

from tap_builder.components.auth.model import AuthModel
from tap_builder.components.base import AuthComponent


class NoAuth(AuthModel):
    """No authentication."""

    type: t.Literal["none"]


COMPONENT = AuthComponent(
    type="none", macro="", model=NoAuth, example="sample_specs/openlib.yaml"
)
