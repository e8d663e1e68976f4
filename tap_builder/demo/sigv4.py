"""An independent check of AWS Signature Version 4, for the demo API.

Written from AWS's description of the signing process (hashlib and hmac only),
not with the library generated taps sign with, so a signature it accepts is
right by the specification, not merely self-consistent.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

ALGORITHM = "AWS4-HMAC-SHA256"
#: How far a request's X-Amz-Date may be from now.
MAX_SKEW = timedelta(minutes=5)
_AUTHORIZATION = re.compile(
    rf"^{ALGORITHM} Credential=(?P<credential>[^,\s]+),\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+),\s*Signature=(?P<signature>[0-9a-f]{64})$"
)


@dataclass(frozen=True)
class SignedRequest:
    """What the signature covers: method, full path, query, headers, body."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


class SignatureError(ValueError):
    """The request is not signed as AWS SigV4 requires (the reason says why)."""


def _sign(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def _canonical_query(query: dict[str, list[str]]) -> str:
    pairs = sorted(
        (quote(name, safe="-_.~"), quote(value, safe="-_.~"))
        for name, values in query.items()
        for value in values
    )
    return "&".join(f"{name}={value}" for name, value in pairs)


def verify(
    request: SignedRequest,
    *,
    access_key_id: str,
    secret_access_key: str,
    region: str,
    service: str,
    session_token: str | None = None,
    now: datetime | None = None,
) -> None:
    """Check the request's SigV4 signature; raise SignatureError if it is wrong."""
    match = _AUTHORIZATION.match(request.headers.get("authorization", ""))
    if not match:
        msg = f"send Authorization: {ALGORITHM} Credential=..., SignedHeaders=..."
        raise SignatureError(msg)
    amz_date = request.headers.get("x-amz-date", "")
    try:
        moment = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        msg = "send X-Amz-Date as YYYYMMDDTHHMMSSZ"
        raise SignatureError(msg) from None
    if abs((now or datetime.now(UTC)) - moment) > MAX_SKEW:
        msg = "the request's X-Amz-Date is too far from now"
        raise SignatureError(msg)
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    if match["credential"] != f"{access_key_id}/{scope}":
        msg = "unknown access key or wrong credential scope"
        raise SignatureError(msg)
    signed = match["signed"].split(";")
    required = {"host", "x-amz-date"} | (
        {"x-amz-security-token"} if session_token else set()
    )
    if missing := required - set(signed):
        msg = f"SignedHeaders lacks {', '.join(sorted(missing))}"
        raise SignatureError(msg)
    if session_token is not None and not hmac.compare_digest(
        request.headers.get("x-amz-security-token", ""), session_token
    ):
        msg = "wrong X-Amz-Security-Token"
        raise SignatureError(msg)
    if signed != sorted(signed) or any(h not in request.headers for h in signed):
        msg = "SignedHeaders must be sorted and name headers sent"
        raise SignatureError(msg)
    headers = "".join(
        f"{name}:{' '.join(request.headers[name].split())}\n" for name in signed
    )
    canonical = "\n".join(
        (
            request.method,
            quote(request.path, safe="/~"),
            _canonical_query(request.query),
            headers,
            match["signed"],
            hashlib.sha256(request.body).hexdigest(),
        )
    )
    to_sign = "\n".join(
        (ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest())
    )
    key = _sign(("AWS4" + secret_access_key).encode("utf-8"), amz_date[:8])
    for part in (region, service, "aws4_request"):
        key = _sign(key, part)
    expected = hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, match["signature"]):
        msg = "the signature does not match"
        raise SignatureError(msg)
