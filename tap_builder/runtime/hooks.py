"""The hooks a tap's ``custom.py`` gives its streams, typed so mypy checks them.

``custom.py`` maps stream names to :class:`StreamHooks`; each stream looks its
hooks up once, when the tap creates it, and calls only the ones given. A stream
without hooks pays one ``is None`` test per page and per record.
"""

from __future__ import annotations

import typing as t
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

if t.TYPE_CHECKING:
    import requests
    from singer_sdk.streams.rest import HTTPRequest, PageContext

    from .streams import BuilderStream

#: A record as the stream has it (JSON values).
Record: t.TypeAlias = dict[str, t.Any]
#: ``post_process(stream, record, context)``: the record to emit, or None to
#: drop it. Runs after the spec's own record rules, before the record is made to
#: fit the schema (a field the schema does not declare is dropped).
PostProcess: t.TypeAlias = Callable[
    ["BuilderStream", Record, "Mapping[str, t.Any] | None"], "Record | None"
]
#: ``prepare_request(stream, request, page)``: the request to send (change its
#: ``params``, ``headers``, ``data`` or ``url``). ``page.stream_context`` is the
#: context, ``page.next_page_token`` the paginator's token. Runs after the spec's
#: own request settings.
PrepareRequest: t.TypeAlias = Callable[
    ["BuilderStream", "HTTPRequest", "PageContext[t.Any]"], "HTTPRequest"
]
#: ``parse_response(stream, response)``: the records of a response, instead of
#: decoding it and applying ``records_selector``.
ParseResponse: t.TypeAlias = Callable[
    ["BuilderStream", "requests.Response"], Iterable[Record]
]


@dataclass(frozen=True)
class StreamHooks:
    """The hooks of one stream; each is optional."""

    post_process: PostProcess | None = None
    prepare_request: PrepareRequest | None = None
    parse_response: ParseResponse | None = None


#: A stream that has no entry in ``HOOKS``.
NO_HOOKS = StreamHooks()


def hooks_for(owner: object, stream_name: str) -> StreamHooks:
    """The hooks the tap ``owner`` declares for ``stream_name`` (none: NO_HOOKS)."""
    table: Mapping[str, StreamHooks] = getattr(owner, "stream_hooks", {})
    return table.get(stream_name, NO_HOOKS)
