"""``oauth2``: access tokens from a token endpoint (run-time class).

Client credentials or a refresh token; the token is fetched once per tap and
refreshed before it expires; a rotated refresh token is kept in a private file.
"""

from __future__ import annotations

import re
import typing as t

from pydantic import Field

from tap_builder.components.auth.model import AuthModel
from tap_builder.components.base import RUNTIME_AUTH, AuthComponent
from tap_builder.spec.fields import NonEmpty, Scalar

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from tap_builder.spec.fields import Found, Loc


#: Where ``tap-builder auth`` receives the authorization code by default.
DEFAULT_REDIRECT_URI = "http://127.0.0.1:8765/callback"
#: A redirect URI ``tap-builder auth`` can listen at: loopback, with a port.
_LOOPBACK = re.compile(r"^http://(127\.0\.0\.1|localhost):([0-9]{1,5})(/[^?#\s]*)?$")


def loopback_port(uri: str) -> int | None:
    """The port of a loopback redirect URI ``tap-builder auth`` can serve, or None."""
    match = _LOOPBACK.match(uri)
    if not match or not 0 < int(match[2]) < 65536:
        return None
    return int(match[2])


class OAuth2Auth(AuthModel):
    """OAuth2 access tokens from a token endpoint, refreshed before they expire."""

    type: t.Literal["oauth2"]
    grant_type: t.Literal[
        "client_credentials", "refresh_token", "authorization_code"
    ] = Field("client_credentials", description="How tokens are obtained.")
    token_url: NonEmpty = Field(
        description="Token endpoint: a URL, or a path joined to the API's base URL."
    )
    client_id: NonEmpty = Field(description="Client id, usually {config.client_id}.")
    client_secret: NonEmpty = Field(description="Client secret.")
    refresh_token: NonEmpty | None = Field(
        None, description="With grant_type refresh_token: the refresh token."
    )
    scopes: tuple[NonEmpty, ...] = Field((), description="Scopes to request.")
    client_auth: t.Literal["body", "basic"] = Field(
        "body", description="Client credentials in the form body or a Basic header."
    )
    extra_params: dict[NonEmpty, Scalar] = Field(
        default_factory=dict, description="More token-request fields (e.g. audience)."
    )
    authorize_url: NonEmpty | None = Field(
        None, description="With authorization_code: the consent page's URL."
    )
    redirect_uri: NonEmpty = Field(
        DEFAULT_REDIRECT_URI,
        description="With authorization_code: where `tap-builder auth` listens.",
    )
    authorize_params: dict[NonEmpty, Scalar] = Field(
        default_factory=dict,
        description="With authorization_code: more consent-URL fields.",
    )


def _problems(auth: OAuth2Auth, loc: Loc) -> Iterator[Found]:
    if auth.grant_type == "refresh_token" and auth.refresh_token is None:
        yield (*loc, "refresh_token"), "required with grant_type: refresh_token"
    if auth.grant_type == "authorization_code":
        if auth.authorize_url is None:
            yield (
                (*loc, "authorize_url"),
                "required with grant_type: authorization_code",
            )
        if loopback_port(auth.redirect_uri) is None:
            yield (
                (*loc, "redirect_uri"),
                "tap-builder auth receives the code here: it must be "
                "http://127.0.0.1:PORT/PATH (or localhost) with a port",
            )
        return
    changed = auth.model_fields_set & {
        "authorize_url",
        "redirect_uri",
        "authorize_params",
    }
    for field in sorted(changed):
        yield (*loc, field), "only with grant_type: authorization_code"


def _pairs(auth: OAuth2Auth) -> Iterator[tuple[str, str]]:
    if auth.client_auth == "basic":
        yield auth.client_id, auth.client_secret


def _settings(auth: OAuth2Auth) -> tuple[str, ...]:
    stored = auth.refresh_token is not None or auth.grant_type == "authorization_code"
    return ("refresh_token_file",) if stored else ()


COMPONENT = AuthComponent(
    type="oauth2",
    macro="oauth2",
    class_name="OAuth2Authenticator",
    module=RUNTIME_AUTH,
    model=OAuth2Auth,
    problems=_problems,
    basic_credentials=_pairs,
    settings=_settings,
    example="sample_specs/features/lab_oauth.yaml",
)
