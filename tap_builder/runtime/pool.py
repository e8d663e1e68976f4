"""The worker pool behind concurrent streams, and the window of pages ahead.

:mod:`.concurrency` holds the stream side; this module the machinery: one pool
of worker threads per process (:data:`POOL`), a request sent ahead
(:class:`Pending`), how many pages a first answer announces (:class:`Plan`) and
the pages in flight past the one being emitted (:class:`Window`).
"""

from __future__ import annotations

import collections
import json
import threading
import typing as t
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from .jsonio import first_match

if t.TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    import requests

    from .concurrency import ConcurrentStream


#: requests' connection pool keeps this many connections per host by default.
DEFAULT_POOL_CONNECTIONS = 10
#: Marks a body that was not decoded by the worker.
NOT_DECODED = object()

Request = t.Callable[..., "requests.Response"]


class Pool:
    """The worker threads of the process, started on first use."""

    def __init__(self) -> None:
        """An idle pool: its threads start with the first request sent ahead."""
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._live: set[threading.Event] = set()
        self._slots: threading.BoundedSemaphore | None = None
        #: Threads the pool may run (set from the first stream that uses it).
        self.size = 1

    def slots(self, size: int) -> threading.BoundedSemaphore:
        """Requests in flight, the main thread's included: ``size`` at most.

        Fixed at first use, like the number of workers.
        """
        with self._lock:
            if self._slots is None:
                self._slots = threading.BoundedSemaphore(size)
            return self._slots

    def submit(
        self,
        size: int,
        task: Callable[[], tuple[requests.Response, t.Any]],
        cancel: threading.Event,
    ) -> Future[tuple[requests.Response, t.Any]]:
        """Run ``task`` on a worker (``size`` workers, fixed at first use).

        ``cancel`` is set when the pool shuts down before the task is done.
        """
        with self._lock:
            if self._executor is None:
                self.size = size
                self._executor = ThreadPoolExecutor(
                    max_workers=size, thread_name_prefix="tap-request"
                )
            self._live.add(cancel)
            future = self._executor.submit(task)
        future.add_done_callback(lambda _: self._done(cancel))
        return future

    def _done(self, cancel: threading.Event) -> None:
        with self._lock:
            self._live.discard(cancel)

    def shutdown(self) -> None:
        """Call off every request not answered yet and join every worker thread."""
        with self._lock:
            executor, self._executor = self._executor, None
            live, self._live = self._live, set()
        for cancel in live:
            cancel.set()
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


#: The pool of this process.
POOL = Pool()


@dataclass
class Pending:
    """A request sent ahead: the token it asks for, and its answer to come."""

    token: t.Any
    prepared: requests.PreparedRequest
    future: Future[tuple[requests.Response, t.Any]]
    cancel: threading.Event = field(default_factory=threading.Event)

    def call_off(self) -> bool:
        """Cancel it; True when it had already been sent (a wasted request)."""
        self.cancel.set()
        return not self.future.cancel()


@dataclass(frozen=True)
class Plan:
    """How the next tokens follow from the current one, and where they end."""

    step: int
    has_more: str | None
    total_pages: str | None
    total_records: str | None
    max_pages: int | None

    @property
    def waits_for_total(self) -> bool:
        """The first page tells how many pages there are: no speculation."""
        return bool(self.total_pages or self.total_records)

    def pages_from(self, body: t.Any, first_page_records: int) -> int | None:  # noqa: ANN401
        """Pages in all, from the first page's body (None: unknown)."""
        found: list[int] = [] if self.max_pages is None else [self.max_pages]
        if self.total_pages and isinstance(
            pages := first_match(self.total_pages, body), int | float | str
        ):
            found.append(whole(pages))
        per_page = self.step if self.step > 1 else first_page_records
        if (
            self.total_records
            and per_page > 0
            and isinstance(
                total := first_match(self.total_records, body), int | float | str
            )
        ):
            found.append(-(-whole(total) // per_page))
        return min(found) if found else None


def whole(value: float | str) -> int:
    """A count from an API total (a number or numeric text); 0 when unreadable."""
    try:
        return max(0, int(float(value)))
    except ValueError:
        return 0


def context_key(context: Mapping[str, t.Any] | None) -> str:
    """A stream context as a key (its JSON, keys sorted)."""
    return json.dumps(context or {}, sort_keys=True, default=str)


def same_request(a: requests.PreparedRequest, b: requests.PreparedRequest) -> bool:
    """Whether two requests ask for the same thing (method, URL and body)."""
    return (a.method, a.url, a.body) == (b.method, b.url, b.body)


class Window:
    """The requests sent ahead for the pages of one context, in paging order."""

    def __init__(
        self,
        stream: ConcurrentStream,
        context: Mapping[str, t.Any] | None,
        plan: Plan | None,
        start: t.Any,  # noqa: ANN401
    ) -> None:
        """The pages of ``stream`` for ``context`` from the paginator's ``start``."""
        self.stream = stream
        self.context = context
        self.plan = plan
        self.start = start
        self.send = stream.request_decorator(stream._request)  # noqa: SLF001
        self.ahead: collections.deque[Pending] = collections.deque()
        #: Requests answered so far; pages in all, once known.
        self.index = 0
        self.known_pages = None if plan is None else plan.max_pages
        self.speculate = plan is not None and not plan.waits_for_total

    def adopt(self, first: Pending) -> None:
        """Use a first page requested by the parent, if it is the right request."""
        fresh = self.stream.prepare_page(self.context, first.token)
        if same_request(first.prepared, fresh):
            self.ahead.append(first)
        else:
            self.stream.note_discarded(int(first.call_off()), "a changed first request")

    def answer(
        self,
        token: t.Any,  # noqa: ANN401
    ) -> tuple[requests.PreparedRequest, requests.Response]:
        """The answer for ``token``: taken from ahead, else requested now."""
        self._fill()
        while self.ahead and self.ahead[0].token != token:
            self.stream.note_discarded(int(self.ahead.popleft().call_off()), "pages")
        if not self.ahead:
            prepared = self.stream.prepare_page(self.context, token)
            return prepared, self.send(prepared, self.context)
        pending = self.ahead.popleft()
        response, body = pending.future.result()
        if body is not NOT_DECODED:
            self.stream._decoded = (response, body)  # noqa: SLF001
        return pending.prepared, response

    def learn(self, response: requests.Response, records: int) -> None:
        """After the first page: how many pages there are, if it says."""
        if self.plan is not None and self.index == 0:
            body = self.stream.decode_body(response)
            counted = self.plan.pages_from(body, records)
            if counted is None:
                self.speculate = True
            else:
                self.known_pages = counted
        self.index += 1

    def _fill(self) -> None:
        """Keep the next ``window`` pages requested (never past a known end)."""
        plan = self.plan
        if plan is None or not (self.speculate or self.known_pages is not None):
            return
        last = self.index + self.stream.window()
        if self.known_pages is not None:
            last = min(last, self.known_pages)
        following = self.index
        if self.ahead:
            following = int((self.ahead[-1].token - self.start) // plan.step) + 1
        for number in range(following, last):
            token = self.start + number * plan.step
            self.ahead.append(self.stream.send_ahead(self.send, self.context, token))

    def close(self) -> int:
        """Call off what is still ahead; how many of those were already sent."""
        wasted = sum(int(pending.call_off()) for pending in self.ahead)
        self.ahead.clear()
        return wasted
