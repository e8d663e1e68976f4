"""Your code: hooks the generated streams call, and streams written by hand.

tap-builder created this file once and never changes it: ``tap-builder update``
and ``generate --force`` keep it as it is. The rest of the package is generated
from the spec: change the spec and run ``tap-builder update``.

``HOOKS`` maps a stream's name to its hooks, each optional and each called with
the stream first (mypy checks them against ``runtime/hooks.py``):

- ``post_process(stream, record, context)``: the record to emit, or None to drop
  it; after the spec's record rules, before the record is made to fit the schema
  (declare new fields in the spec's schema);
- ``prepare_request(stream, request, page)``: the request to send; change its
  ``params``, ``headers``, ``data`` or ``url`` (``page.next_page_token`` is the
  paginator's token, ``page.stream_context`` the context);
- ``parse_response(stream, response)``: the records of a response, instead of
  ``records_selector``.

``STREAMS`` lists streams written by hand (subclasses of ``BulkParallelStream`` from
``tap_bulk_parallel.client``, with ``name``, ``path``, ``schema`` and, when not
``$[*]``, ``records_jsonpath``); the tap syncs them after the spec's streams.

A class the spec names (``custom: {paginator: Name}`` on a stream,
``custom: {authenticator: Name}`` at the top) is defined here; the stream calls
it with itself. A paginator sends its token through ``prepare_request``.

Example::

    def upper_name(
        stream: BuilderStream, record: Record, context: Context | None
    ) -> Record | None:
        record["name"] = record["name"].upper()
        return record

    HOOKS = {"items": StreamHooks(post_process=upper_name)}

(``StreamHooks`` is then needed at run time: import it outside the
``TYPE_CHECKING`` block.)
"""

from __future__ import annotations

import typing as t

if t.TYPE_CHECKING:
    from tap_bulk_parallel.client import BulkParallelStream
    from tap_bulk_parallel.runtime.hooks import StreamHooks

#: Stream name -> its hooks.
HOOKS: dict[str, StreamHooks] = {}

#: Streams written by hand, synced after the spec's streams.
STREAMS: tuple[type[BulkParallelStream], ...] = ()
