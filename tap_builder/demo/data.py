"""The clock every demo dataset is built on.

Every timestamp in the emulated APIs' datasets (each lives next to its API in
:mod:`tap_builder.demo.apis`) is a fixed offset from :data:`BASE_TIME`
(2024-01-01T00:00:00Z), never the clock, so syncs and tests see the same records
every time. Records are listed in ascending replication-key order per parent, and
every incremental dataset ends with a couple of "late" records (after
2024-01-15) so a sync from a bookmark, or from ``start_date``
2024-01-15T00:00:00Z, returns a strict subset.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

Record = dict[str, Any]

#: Every demo timestamp is an offset from this instant.
BASE_TIME = datetime(2024, 1, 1, tzinfo=UTC)
#: A start_date that only the late records of every incremental dataset pass.
LATE_CUTOFF = "2024-01-15T00:00:00Z"


def at(days: int = 0, hours: float = 0) -> datetime:
    """An instant ``days`` and ``hours`` after :data:`BASE_TIME`.

    Args:
        days: Whole days to add.
        hours: Hours to add (fractions give minutes).

    Returns:
        The aware UTC datetime.
    """
    return BASE_TIME + timedelta(days=days, hours=hours)


def iso(moment: datetime) -> str:
    """Format an instant as ISO-8601 with a ``Z`` suffix (second precision)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def unix(moment: datetime) -> int:
    """Format an instant as Unix seconds."""
    return int(moment.timestamp())
