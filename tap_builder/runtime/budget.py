"""Waiting politely: the tap's request budget and the waits an API asks for.

One budget per process (:data:`BUDGET`), shared by every stream and worker:
``rate_limit`` spaces requests, and a ``Retry-After`` or rate-limit reset pauses
them all. :func:`retry_after_seconds` reads those headers.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import threading
import time
import typing as t
from email.utils import parsedate_to_datetime
from http import HTTPStatus

if t.TYPE_CHECKING:
    import requests


#: A reset value above this many seconds is a Unix time, not a wait.
_ONE_DAY = 86400

#: Rate-limit reset headers: seconds until the reset, or its Unix time.
RESET_HEADERS = ("X-RateLimit-Reset", "RateLimit-Reset", "X-Rate-Limit-Reset")


def retry_after_seconds(response: requests.Response | None) -> float | None:
    """Seconds an API asked us to wait.

    ``Retry-After`` (seconds or an HTTP date) first; else, on a 429, an
    ``X-RateLimit-Reset``-style header (seconds to wait, or the reset's Unix time
    when the number is larger than a day).
    """
    if response is None:
        return None
    header = response.headers.get("Retry-After", "").strip()
    if not header:
        return _reset_seconds(response)
    if re.fullmatch(r"\d+(\.\d+)?", header):
        return float(header)
    try:
        when = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _reset_seconds(response: requests.Response) -> float | None:
    if response.status_code != HTTPStatus.TOO_MANY_REQUESTS:
        return None
    for name in RESET_HEADERS:
        raw = response.headers.get(name, "").strip()
        if re.fullmatch(r"\d+(\.\d+)?", raw):
            value = float(raw)
            if value > _ONE_DAY:  # a Unix time
                value -= dt.datetime.now(dt.UTC).timestamp()
            return max(0.0, value)
    return None


class Cancelled(Exception):  # noqa: N818 - a state, not an error
    """A request was called off before it was sent (the sync is ending)."""


class Budget:
    """The request budget of the whole process, shared by every stream and worker.

    Requests are spaced ``min_interval`` apart (each takes the next free slot,
    then sleeps outside the lock, so several workers queue in order), and a
    pause asked for by the API (``Retry-After``, a rate-limit reset) holds back
    every request, not only the one that got the 429.
    """

    def __init__(self, share: int = 1) -> None:
        """An empty budget: no request sent, no pause.

        ``share``: how many processes split the tap's budget (``parallel_streams``
        runs units as child processes): each spaces its requests ``share`` times
        the interval, so together they stay within the spec's rate.
        """
        self._lock = threading.Lock()
        self._last = 0.0
        self._paused_until = 0.0
        self._share = max(1, share)

    def pause(self, seconds: float) -> None:
        """Hold back every request for ``seconds`` from now."""
        if seconds > 0:
            with self._lock:
                self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def wait(
        self,
        min_interval: float,
        not_before: float = 0.0,
        cancel: threading.Event | None = None,
    ) -> None:
        """Sleep until this request may go: its slot, the pause, ``not_before``.

        Raises:
            Cancelled: when ``cancel`` is set before or while waiting.
        """
        while True:
            with self._lock:
                now = time.monotonic()
                slot = max(now, not_before, self._paused_until)
                if min_interval > 0:
                    slot = max(slot, self._last + min_interval * self._share)
                    self._last = slot
            delay = slot - now
            if cancel is not None and (cancel.is_set() or cancel.wait(delay)):
                raise Cancelled
            if cancel is None and delay > 0:
                time.sleep(delay)
            if time.monotonic() >= self._paused_until:  # no pause began meanwhile
                return


#: Set by a parallel_streams tap for its child processes: how many share its budget.
BUDGET_SHARE_ENV = "TAP_BUDGET_SHARE"


def _share_from_env() -> int:
    text = os.environ.get(BUDGET_SHARE_ENV, "")
    return int(text) if text.isdigit() else 1


#: The budget of this process.
BUDGET = Budget(_share_from_env())


def wait_for_rate_limit(min_interval: float) -> None:
    """Sleep so that requests of this process are ``min_interval`` apart.

    Also waits out a pause an API asked for (see :class:`Budget`).
    """
    BUDGET.wait(min_interval)
