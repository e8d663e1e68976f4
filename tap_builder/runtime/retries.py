"""Retries for generated streams: backoff, ``Retry-After`` and one clear error."""

from __future__ import annotations

import contextlib
import random
import typing as t

import requests
from singer_sdk import RESTStream
from singer_sdk.exceptions import RetriableAPIError

from .budget import BUDGET, retry_after_seconds, wait_for_rate_limit
from .http import APIError, describe_failure
from .secrets import redact, redact_url

if t.TYPE_CHECKING:
    from collections.abc import Generator


#: A wait at least this long is shown as forever.
_FOREVER = 1e15


class RetryingStream(RESTStream[t.Any]):
    """The SDK's retrying request with the spec's schedule and bounded waits."""

    #: Retry schedule defaults (the max_attempts, backoff_seconds and
    #: request_timeout settings override them): attempts in all, the first wait
    #: in seconds (doubling, with jitter, up to the maximum), seconds per request.
    max_attempts: t.ClassVar[int] = 5
    backoff_base_seconds: t.ClassVar[float] = 1.0
    backoff_max_seconds: t.ClassVar[float] = 60.0
    request_timeout: t.ClassVar[float] = 300.0
    #: The longest wait an API may ask for (max_retry_wait setting).
    max_retry_wait: t.ClassVar[float] = 600.0
    #: Seconds between two requests of the whole tap (0: no limit).
    min_request_interval: t.ClassVar[float] = 0
    #: Query parameters whose value is a secret (API keys in the query).
    secret_query_params: t.ClassVar[tuple[str, ...]] = ()

    def _setting(self, name: str) -> float:
        """A numeric built-in setting: the config's value, else the class default."""
        value = self.config.get(name)
        return float(getattr(self, name) if value is None else value)

    # -- retries ------------------------------------------------------------ #

    def backoff_wait_generator(self) -> Generator[float, t.Any, None]:
        """Exponential backoff with jitter, or exactly what ``Retry-After`` says."""
        exception = yield 0.0
        attempt = 0
        cap = self._setting("max_retry_wait")
        while True:
            response = getattr(exception, "response", None)
            wait = retry_after_seconds(response)
            if wait is not None and not wait <= cap:
                shown = f"{wait:.0f} s" if wait < _FOREVER else "forever"
                msg = (
                    f"stream {self.name!r}: the API asked to wait {shown} before "
                    f"retrying, longer than max_retry_wait ({cap:g} s); stopping "
                    "instead of waiting (run later, or raise the setting)"
                )
                raise APIError(msg)
            if wait is not None:  # the API's own wait holds back every request
                BUDGET.pause(wait)
            else:
                base = float(
                    self.config.get("backoff_seconds", self.backoff_base_seconds)
                )
                ceiling = base * 2**attempt
                wait = min(
                    self.backoff_max_seconds,
                    ceiling * (0.5 + random.random() / 2),  # noqa: S311 - jitter
                )
            attempt += 1
            exception = yield wait

    def backoff_jitter(self, value: float) -> float:
        """Jitter is applied by :meth:`backoff_wait_generator` itself."""
        return value

    def backoff_max_tries(self) -> int:
        """Attempts in all before a transient failure becomes fatal."""
        return int(self.config.get("max_attempts") or self.max_attempts)

    @property
    def timeout(self) -> int:
        """Seconds to wait for each answer (the request_timeout setting)."""
        seconds = float(self.config.get("request_timeout") or self.request_timeout)
        return t.cast("int", seconds)  # requests takes any number of seconds

    def wait_turn(self) -> None:
        """Wait until the tap's request budget lets the next attempt go."""
        wait_for_rate_limit(self.min_request_interval)

    def request_slot(self) -> contextlib.AbstractContextManager[object]:
        """Held while a request is in flight (concurrent streams bound them)."""
        return contextlib.nullcontext()

    def request_decorator(
        self, func: t.Callable[..., requests.Response]
    ) -> t.Callable[..., requests.Response]:
        """The SDK's retrying request, ending in one clear error once it gives up."""

        def limited(
            prepared_request: requests.PreparedRequest,
            context: t.Any,  # noqa: ANN401
        ) -> requests.Response:
            self.wait_turn()  # every attempt counts
            with self.request_slot():
                return func(prepared_request, context)

        decorated = super().request_decorator(limited)

        def request(
            prepared_request: requests.PreparedRequest,
            context: t.Any,  # noqa: ANN401
        ) -> requests.Response:
            try:
                return decorated(prepared_request, context)
            except RetriableAPIError as exc:
                msg = f"{exc} (gave up after {self.backoff_max_tries()} attempts)"
                raise APIError(redact(msg)) from None
            except (requests.RequestException, ConnectionResetError) as exc:
                where = redact_url(str(prepared_request.url), self.secret_query_params)
                attempts = self.backoff_max_tries()
                msg = (
                    f"stream {self.name!r}: {describe_failure(exc, self.timeout)} "
                    f"for {where} (gave up after {attempts} attempts)"
                )
                raise APIError(msg) from None

        return request

    def backoff_handler(self, details: t.Mapping[str, t.Any]) -> None:
        """Log each retry without the URL's query (it may hold a key)."""
        exc = details.get("exception")
        response = getattr(exc, "response", None)
        status = response.status_code if response is not None else type(exc).__name__
        self.logger.warning(
            "stream %r: attempt %d failed (%s); retrying in %.2f s",
            self.name,
            details.get("tries", 0),
            status,
            details.get("wait", 0.0),
        )
