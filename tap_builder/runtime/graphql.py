"""GraphQL streams: the query and its variables as the POST body, ``errors`` rules.

The query is sent exactly as the spec wrote it (never templated: its braces
are GraphQL's); only the strings of the variables' values are rendered. An
answer of HTTP 200 whose ``errors`` list is not empty goes through the
stream's GraphQL error rules: retry, ignore (keep any ``data``) or fail; an
error no rule matches fails the sync with the API's messages.
"""

from __future__ import annotations

import typing as t

from singer_sdk.exceptions import RetriableAPIError

from .http import APIError
from .jsonio import first_match
from .paging import TokenPaginator
from .secrets import excerpt
from .streams import BuilderStream

if t.TYPE_CHECKING:
    from collections.abc import Mapping

    import requests

#: (extensions.code, message text, action, message) rules, in order.
ErrorRules = tuple[tuple[str | None, str | None, str, str | None], ...]
#: Errors quoted in a message; the rest are counted.
_SHOWN = 5


class GraphQLStream(BuilderStream):
    """A stream whose requests POST ``{query, variables}``."""

    #: The query, as the spec wrote it.
    graphql_query: t.ClassVar[str] = ""
    #: Variables: JSON values whose strings may hold spec variables.
    graphql_variables: t.ClassVar[dict[str, t.Any]] = {}
    #: The variable that carries the pagination cursor (None: no paging).
    graphql_cursor_variable: t.ClassVar[str | None] = None
    #: What to do with errors in an answer (without a match: fail).
    graphql_error_rules: t.ClassVar[ErrorRules] = ()

    def prepare_request_payload(
        self,
        context: Mapping[str, t.Any] | None,
        next_page_token: t.Any | None,  # noqa: ANN401
    ) -> dict[str, t.Any]:
        """``{query, variables}``; the cursor (after the first page) in its variable."""
        variables: dict[str, t.Any] = self.render_data(self.graphql_variables, context)
        if self.graphql_cursor_variable and next_page_token is not None:
            variables[self.graphql_cursor_variable] = next_page_token
        return {"query": self.graphql_query, "variables": variables}

    def validate_response(self, response: requests.Response) -> None:
        """HTTP errors as usual; then the GraphQL ``errors`` of a 200 answer."""
        super().validate_response(response)
        body = self.decode_body(response)
        errors = body.get("errors") if isinstance(body, dict) else None
        if not errors:
            return
        found = [e if isinstance(e, dict) else {"message": e} for e in errors]
        text = "; ".join(_describe(error) for error in found[:_SHOWN])
        more = f" (and {len(found) - _SHOWN} more)" if len(found) > _SHOWN else ""
        head = f"stream {self.name!r}: the GraphQL API answered with errors: {text}"
        for code, contains, action, message in self.graphql_error_rules:
            if not any(_matches(error, code, contains) for error in found):
                continue
            note = f" ({message})" if message else ""
            msg = f"{head}{more}{note}"
            if action == "retry":
                raise RetriableAPIError(msg, response)
            if action == "fail":
                raise APIError(msg)
            self.logger.warning("%s%s; ignored, going on%s", head, more, note)
            return
        msg = f"{head}{more}"
        raise APIError(msg)


def _describe(error: Mapping[str, t.Any]) -> str:
    message = excerpt(str(error.get("message", "no message")), 200)
    code = _code(error)
    return f"{message} [{code}]" if code else message


def _code(error: Mapping[str, t.Any]) -> str | None:
    extensions = error.get("extensions")
    code = extensions.get("code") if isinstance(extensions, dict) else None
    return None if code is None else str(code)


def _matches(
    error: Mapping[str, t.Any], code: str | None, contains: str | None
) -> bool:
    if code is not None and _code(error) != code:
        return False
    return contains is None or contains in str(error.get("message", ""))


class GraphQLCursorPaginator(TokenPaginator):
    """``endCursor`` of the connection's ``pageInfo`` while ``hasNextPage`` holds."""

    def __init__(
        self, *, page_info: str, decode: t.Callable[[requests.Response], t.Any]
    ) -> None:
        """Read ``pageInfo`` at the JSONPath ``page_info``."""
        super().__init__(decode)
        self._page_info = page_info

    def get_next(self, response: requests.Response) -> t.Any | None:  # noqa: ANN401
        """The end cursor, or None (paging stops) when there is no next page."""
        info = first_match(self._page_info, self._decode(response))
        if not isinstance(info, dict) or not info.get("hasNextPage"):
            return None
        return self._checked(info.get("endCursor"))
