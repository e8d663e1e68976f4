"""New queries when an API caps how deep pages go (``max_pages_per_query``).

For sorted incremental streams whose API refuses pages past a depth: after
``max_pages_per_query`` pages the query ends and a new one starts from the first
page, filtered from the last replication-key value seen; records at that value
already sent are skipped, so each record comes once.
"""

from __future__ import annotations

import json
import typing as t

from .http import APIError
from .incremental import IncrementalStream, as_key

if t.TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    import requests


class _PageCapReachedError(Exception):
    """The query read ``max_pages_per_query`` pages: start a new one."""


class CappedQueryStream(IncrementalStream):
    """An incremental stream read in queries of at most so many pages."""

    #: After this many pages a new query starts from the last value.
    max_pages_per_query: t.ClassVar[int] = 0

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:  # noqa: ANN401
        """Set up the stream; no page of a query read yet."""
        super().__init__(*args, **kwargs)
        self._pages_read = 0

    def query_records(
        self, context: Mapping[str, t.Any] | None
    ) -> Iterator[dict[str, t.Any]]:
        """Records in queries of at most ``max_pages_per_query`` pages.

        When a query reaches the cap, the next one is filtered from the last
        replication-key value seen (records are sorted); records at that value
        already sent are not sent again.
        """
        sent_at_floor: set[str] = set()
        while True:
            self._pages_read = 0
            last: t.Any = None
            sent_at_last: set[str] = set()
            try:
                for record in super().query_records(context):
                    value = record.get(self.replication_key or "")
                    identity = self._identity(record)
                    if value == self._query_floor and identity in sent_at_floor:
                        continue
                    if value != last:
                        last, sent_at_last = value, set()
                    sent_at_last.add(identity)
                    yield record
            except _PageCapReachedError:
                pass
            else:
                return
            floor = self._query_floor
            if last is None or (floor is not None and as_key(last) <= as_key(floor)):
                msg = (
                    f"stream {self.name!r}: {self.max_pages_per_query} pages hold no "
                    "newer replication-key value, so a new query would start where "
                    "this one did; raise max_pages_per_query or the page size"
                )
                raise APIError(msg)
            if last == floor:
                sent_at_last |= sent_at_floor
            self._query_floor, sent_at_floor = last, sent_at_last

    def _identity(self, record: Mapping[str, t.Any]) -> str:
        """The primary key of a record (the whole record without one), as text."""
        if self.primary_keys:
            return json.dumps([record.get(k) for k in self.primary_keys], default=str)
        return json.dumps(record, sort_keys=True, default=str)

    def parse_response(self, response: requests.Response) -> Iterator[dict[str, t.Any]]:
        """The page's records; a capped query ends after its last page's records."""
        yield from super().parse_response(response)
        if self.last_page_size:
            self._pages_read += 1
            if self._pages_read >= self.max_pages_per_query:
                raise _PageCapReachedError
