"""Paginators beyond the SDK's.

Cursors and next-page URLs that must never repeat, and stop conditions read
from the body.
"""

from __future__ import annotations

import typing as t
from urllib.parse import (
    urljoin,
)

from singer_sdk.pagination import BaseAPIPaginator

from .http import APIError
from .jsonio import first_match
from .secrets import redact

if t.TYPE_CHECKING:
    import requests


class TokenPaginator(BaseAPIPaginator[t.Any]):
    """A paginator whose tokens must never repeat (a repeat would loop forever).

    Subclasses pass every token they read through :meth:`_checked`.
    """

    def __init__(self, decode: t.Callable[[requests.Response], t.Any]) -> None:
        """Read response bodies with ``decode``."""
        super().__init__(None)
        self._decode = decode
        self._seen: set[str] = set()

    def _checked(self, token: t.Any) -> t.Any:  # noqa: ANN401
        if token in (None, ""):
            return None
        key = str(token)
        if key in self._seen:
            msg = (
                f"pagination loop: the API returned the token {redact(key)!r} again "
                f"after {self.count} pages; stopping rather than repeating pages"
            )
            raise APIError(msg)
        self._seen.add(key)
        return token


class CursorPaginator(TokenPaginator):
    """The next cursor from the body (JSONPath) or a response header."""

    def __init__(
        self,
        *,
        decode: t.Callable[[requests.Response], t.Any],
        selector: str | None = None,
        header: str | None = None,
    ) -> None:
        """Read the cursor with ``selector`` or from ``header``."""
        super().__init__(decode)
        self._selector = selector
        self._header = header

    def get_next(self, response: requests.Response) -> t.Any | None:  # noqa: ANN401
        """The cursor, or None (paging stops) when it is missing or empty."""
        if self._header is not None:
            return self._checked(response.headers.get(self._header))
        return self._checked(first_match(str(self._selector), self._decode(response)))


class NextUrlPaginator(TokenPaginator):
    """The next page's URL: from the body (JSONPath) or a ``Link: rel="next"``."""

    def __init__(
        self,
        *,
        decode: t.Callable[[requests.Response], t.Any],
        selector: str | None = None,
    ) -> None:
        """Read the next URL with ``selector``, else from the ``Link`` header."""
        super().__init__(decode)
        self._selector = selector

    def get_next(self, response: requests.Response) -> str | None:
        """An absolute URL (relative ones resolve against the page's URL)."""
        if self._selector is None:
            url = response.links.get("next", {}).get("url")
        else:
            url = first_match(self._selector, self._decode(response))
        if url in (None, ""):
            return None
        return t.cast("str", self._checked(urljoin(response.url, str(url))))


class StopWhen(BaseAPIPaginator[t.Any]):
    """Wraps a paginator and stops it early when the API says there is no more.

    Checked after each page, in this order: ``max_pages`` pages were read; the
    ``has_more`` value is false; ``total_pages`` pages were read; ``total_records``
    records were read. Without a value in the body, the inner paginator decides.
    """

    def __init__(
        self,
        inner: BaseAPIPaginator[t.Any],
        *,
        decode: t.Callable[[requests.Response], t.Any],
        records_on_page: t.Callable[[], int],
        has_more: str | None = None,
        total_pages: str | None = None,
        total_records: str | None = None,
        max_pages: int | None = None,
    ) -> None:
        """Wrap ``inner``; each stop condition given ends paging early."""
        super().__init__(None)
        self._inner = inner
        self._decode = decode
        self._records_on_page = records_on_page
        self._rules = (has_more, total_pages, total_records, max_pages)
        self._pages = 0
        self._records = 0
        self._stopped = False
        #: Why a rule stopped paging (None while paging goes on).
        self.reason: str | None = None

    @property
    def inner(self) -> BaseAPIPaginator[t.Any]:
        """The paginator that produces the tokens."""
        return self._inner

    @property
    def rules(self) -> tuple[str | None, str | None, str | None, int | None]:
        """``(has_more, total_pages, total_records, max_pages)`` as declared."""
        return self._rules

    @property
    def current_value(self) -> t.Any:  # noqa: ANN401
        """The inner paginator's token."""
        return self._inner.current_value

    @property
    def finished(self) -> bool:
        """Stopped by a rule, or by the inner paginator."""
        return self._stopped or self._inner.finished

    def continue_if_empty(self, response: requests.Response) -> bool:
        """As the inner paginator says."""
        return self._inner.continue_if_empty(response)

    def get_next(self, response: requests.Response) -> t.Any:  # noqa: ANN401
        """Not used: :meth:`advance` delegates to the inner paginator."""
        return self._inner.get_next(response)

    def advance(self, response: requests.Response) -> None:
        """Stop when a rule says so, else let the inner paginator advance."""
        self._pages += 1
        self._records += self._records_on_page()
        self.reason = self.stop_reason(response)
        if self.reason is not None:
            self._stopped = True
            return
        self._inner.advance(response)

    def stop_reason(self, response: requests.Response) -> str | None:
        """Why paging stops after this page, or None."""
        has_more, total_pages, total_records, max_pages = self._rules
        if max_pages is not None and self._pages >= max_pages:
            return f"max_pages ({max_pages}) reached"
        body = (
            self._decode(response)
            if (has_more or total_pages or total_records)
            else None
        )
        if (
            has_more
            and (value := first_match(has_more, body)) is not None
            and not value
        ):
            return f"{has_more} is false"
        if (
            total_pages
            and (value := first_match(total_pages, body)) is not None
            and self._pages >= int(value)
        ):
            return f"all {value} pages ({total_pages}) read"
        if (
            total_records
            and (value := first_match(total_records, body)) is not None
            and self._records >= int(value)
        ):
            return f"all {value} records ({total_records}) read"
        return None
