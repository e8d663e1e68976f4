"""Secret redaction: every form of a secret value is masked in logs and errors."""

from __future__ import annotations

import base64
import json
import logging
import re
import typing as t
from urllib.parse import (
    parse_qsl,
    quote,
    quote_plus,
    urlencode,
    urlsplit,
    urlunsplit,
)

if t.TYPE_CHECKING:
    from collections.abc import Iterable


from .variables import to_text

_SECRETS: set[str] = set()
_MASK = "***"


def secret_forms(value: object) -> set[str]:
    """Every form in which a secret value can show up in text.

    The value itself (numbers and booleans as their text), its JSON-escaped form,
    and its URL-encoded forms (``%20`` and ``+`` for spaces, ``/`` kept or not,
    upper- and lower-case hex).
    """
    if value is None or isinstance(value, bool | dict | list) or value == "":
        return set()
    text = to_text(value)
    if not text:
        return set()
    forms = {text, json.dumps(text)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1]}
    for safe in ("", "/"):
        forms.add(quote(text, safe=safe))
        forms.add(quote_plus(text, safe=safe))
    forms |= {re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), f) for f in forms}
    return {form for form in forms if form}


def register_secret(value: object) -> None:
    """Remember a secret value so that :func:`redact` hides it everywhere.

    Strings, numbers and booleans are registered with every form
    :func:`secret_forms` knows; a JSON object or array registers each of its
    values.
    """
    if isinstance(value, dict | list):
        for item in value.values() if isinstance(value, dict) else value:
            register_secret(item)
        return
    _SECRETS.update(secret_forms(value))


def register_basic_credentials(username: str, password: str) -> None:
    """Register a Basic credential pair: each value and the base64 header value."""
    register_secret(username)
    register_secret(password)
    pair = f"{username}:{password}".encode()
    register_secret(base64.b64encode(pair).decode("ascii"))


def redact(text: str) -> str:
    """Replace every registered secret in ``text`` (longest first)."""
    for secret in sorted(_SECRETS, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, _MASK)
    return text


def excerpt(text: str, length: int) -> str:
    """The start of ``text`` for a message: secrets masked first, then cut.

    Masking before cutting means a secret that straddles the cut is still
    caught; control characters are shown escaped (an API cannot write to the
    terminal through an error message).
    """
    longest = max(map(len, _SECRETS), default=0)
    shown = redact(text[: length + longest])[:length].replace("\n", " ")
    return "".join(
        char if char.isprintable() or char == " " else repr(char)[1:-1]
        for char in shown
    )


def redact_url(url: str, secret_params: Iterable[str] = ()) -> str:
    """Redact secrets in a URL, masking the named query parameters outright."""
    parts = urlsplit(url)
    hidden = set(secret_params)
    query = [
        (name, _MASK if name in hidden else redact(value))
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
    ]
    masked = urlunsplit(parts._replace(query=urlencode(query, safe="*")))
    return redact(masked)


class _RedactingLogRecord(logging.LogRecord):
    """A log record whose message never shows a registered secret."""

    def getMessage(self) -> str:  # noqa: N802 - logging's API
        return redact(super().getMessage())


def install_log_redaction() -> None:
    """Make every log record in this process redact registered secrets."""
    logging.setLogRecordFactory(_RedactingLogRecord)
