"""AWS Signature Version 4 on every request, signed by botocore's ``SigV4Auth``.

The query string is first rewritten in the canonical encoding SigV4 uses
(RFC 3986, ``%20`` for a space), so the URL sent is the URL signed.
"""

from __future__ import annotations

import threading
from urllib.parse import quote, unquote_plus, urlsplit, urlunsplit

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from .secrets import register_secret

#: Request headers signed besides ``host`` and the ``x-amz-*`` headers.
SIGNED_HEADERS = frozenset({"content-type"})
#: What SigV4 leaves unencoded in a query.
_UNRESERVED = "-_.~"


def canonical_query_url(url: str) -> str:
    """``url`` with its query encoded as SigV4 does (order and values kept)."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    pairs = []
    for pair in parts.query.split("&"):
        name, equals, value = pair.partition("=")
        encoded = quote(unquote_plus(name), safe=_UNRESERVED)
        if equals:
            encoded += "=" + quote(unquote_plus(value), safe=_UNRESERVED)
        pairs.append(encoded)
    return urlunsplit(parts._replace(query="&".join(pairs)))


class AWSSigV4Authenticator(requests.auth.AuthBase):
    """Signs every request with AWS SigV4 (``Authorization`` and ``X-Amz-*``)."""

    def __init__(
        self,
        *,
        access_key_id: str,
        secret_access_key: str,
        region: str,
        service: str,
        session_token: str | None = None,
    ) -> None:
        """Sign for ``service`` in ``region`` with these credentials."""
        register_secret(secret_access_key)
        self._signer = SigV4Auth(
            Credentials(access_key_id, secret_access_key, session_token or None),
            service,
            region,
        )
        self._lock = threading.Lock()

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Sign ``request`` (its method, URL, signed headers and body)."""
        request.url = canonical_query_url(str(request.url))
        headers = {
            name: value
            for name, value in request.headers.items()
            if name.lower() in SIGNED_HEADERS or name.lower().startswith("x-amz-")
        }
        body = request.body if request.body is not None else b""
        signed = AWSRequest(
            method=request.method, url=request.url, data=body, headers=headers
        )
        with self._lock:
            self._signer.add_auth(signed)
        for name, value in signed.headers.items():
            if name.lower() == "authorization" or name.lower().startswith("x-amz-"):
                request.headers[name] = value
        return request
