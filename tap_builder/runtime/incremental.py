"""Incremental options for the streams that sync incrementally.

Filters from the bookmark, lookback, date windows, client-side filtering,
replication keys in other formats, children of changed parents only, nested
replication keys, integer sequence cursors and a first sync from another path
(new queries when an API caps how deep pages go: :mod:`.capped`).
"""

from __future__ import annotations

import copy
import datetime as dt
import decimal
import typing as t

import singer_sdk.singerlib as singer

from .dates import format_filter_value, parse_datetime
from .http import APIError
from .streams import BuilderStream

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping


def as_key(value: t.Any) -> t.Any:  # noqa: ANN401
    """A replication-key value in comparable form (dates as aware datetimes)."""
    if isinstance(value, int | float | decimal.Decimal) and not isinstance(value, bool):
        return value  # Unix timestamps compare as numbers
    try:
        return parse_datetime(value)
    except (TypeError, ValueError):
        return value


def _parse_formatted(value: str, date_format: str) -> dt.datetime:
    """A date-time in ``date_format`` (strptime), in UTC (no offset means UTC)."""
    if "%z" in date_format:
        return dt.datetime.strptime(value, date_format).astimezone(dt.UTC)
    return dt.datetime.strptime(value, date_format).replace(tzinfo=dt.UTC)


def _nested(record: Mapping[str, t.Any], path: tuple[str, ...]) -> t.Any:  # noqa: ANN401
    """The value at ``path`` in ``record`` (None when a part is missing)."""
    value: t.Any = record
    for part in path:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


