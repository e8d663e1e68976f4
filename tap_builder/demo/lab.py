"""Records, credentials and state of the "lab" demo API.

Its handlers and routes are in :mod:`tap_builder.demo.apis.lab`; tests reset
the state here (odd-call failures, issued tokens, bumped projects). The lab
serves the options beyond the Connector Builder: cursor pagination (body,
header, POST body), next-page URLs, ``Link`` headers, page numbers with
``has_more`` / ``total_pages`` / ``total`` in the body, a feed that always
offers a next page (cursor, URL and ``Link``) and says only in ``has_more`` /
``total`` / ``total_pages`` that it is empty, a cursor that repeats (a
pagination loop), and two-header authentication.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import secrets
import threading
from datetime import UTC, datetime
from typing import Any

from tap_builder.demo.configs import DEMO_SETTINGS

Record = dict[str, Any]

#: Ten records every lab endpoint pages through.
LAB_ITEMS: tuple[Record, ...] = tuple(
    {
        "id": n,
        "name": f"item {n}",
        "kind": "a" if n % 2 else "b",
        "status": "archived" if n % 4 == 0 else "active",
        "amount": n * 10 + 0.5,
        "updated_at": f"2024-03-{n:02d}T12:00:00Z",
        "internal_note": f"note {n}",
    }
    for n in range(1, 11)
)
TOKEN = f"Bearer {DEMO_SETTINGS['lab']['token']}"
WORKSPACE = str(DEMO_SETTINGS["lab"]["workspace"])


def page(offset: int, size: int) -> tuple[list[Record], int | None]:
    """The records from ``offset`` and the next offset (None after the last)."""
    chunk = [dict(item) for item in LAB_ITEMS[offset : offset + size]]
    following = offset + size if offset + size < len(LAB_ITEMS) else None
    return chunk, following


def cursor_offset(cursor: str | None) -> int:
    """``cur-6`` -> 6 (no cursor: 0). Raises ValueError for a bad cursor."""
    if not cursor:
        return 0
    prefix, _, number = cursor.partition("-")
    if prefix != "cur" or not number.isdigit():
        msg = f"unknown cursor {cursor!r}"
        raise ValueError(msg)
    return int(number)


def cursor_of(offset: int | None) -> str | None:
    """The opaque cursor for an offset."""
    return None if offset is None else f"cur-{offset}"


#: Ledger entries whose ``booked`` key is a day-first string, not ISO-8601.
LEDGER: tuple[Record, ...] = tuple(
    {
        "id": n,
        "account": f"acc-{n % 3}",
        "status": "void" if n in {3, 6} else "posted",
        "amount": n * 100,
        "booked": f"{n:02d}/04/2024 09:30",
        "secret_ref": f"ref-{n}",
    }
    for n in range(1, 9)
)
#: Teams; team 2 was deleted, so its members endpoint answers 404.
TEAMS: tuple[Record, ...] = (
    {"id": 1, "name": "red"},
    {"id": 2, "name": "gone"},
    {"id": 3, "name": "blue"},
)
MEMBERS: dict[int, list[Record]] = {
    1: [{"id": 11, "name": "ana"}, {"id": 12, "name": "bo"}],
    3: [{"id": 31, "name": "cy"}],
}


def booked_ms(entry: Record) -> int:
    """The entry's ``booked`` time in Unix milliseconds (UTC)."""
    moment = datetime.strptime(str(entry["booked"]), "%d/%m/%Y %H:%M").replace(
        tzinfo=UTC
    )
    return int(moment.timestamp() * 1000)


_CONFLICTS = {"calls": 0, "throttled": 0, "busy": 0}
_CONFLICT_LOCK = threading.Lock()


def next_conflict() -> bool:
    """True on odd calls of ``/conflict`` (the caller answers 409)."""
    with _CONFLICT_LOCK:
        _CONFLICTS["calls"] += 1
        return _CONFLICTS["calls"] % 2 == 1


