"""Concurrent requests for streams whose spec sets ``concurrency`` above 1.

Requests go out from a pool of worker threads (one per process, as many threads
as ``max_concurrency``); everything else stays on the main thread, in the order a
sequential sync has: responses are parsed, records emitted and state updated
page by page in paging order, so ``state_every``, windows, sorted streams and
parent-child state mean what they mean without concurrency.

- **Page prefetch.** When the next request is predictable (page numbers and
  offsets), the next pages are requested ahead, at most ``concurrency`` pages
  past the one being emitted. With ``total_pages`` / ``total_records`` the first
  page says how many there are and nothing past the end is asked for; without,
  the prefetch is speculative and stops at the first empty (or short) page: the
  requests past it (fewer than ``concurrency``) are discarded and counted in the
  log. The stream's own paginator still decides, page by page, where paging
  ends; a prefetched page is used only when it is the page it would request.
- **Parent-child fan-out.** A parent looks ``concurrency`` records ahead and
  requests the first page of each record's children; a child uses that answer
  only when its own first request is exactly the one prefetched.
- **Within the API's limits.** Every attempt takes a turn from the process's
  :data:`~.budget.BUDGET` (``rate_limit``, and a ``Retry-After`` or rate-limit
  reset pauses every worker); retries and error rules apply per request.
- **Failure.** A request that fails for good fails the sync when its page's turn
  comes (pages before it are emitted first, as without concurrency); the other
  requests are called off, waits end at once, and the pool's threads are joined
  before the error goes on: no thread is left running, no STATE claims a page
  that was not emitted.
"""

from __future__ import annotations

import collections
import copy
import threading
import time
import typing as t

from requests.adapters import HTTPAdapter
from singer_sdk.pagination import OffsetPaginator, PageNumberPaginator
from singer_sdk.streams.rest import PageContext

from .budget import BUDGET
from .pool import (
    DEFAULT_POOL_CONNECTIONS,
    NOT_DECODED,
    POOL,
    Pending,
    Plan,
    Request,
    Window,
    context_key,
)
from .streams import BuilderStream

if t.TYPE_CHECKING:
    import contextlib
    from collections.abc import Generator, Iterable, Iterator, Mapping

    import requests