class IncrementalStream(BuilderStream):
    """A stream that syncs incrementally (the spec's ``incremental`` block)."""

    #: Look back this far; drop records older than the bookmark in the tap;
    #: parse replication-key strings with this format.
    lookback_seconds: t.ClassVar[float] = 0
    client_filter: t.ClassVar[bool] = False
    replication_key_format: t.ClassVar[str | None] = None
    #: Date windows: slices this long from the bookmark to now (0: no windows).
    window_seconds: t.ClassVar[float] = 0
    #: On an incremental parent: children only for records newer than the bookmark.
    children_of_changed_only: t.ClassVar[bool] = False
    #: A nested replication key: the path whose value is copied to the
    #: top-level ``replication_key`` field.
    replication_key_path: t.ClassVar[tuple[str, ...]] = ()
    #: An integer cursor (id, version): sent as it is (plus one: ``send_next``).
    sequence_cursor: t.ClassVar[bool] = False
    send_next: t.ClassVar[bool] = False
    #: The first sync (no bookmark) reads this path (and records), unfiltered.
    initial_path: t.ClassVar[str | None] = None
    initial_records_jsonpath: t.ClassVar[str | None] = None
    #: Set by each generated stream (a plain attribute: the first sync may
    #: change it for a context).
    records_jsonpath = "$[*]"

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:  # noqa: ANN401
        """Set up the stream; filter floors are computed once per context."""
        super().__init__(*args, **kwargs)
        self._floors: dict[tuple[t.Any, ...], t.Any] = {}
        #: The date slice being requested, when the stream syncs in windows.
        self._window: tuple[dt.datetime, dt.datetime] | None = None
        #: The first sync of this context reads ``initial_path``.
        self._initial = False
        #: A new query's filter after a capped one (see :mod:`.capped`).
        self._query_floor: t.Any = None
        #: The spec's path and records selector (the first sync may use others).
        self._spec_request = (self.path, self.records_jsonpath)

    # -- incremental -------------------------------------------------------- #

    def filter_value(
        self, context: Mapping[str, t.Any] | None, date_format: str
    ) -> str | int | None:
        """The incremental filter: the bookmark, else ``start_date``, else None.

        ``lookback_seconds`` (the spec's ``lookback``) moves it back.
        """
        if self._initial:
            return None  # the first sync's path reads everything
        if self._window is not None:
            return format_filter_value(self._window[0], date_format)
        if self._query_floor is not None:
            value, lookback = self._query_floor, 0.0
        else:
            value, lookback = self.starting_value(context), self.lookback_seconds
        if value is None:
            return None
        if self.sequence_cursor:
            return int(value) + 1 if self.send_next else int(value)
        try:
            return format_filter_value(value, date_format, lookback)
        except (ArithmeticError, OSError, ValueError):
            msg = (
                f"stream {self.name!r}: the bookmark {value!r} is not a date-time or "
                "Unix timestamp the tap can use; fix or remove it in the state"
            )
            raise APIError(msg) from None

    def window_end(self, date_format: str) -> str | int | None:
        """The end of the date slice being requested (None: no windows)."""
        if self._window is None:
            return None
        return format_filter_value(self._window[1], date_format)

    def get_records(
        self, context: Mapping[str, t.Any] | None
    ) -> Iterable[dict[str, t.Any]]:
        """Records of one context, by the stream's incremental options."""
        self._begin(context)
        if self.window_seconds:
            yield from self._windowed_records(context)
        else:
            yield from self.query_records(context)

    def query_records(
        self, context: Mapping[str, t.Any] | None
    ) -> Iterable[dict[str, t.Any]]:
        """The records of one query (a capped stream runs several)."""
        return super().get_records(context)

    def _begin(self, context: Mapping[str, t.Any] | None) -> None:
        """Choose the path of this context's sync: ``initial_path`` without state."""
        self._query_floor = None
        if self.initial_path is None:
            return
        state = self.get_context_state(context)
        self._initial = state.get("replication_key_value") is None
        path, records = self._spec_request
        if self._initial:
            path = self.initial_path
            records = self.initial_records_jsonpath or records
        self.path, self.records_jsonpath = path, records

    def _windowed_records(
        self, context: Mapping[str, t.Any] | None
    ) -> Iterator[dict[str, t.Any]]:
        """Records, requested in date windows (the spec's ``window``).

        After each window the bookmark moves to the window's end and a STATE
        message is written, so a failed sync resumes at the last full window.
        """
        start = self.starting_value(context)
        if start is None:  # nowhere to start from: one unbounded request
            yield from super().get_records(context)
            return
        low = parse_datetime(start) - dt.timedelta(seconds=self.lookback_seconds)
        # whole seconds: every date format can send the slice end exactly
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        step = dt.timedelta(seconds=self.window_seconds)
        while low < now:
            high = min(low + step, now)
            self._window = (low, high)
            try:
                yield from super().get_records(context)
            finally:
                self._window = None
            self._commit_window(context, high)
            low = high

    def _commit_window(
        self, context: Mapping[str, t.Any] | None, end: dt.datetime
    ) -> None:
        """Move the bookmark to the end of a finished slice and write STATE.

        The bookmark means "everything before it was requested": the slice end,
        not the newest record (a record newer than the slice end may have been
        sent, but the range after the end was not asked for yet). The progress
        markers of the slice are dropped, so the SDK's final state keeps the
        last slice end; the bookmark never moves backwards.
        """
        state = self.get_context_state(context)
        state.pop("progress_markers", None)
        current = state.get("replication_key_value")
        value: t.Any = (
            end.isoformat()
            if self.is_timestamp_replication_key
            else int(end.timestamp())  # a Unix-timestamp key keeps numbers
        )
        if current is not None and as_key(current) >= as_key(value):
            value = current
        state["replication_key"] = self.replication_key
        state["replication_key_value"] = value
        self.owner.write_message(
            singer.StateMessage(value=copy.deepcopy(self.tap_state))
        )

    def starting_value(self, context: Mapping[str, t.Any] | None) -> t.Any:  # noqa: ANN401
        """The bookmark of this context, else ``start_date``, else None.

        A sequence cursor starts only from a bookmark (an integer).
        """
        value = self.get_starting_replication_key_value(context)
        if self.sequence_cursor:
            is_int = isinstance(value, int) and not isinstance(value, bool)
            return value if is_int else None
        return self.config.get("start_date") if value is None else value

    def shape(
        self, record: dict[str, t.Any], context: Mapping[str, t.Any] | None
    ) -> dict[str, t.Any] | None:
        """Drop records older than the bookmark (``client_filter``)."""
        shaped = super().shape(record, context)
        if shaped is None or not (self.client_filter and self.replication_key):
            return shaped
        floor = self._client_floor(context)
        value = shaped.get(self.replication_key)
        if floor is not None and value is not None and as_key(value) < floor:
            return None
        return shaped

    def _client_floor(self, context: Mapping[str, t.Any] | None) -> t.Any:  # noqa: ANN401
        key = tuple(sorted((context or {}).items()))
        if key not in self._floors:
            start = self.starting_value(context)
            self._floors[key] = None if start is None else as_key(start)
        return self._floors[key]

    def prepare_record(
        self, row: dict[str, t.Any], context: Mapping[str, t.Any] | None
    ) -> dict[str, t.Any]:
        """Copy a nested key to its field; parse ``replication_key_format`` keys.

        Replication-key strings in another format become ISO-8601.
        """
        if self.replication_key_path and self.replication_key:
            row[self.replication_key] = _nested(row, self.replication_key_path)
        row = super().prepare_record(row, context)
        if self.replication_key_format and self.replication_key:
            value = row.get(self.replication_key)
            if isinstance(value, str):
                row[self.replication_key] = _parse_formatted(
                    value, self.replication_key_format
                ).isoformat()
        return row

    def context_from(
        self, record: Mapping[str, t.Any], fields: Mapping[str, str]
    ) -> dict[str, t.Any] | None:
        """No child context for a parent unchanged since the last run.

        Only with ``sync_children: changed``.
        """
        if self.children_of_changed_only and self.replication_key:
            value = record.get(self.replication_key)
            floor = self._client_floor(None)
            if value is not None and floor is not None and as_key(value) <= floor:
                return None  # unchanged since the last run: its children are too
        return super().context_from(record, fields)
