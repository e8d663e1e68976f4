"""The base of every authentication block's model."""

from __future__ import annotations

import typing as t

from tap_builder.spec.fields import Model


class AuthModel(Model):
    """Base of the authentication blocks: where their credentials travel."""

    if t.TYPE_CHECKING:
        #: Each type's model declares it as a literal.
        type: str

    @property
    def secret_query_params(self) -> tuple[str, ...]:
        """Query parameters that carry credentials."""
        return ()

    @property
    def credential_headers(self) -> tuple[str, ...]:
        """Request headers that carry credentials, besides ``Authorization``."""
        return ()
