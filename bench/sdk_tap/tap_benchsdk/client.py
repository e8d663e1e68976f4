"""REST client handling, including the BenchSDKStream base class."""

from __future__ import annotations

import decimal
import sys
import typing as t

from singer_sdk.helpers.jsonpath import extract_jsonpath
from singer_sdk.pagination import PageNumberPaginator
from singer_sdk.streams import RESTStream

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    import requests
    from singer_sdk.helpers.types import Context


class BenchSDKStream(RESTStream[int]):
    """Base stream: the API URL comes from the ``api_url`` setting."""

    records_jsonpath = "$.data[*]"

    @override
    @property
    def url_base(self) -> str:
        """Return the API URL root, configurable via tap settings."""
        return str(self.config["api_url"])


class PagedStream(BenchSDKStream):
    """A stream read page by page (``?page=1, 2, ...``) until a page is empty."""

    @override
    def get_new_paginator(self) -> PageNumberPaginator:
        """Start at page 1; the SDK stops at the first page without records."""
        return PageNumberPaginator(1)

    @override
    def get_url_params(
        self, context: Context | None, next_page_token: int | None
    ) -> dict[str, t.Any]:
        """Send the page number."""
        params: dict[str, t.Any] = {}
        if next_page_token:
            params["page"] = next_page_token
        return params

    @override
    def parse_response(self, response: requests.Response) -> Iterable[dict[str, t.Any]]:
        """Parse the response and yield the records."""
        yield from extract_jsonpath(
            self.records_jsonpath,
            input=response.json(parse_float=decimal.Decimal),
        )
