"""``jwt``: a signed JSON Web Token, sent as the bearer token or exchanged.

The token is signed with a key from the config (an HMAC secret, or a PEM private
key for RSA and EC), holds the spec's claims plus ``iat`` and ``exp``, and is
renewed before it expires. With ``token_url`` it is exchanged for an access
token (the OAuth2 JWT-bearer grant, RFC 7523). The run-time class lives in its
own module, so only taps that use it ship it (and depend on PyJWT).
"""

from __future__ import annotations

import typing as t

from pydantic import Field

from tap_builder.components.auth.model import AuthModel
from tap_builder.components.base import AuthComponent
from tap_builder.runtime.variables import TemplateError, variables_in
from tap_builder.spec.fields import NonEmpty, Scalar

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from tap_builder.spec.fields import Found, Loc

#: Signing algorithms: HMAC with a secret, RSA (PKCS#1 v1.5 and PSS) and EC.
Algorithm = t.Literal[
    "HS256",
    "HS384",
    "HS512",
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
]
#: Claims the tap sets itself on every token.
TIMED_CLAIMS = ("iat", "exp")


class JWTAuth(AuthModel):
    """A JWT signed with a key from the config: the bearer token, or exchanged."""

    type: t.Literal["jwt"]
    algorithm: Algorithm = Field(
        description="Signing algorithm: HS* with a secret, RS*/PS*/ES* with a PEM key."
    )
    key: NonEmpty = Field(
        description="The secret or PEM private key, from a setting: {config.key}."
    )
    key_id: NonEmpty | None = Field(None, description="The kid header, if any.")
    claims: dict[NonEmpty, Scalar | list[Scalar]] = Field(
        default_factory=dict, description="Claims (iss, sub, aud, scope, ...)."
    )
    lifetime_seconds: int = Field(
        3600, ge=30, le=86400, description="Seconds from iat to exp."
    )
    token_url: NonEmpty | None = Field(
        None, description="Exchange the JWT here for an access token (jwt-bearer)."
    )
    extra_params: dict[NonEmpty, Scalar] = Field(
        default_factory=dict, description="More token-request fields."
    )


def _has_variable(text: str) -> bool:
    try:
        return any(True for _ in variables_in(text))
    except TemplateError:  # reported by the spec-wide variable check
        return True


def _problems(auth: JWTAuth, loc: Loc) -> Iterator[Found]:
    if not _has_variable(auth.key):
        yield (
            (*loc, "key"),
            "the signing key is a secret: take it from a setting, e.g. "
            "{config.private_key}, not from the spec",
        )
    for claim in TIMED_CLAIMS:
        if claim in auth.claims:
            yield (
                (*loc, "claims", claim),
                f"{claim} is set by the tap on every token (from lifetime_seconds); "
                "remove it",
            )
    if auth.extra_params and auth.token_url is None:
        yield (
            (*loc, "extra_params"),
            "only with token_url: they are fields of the token exchange",
        )


COMPONENT = AuthComponent(
    type="jwt",
    macro="jwt",
    class_name="JWTAuthenticator",
    module=".runtime.jwt_auth",
    also_needs=("auth.py",),
    requirements=("pyjwt[crypto]>=2.8,<3",),
    model=JWTAuth,
    problems=_problems,
    example="sample_specs/features/lab_jwt.yaml",
)