def next_throttle() -> bool:
    """True on odd calls of ``/throttled`` (the caller answers 429)."""
    with _CONFLICT_LOCK:
        _CONFLICTS["throttled"] += 1
        return _CONFLICTS["throttled"] % 2 == 1


def next_busy() -> bool:
    """True on odd calls of ``/busy`` (the caller answers 400 busy)."""
    with _CONFLICT_LOCK:
        _CONFLICTS["busy"] += 1
        return _CONFLICTS["busy"] % 2 == 1


def reset_conflicts() -> None:
    """Start ``/conflict``, ``/throttled`` and ``/busy`` over (next call fails)."""
    with _CONFLICT_LOCK:
        _CONFLICTS.update(calls=0, throttled=0, busy=0)


#: OAuth2 client and session-login credentials the lab accepts.
CLIENT_ID = "lab-client"
CLIENT_SECRET = "lab-client-secret"  # noqa: S105 - a demo credential
USERNAME = "lab-user"
PASSWORD = "lab-password"  # noqa: S105 - a demo credential
#: The key ``/keyed`` wants as ``Authorization: Token <key>``.
API_KEY = "lab-api-key"
#: The HMAC secret of the JWTs ``/jwt-direct`` accepts (HS256).
JWT_SECRET = "lab-jwt-secret-of-32-bytes-or-more"  # noqa: S105 - a demo credential
#: The claims the lab wants in a JWT (besides iat and exp), and the longest life.
JWT_AUDIENCE = "lab"
JWT_MAX_LIFETIME = 3600


@functools.cache
def jwt_private_key() -> str:
    """The lab's EC P-256 private key (PEM) for ES256 assertions, made once."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def jwt_public_key() -> str:
    """The public half of :func:`jwt_private_key` (PEM): what the lab verifies."""
    from cryptography.hazmat.primitives import serialization

    private = serialization.load_pem_private_key(
        jwt_private_key().encode("ascii"), password=None
    )
    return (
        private.public_key()
        .public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        )
        .decode("ascii")
    )


#: The AWS credentials, region and service ``/signed`` checks SigV4 with.
AWS_ACCESS_KEY_ID = "AKIDLABEXAMPLE"
AWS_SECRET_ACCESS_KEY = "lab/aws/secret+key"  # noqa: S105 - a demo credential
AWS_SESSION_TOKEN = "lab-session-token"  # noqa: S105 - a demo credential
AWS_REGION = "eu-west-1"
AWS_SERVICE = "execute-api"
#: The first refresh token; every use returns a new one and retires the old.
FIRST_REFRESH_TOKEN = "rt-0"  # noqa: S105 - a demo credential

_TOKENS: dict[str, Any] = {"issued": set(), "refresh": FIRST_REFRESH_TOKEN, "count": 0}
_TOKEN_LOCK = threading.Lock()


def issue_access_token() -> str:
    """A new access token the lab will accept."""
    with _TOKEN_LOCK:
        _TOKENS["count"] += 1
        token = f"at-{_TOKENS['count']}"
        _TOKENS["issued"].add(token)
        return token


def is_issued(token: str) -> bool:
    """Whether the lab issued this access token."""
    with _TOKEN_LOCK:
        return token in _TOKENS["issued"]


def rotate_refresh_token(given: str) -> str | None:
    """The next refresh token if ``given`` is the current one, else None."""
    with _TOKEN_LOCK:
        if given != _TOKENS["refresh"]:
            return None
        number = int(given.removeprefix("rt-")) + 1
        _TOKENS["refresh"] = f"rt-{number}"
        return str(_TOKENS["refresh"])


def reset_tokens() -> None:
    """Back to the first refresh token, no access tokens."""
    with _TOKEN_LOCK:
        _TOKENS.update(issued=set(), refresh=FIRST_REFRESH_TOKEN, count=0)
        _CODES.clear()


#: Authorization codes not yet redeemed: code -> (redirect URI, PKCE challenge).
_CODES: dict[str, tuple[str, str]] = {}


def issue_code(redirect_uri: str, challenge: str) -> str:
    """A one-time authorization code bound to the redirect URI and challenge."""
    with _TOKEN_LOCK:
        code = f"code-{secrets.token_urlsafe(12)}"
        _CODES[code] = (redirect_uri, challenge)
        return code


def redeem_code(code: str, redirect_uri: str, verifier: str) -> str | None:
    """The current refresh token for a valid code (used up), else None.

    The code must have been issued for ``redirect_uri``, and ``verifier`` must
    hash (SHA-256, base64url) to its PKCE challenge.
    """
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    with _TOKEN_LOCK:
        found = _CODES.pop(code, None)
        if found != (redirect_uri, challenge):
            return None
        return str(_TOKENS["refresh"])


def _projects() -> dict[int, Record]:
    return {
        n: {"id": n, "name": f"project {n}", "updated_at": f"2024-05-0{n}T00:00:00Z"}
        for n in (1, 2, 3)
    }


def _tasks() -> dict[int, list[Record]]:
    return {
        n: [
            {
                "id": n * 100 + 1,
                "title": "first",
                "updated_at": f"2024-05-0{n}T01:00:00Z",
            }
        ]
        for n in (1, 2, 3)
    }


_PROJECTS: dict[str, Any] = {"projects": _projects(), "tasks": _tasks()}


def projects() -> list[Record]:
    """The projects, as they are now."""
    with _TOKEN_LOCK:
        return [dict(p) for p in _PROJECTS["projects"].values()]


def tasks(project: int) -> list[Record] | None:
    """A project's tasks (None: no such project)."""
    with _TOKEN_LOCK:
        found = _PROJECTS["tasks"].get(project)
        return None if found is None else [dict(t) for t in found]