class ConcurrentStream(BuilderStream):
    """A stream that keeps up to ``concurrency`` requests in flight."""

    #: Requests of this stream in flight at once (the spec's ``concurrency``).
    concurrency: t.ClassVar[int] = 1
    #: Worker threads of the whole tap (the spec's ``max_concurrency``).
    pool_size: t.ClassVar[int] = 1
    #: Whether a parent may request this child's first page ahead (False when
    #: that request depends on the child's bookmark, read when its sync starts).
    prefetch_first_page: t.ClassVar[bool] = True

    # -- settings ------------------------------------------------------------ #

    def window(self) -> int:
        """Requests in flight for this stream (the max_concurrency setting caps it)."""
        cap = self.config.get("max_concurrency")
        return max(1, min(self.concurrency, int(cap) if cap else self.concurrency))

    def _pool_size(self) -> int:
        cap = self.config.get("max_concurrency")
        return max(1, min(self.pool_size, int(cap) if cap else self.pool_size))

    # -- per-thread state ---------------------------------------------------- #

    @property
    def _thread_state(self) -> threading.local:
        found = self.__dict__.get("_thread_local")
        if found is None:
            found = self.__dict__["_thread_local"] = threading.local()
        return t.cast("threading.local", found)

    @property
    def _decoded(self) -> tuple[requests.Response, t.Any] | None:
        """The last body decoded on this thread (each worker has its own)."""
        return getattr(self._thread_state, "decoded", None)

    @_decoded.setter
    def _decoded(self, value: tuple[requests.Response, t.Any] | None) -> None:
        self._thread_state.decoded = value

    @property
    def requests_session(self) -> requests.Session:
        """The guarded session, with a connection per worker."""
        session = super().requests_session
        size = self._pool_size()
        if size > DEFAULT_POOL_CONNECTIONS and not self.__dict__.get("_sized"):
            for prefix in ("https://", "http://"):
                session.mount(prefix, HTTPAdapter(pool_maxsize=size))
            self.__dict__["_sized"] = True
        return session

    def request_slot(self) -> contextlib.AbstractContextManager[object]:
        """A slot of the tap's requests in flight (workers and main thread)."""
        return POOL.slots(self._pool_size())

    # -- waits: one budget, called off at once --------------------------------- #

    def wait_turn(self) -> None:
        """Wait for the budget, a retry's backoff and a pause; stop if called off."""
        state = self._thread_state
        not_before = getattr(state, "not_before", 0.0)
        state.not_before = 0.0
        BUDGET.wait(
            self.min_request_interval, not_before, getattr(state, "cancel", None)
        )

    def backoff_wait_generator(self) -> Generator[float, t.Any, None]:
        """The usual waits, slept in :meth:`wait_turn` (so they can be cut short)."""
        inner = super().backoff_wait_generator()
        exception = yield next(inner)
        while True:
            wait = inner.send(exception)
            state = self._thread_state
            state.pending_wait = wait
            state.not_before = time.monotonic() + wait
            exception = yield 0.0

    def backoff_handler(self, details: t.Mapping[str, t.Any]) -> None:
        """Log each retry with the wait it will really take."""
        wait = getattr(self._thread_state, "pending_wait", details.get("wait", 0.0))
        super().backoff_handler({**details, "wait": wait})

    # -- requests ------------------------------------------------------------ #

    def prepare_page(
        self,
        context: Mapping[str, t.Any] | None,
        token: t.Any,  # noqa: ANN401
    ) -> requests.PreparedRequest:
        """The request for ``token``, as the SDK's own loop prepares it."""
        request = self.get_http_request(
            page=PageContext(stream_context=context, next_page_token=token)
        )
        kwargs: dict[str, t.Any] = {
            "method": request.method,
            "url": request.url,
            "params": request.encode_params(),
            "headers": request.headers,
        }
        kwargs["json" if self.payload_as_json else "data"] = request.data
        return self.build_prepared_request(**kwargs)

    def send_ahead(
        self,
        send: Request,
        context: Mapping[str, t.Any] | None,
        token: t.Any,  # noqa: ANN401
    ) -> Pending:
        """Prepare the request for ``token`` here; send it from a worker."""
        prepared = self.prepare_page(context, token)
        cancel = threading.Event()

        def task() -> tuple[requests.Response, t.Any]:
            state = self._thread_state
            state.cancel = cancel
            state.decoded = None
            try:
                response = send(prepared, context)
                decoded = state.decoded
                body = (
                    decoded[1]
                    if decoded is not None and decoded[0] is response
                    else NOT_DECODED
                )
                return response, body
            finally:
                state.cancel = None
                state.decoded = None

        future = POOL.submit(self._pool_size(), task, cancel)
        return Pending(token, prepared, future, cancel)

    def _plan(self) -> Plan | None:
        """How to prefetch this stream's pages (None: one page at a time)."""
        if self.window() <= 1:
            return None
        paginator = self.get_new_paginator()
        inner = getattr(paginator, "inner", paginator)
        if isinstance(inner, OffsetPaginator):
            step = int(inner.page_size)
        elif isinstance(inner, PageNumberPaginator):
            step = 1
        else:
            return None  # the next token is read from the answer
        has_more, total_pages, total_records, max_pages = getattr(
            paginator, "rules", (None, None, None, None)
        )
        return Plan(step, has_more, total_pages, total_records, max_pages)

    def request_records(
        self, context: Mapping[str, t.Any] | None
    ) -> Iterable[dict[str, t.Any]]:
        """The SDK's page loop, with pages requested ahead of their turn."""
        first = self._claim_prefetched(context)
        plan = self._plan()
        if first is None and plan is None:
            yield from super().request_records(context)
            return
        yield from self._paged_records(context, plan, first)

    def _paged_records(
        self,
        context: Mapping[str, t.Any] | None,
        plan: Plan | None,
        first: Pending | None,
    ) -> Iterator[dict[str, t.Any]]:
        """The SDK's loop (``RESTStream.request_records``), answers taken ahead."""
        paginator = self.get_new_paginator()
        window = Window(self, context, plan, paginator.current_value)
        if first is not None:
            window.adopt(first)
        pages = 0
        try:
            with self.get_http_request_counter() as counter:
                counter.with_context(context)
                while not paginator.finished:
                    prepared, response = window.answer(paginator.current_value)
                    counter.increment()
                    self.update_sync_costs(prepared, response, context)
                    records = list(self.parse_response(response))
                    window.learn(response, len(records))
                    if not records:
                        if paginator.continue_if_empty(response):
                            paginator.advance(response)
                            continue
                        self.logger.info(
                            "Pagination stopped after %d pages because no records "
                            "were found in the last response",
                            pages,
                        )
                        break
                    yield from records
                    pages += 1
                    paginator.advance(response)
        except Exception:
            window.close()
            POOL.shutdown()  # the sync ends: join every worker before going on
            raise
        finally:
            self.note_discarded(window.close(), "pages past the last one")

    def note_discarded(self, count: int, what: str) -> None:
        """Log requests sent ahead that turned out not to be needed."""
        if count:
            self.logger.info(
                "stream %r: %d request(s) sent ahead were not needed (%s); "
                "at most concurrency - 1 per stop",
                self.name,
                count,
                what,
            )

    # -- parent-child fan-out -------------------------------------------------- #

    def _prefetched(self) -> dict[str, collections.deque[Pending]]:
        found = self.__dict__.get("_prefetched_pages")
        if found is None:
            found = self.__dict__["_prefetched_pages"] = {}
        return t.cast("dict[str, collections.deque[Pending]]", found)

    def prefetch_for(self, context: Mapping[str, t.Any]) -> None:
        """Request this child's first page for ``context`` ahead of its sync."""
        send = self.request_decorator(self._request)
        token = self.get_new_paginator().current_value
        pending = self.send_ahead(send, context, token)
        self._prefetched().setdefault(context_key(context), collections.deque()).append(
            pending
        )

    def _claim_prefetched(self, context: Mapping[str, t.Any] | None) -> Pending | None:
        queue = self._prefetched().get(context_key(context))
        if not queue:
            return None
        pending = queue.popleft()
        if not queue:
            del self._prefetched()[context_key(context)]
        return pending

    def drop_prefetched(self) -> None:
        """Call off first pages requested for parents whose children never synced."""
        found = self._prefetched()
        wasted = sum(int(p.call_off()) for queue in found.values() for p in queue)
        found.clear()
        self.note_discarded(wasted, "children of records that were not synced")

    def _fan_out_children(self) -> list[ConcurrentStream]:
        return [
            child
            for child in self.child_streams
            if isinstance(child, ConcurrentStream)
            and child.prefetch_first_page
            and child.window() > 1
            and (child.selected or child.has_selected_descendents)
        ]

    def get_records(
        self, context: Mapping[str, t.Any] | None
    ) -> Iterable[dict[str, t.Any]]:
        """Records in order; children of the next records are requested ahead."""
        children = self._fan_out_children()
        if not children:
            yield from super().get_records(context)
            return
        lookahead = max(child.window() for child in children)
        buffer: collections.deque[dict[str, t.Any]] = collections.deque()
        try:
            for record in super().get_records(context):
                buffer.append(record)
                self._prefetch_children(record, context, children)
                if len(buffer) > lookahead:
                    yield buffer.popleft()
            while buffer:
                yield buffer.popleft()
        finally:
            for child in children:
                child.drop_prefetched()

    def _prefetch_children(
        self,
        row: dict[str, t.Any],
        context: Mapping[str, t.Any] | None,
        children: list[ConcurrentStream],
    ) -> None:
        """Child contexts of ``row`` as the sync will build them; prefetch each."""
        record = self.post_process(copy.deepcopy(row), context)
        if record is None:
            return
        for child_context in self.generate_child_contexts(record, context):
            if child_context is not None:
                for child in children:
                    child.prefetch_for(child_context)
