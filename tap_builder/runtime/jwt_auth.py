"""JWT authentication: a token signed with a key from the config (PyJWT).

The token carries the spec's claims plus ``iat`` and ``exp``; it is sent as the
bearer token, or exchanged at a token endpoint for an access token (the OAuth2
JWT-bearer grant, RFC 7523). Either is renewed before it expires.
"""

from __future__ import annotations

import threading
import time
import typing as t

import jwt
import requests

from .auth import _lifetime, _post_for_token
from .http import APIError
from .secrets import redact_url, register_secret

if t.TYPE_CHECKING:
    from collections.abc import Mapping

#: The grant type of a JWT exchanged for an access token (RFC 7523).
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class JWTAuthenticator(requests.auth.AuthBase):
    """Signs a JWT (renewed before it expires) and sends it, or its access token."""

    #: Renew this long before the token expires (at most a tenth of its life).
    MARGIN_SECONDS = 60.0

    def __init__(
        self,
        *,
        algorithm: str,
        key: str,
        claims: Mapping[str, t.Any],
        lifetime: int,
        settings: str,
        key_id: str | None = None,
        token_url: str | None = None,
        extra_params: Mapping[str, t.Any] | None = None,
    ) -> None:
        """Sign with ``key``; ``settings`` names the settings to check on failure."""
        self.algorithm = algorithm
        self.key = key
        self.claims = dict(claims)
        self.lifetime = lifetime
        self.settings = settings
        self.key_id = key_id
        self.token_url = token_url
        self.extra_params = dict(extra_params or {})
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Send the token, signing (and exchanging) a new one when it is due."""
        with self._lock:
            if self._token is None or time.monotonic() >= self._expires_at:
                self._renew()
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def signed(self) -> str:
        """A new JWT: the claims, ``iat`` now and ``exp`` a lifetime later.

        Raises:
            APIError: when the key cannot sign with the algorithm (the message
                never holds the key).
        """
        now = int(time.time())
        payload = {**self.claims, "iat": now, "exp": now + self.lifetime}
        headers = {"kid": self.key_id} if self.key_id else None
        try:
            token = jwt.encode(
                payload, self.key, algorithm=self.algorithm, headers=headers
            )
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            msg = (
                f"cannot sign the JWT with {self.algorithm}: the key is not "
                f"{_key_kind(self.algorithm)} ({type(exc).__name__}). "
                f"Check the settings {self.settings}."
            )
            raise APIError(msg) from None
        register_secret(token)
        return token

    def _renew(self) -> None:
        assertion = self.signed()
        if self.token_url is None:
            self._token = assertion
            lifetime = float(self.lifetime)
        else:
            answer = _post_for_token(
                self.token_url,
                "the JWT token exchange",
                self.settings,
                data={
                    "grant_type": JWT_BEARER,
                    "assertion": assertion,
                    **self.extra_params,
                },
            )
            token = answer.get("access_token") if isinstance(answer, dict) else None
            if not token:
                where = redact_url(self.token_url)
                msg = f"the JWT token exchange at {where} sent no access_token"
                raise APIError(msg)
            register_secret(str(token))
            self._token = str(token)
            lifetime = _lifetime(answer.get("expires_in"), self.token_url)
        self._expires_at = time.monotonic() + max(
            0.0, lifetime - min(self.MARGIN_SECONDS, lifetime / 10)
        )


def _key_kind(algorithm: str) -> str:
    """What key the algorithm needs, for error messages."""
    if algorithm.startswith("HS"):
        return "an HMAC secret (text, not a PEM key)"
    family = "an EC" if algorithm.startswith("ES") else "an RSA"
    return f"{family} private key in PEM form"
