"""Parameter parsing, filtering and paging helpers the API handlers share.

Parsing errors raise :class:`~tap_builder.demo.routing.ApiError` and so become
400 responses naming the parameter.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

from tap_builder.demo.routing import ApiError, Record


def int_value(raw: str | None, name: str, default: int, bounds: tuple[int, int]) -> int:
    """Parse a decimal integer parameter, checking it lies within ``bounds``."""
    if raw is None:
        return default
    low, high = bounds
    if not re.fullmatch(r"-?\d+", raw) or not low <= int(raw) <= high:
        message = f"{name} must be an integer from {low} to {high}, got {raw!r}"
        raise ApiError(400, message)
    return int(raw)


def unix_value(raw: str | None, name: str) -> int | None:
    """Parse a Unix-seconds filter value (digits only)."""
    if raw is None:
        return None
    if not re.fullmatch(r"\d+", raw):
        raise ApiError(400, f"{name} must be a Unix timestamp in seconds, got {raw!r}")
    return int(raw)


def time_value(raw: str | None, name: str, fmt: str) -> datetime | None:
    """Parse a date-time filter value in exactly the strftime format ``fmt`` (UTC)."""
    if raw is None:
        return None
    try:
        parsed = datetime.strptime(raw, fmt)
    except ValueError:
        raise ApiError(400, f"{name} must match {fmt!r}, got {raw!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def since_iso(
    records: Sequence[Record], key: str, bound: datetime | None
) -> list[Record]:
    """Records whose ISO date-time ``key`` is at or after ``bound`` (inclusive)."""
    if bound is None:
        return list(records)
    return [item for item in records if datetime.fromisoformat(item[key]) >= bound]


def since_unix(records: Sequence[Record], key: str, bound: int | None) -> list[Record]:
    """Records whose Unix-seconds ``key`` is at or after ``bound`` (inclusive)."""
    if bound is None:
        return list(records)
    return [item for item in records if item[key] >= bound]


def page_slice(records: Sequence[Record], index: int, size: int) -> list[Record]:
    """The ``index``-th (zero-based) page of ``size`` records; empty past the end."""
    return list(records[index * size : (index + 1) * size])
