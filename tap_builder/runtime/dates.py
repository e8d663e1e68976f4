"""Dates for incremental filters and bookmarks, always in UTC."""

from __future__ import annotations

import datetime as dt
import decimal
import re


def parse_datetime(value: object) -> dt.datetime:
    """Parse an ISO-8601 string or a Unix timestamp (seconds) into an aware UTC time.

    Raises:
        ValueError: when the value is neither.
    """
    if isinstance(value, dt.datetime):
        parsed = value
    elif (
        isinstance(value, int | float | decimal.Decimal) and not isinstance(value, bool)
    ) or (isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value.strip())):
        parsed = dt.datetime.fromtimestamp(float(value), tz=dt.UTC)
    elif isinstance(value, str):
        parsed = dt.datetime.fromisoformat(value.strip())
    else:
        msg = f"{value!r} is neither an ISO-8601 date-time nor a Unix timestamp"
        raise ValueError(msg)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def format_filter_value(
    value: object, date_format: str, lookback_seconds: float = 0
) -> str | int:
    """Format a bookmark or ``start_date`` for an incremental filter parameter.

    Args:
        value: The bookmark (ISO-8601 string or Unix timestamp) or start date.
        date_format: ``timestamp`` (Unix seconds), ``timestamp_ms``, ``iso8601``
            (UTC, ``Z``), or a strftime format.
        lookback_seconds: Moved back by this much first.
    """
    moment = parse_datetime(value) - dt.timedelta(seconds=lookback_seconds)
    if date_format == "timestamp":
        return int(moment.timestamp())
    if date_format == "timestamp_ms":
        return int(moment.timestamp() * 1000)
    if date_format == "iso8601":
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment.strftime(date_format)


def unix_to_iso(value: object) -> object:
    """Turn a Unix timestamp into ISO-8601 with an explicit UTC offset.

    Anything that is not a number is returned unchanged.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | decimal.Decimal):
        return value
    return dt.datetime.fromtimestamp(float(value), tz=dt.UTC).isoformat()