def bump_project(project: int) -> None:
    """Change a project: it gets a later updated_at and a new task."""
    with _TOKEN_LOCK:
        _PROJECTS["projects"][project]["updated_at"] = "2024-05-10T00:00:00Z"
        _PROJECTS["tasks"][project].append(
            {
                "id": project * 100 + 2,
                "title": "second",
                "updated_at": "2024-05-10T01:00:00Z",
            }
        )


def reset_projects() -> None:
    """Back to the first three projects and their tasks."""
    with _TOKEN_LOCK:
        _PROJECTS.update(projects=_projects(), tasks=_tasks())


#: Contacts whose replication key is nested: ``properties.updated_at``.
CONTACTS: tuple[Record, ...] = tuple(
    {
        "id": n,
        "properties": {
            "email": f"c{n}@lab.test",
            "updated_at": f"2024-06-0{n}T08:00:00Z",
        },
    }
    for n in range(1, 6)
)
#: Revisions with an integer cursor, ``version`` (101 to 110), in version order.
REVISIONS: tuple[Record, ...] = tuple(
    {"id": n, "version": 100 + n, "title": f"revision {n}"} for n in range(1, 11)
)
#: The deepest offset ``/revisions`` serves: deeper pages must filter instead.
REVISIONS_MAX_OFFSET = 3


#: Report rows by report type (one dynamic stream per type from a config list).
REPORT_ROWS: dict[str, tuple[Record, ...]] = {
    kind: tuple(
        {"day": f"2024-07-0{n}T00:00:00Z", "region": "", "value": n * base}
        for n in (1, 2, 3)
    )
    for kind, base in (("sales", 100), ("returns", 7), ("refunds", 3))
}
#: Custom objects (one dynamic stream per object, from ``/objects``), each with
#: fields of its own.
CUSTOM_OBJECTS: tuple[Record, ...] = (
    {"label": "Pets", "api_name": "pets"},
    {"label": "Vehicles", "api_name": "vehicles"},
)
CUSTOM_RECORDS: dict[str, tuple[Record, ...]] = {
    "pets": (
        {"id": 1, "name": "Rex", "species": "dog"},
        {"id": 2, "name": "Tom", "species": "cat", "age": 3},
    ),
    "vehicles": (
        {"id": 1, "plate": "AB-123", "wheels": 4, "electric": True},
        {"id": 2, "plate": "CD-456", "wheels": 2, "electric": False},
    ),
}
