"""The "own your tap" scenario shared by tests/test_update.py and its slow twin:
a spec, the user's edits and hooks, and the changed spec."""

from __future__ import annotations

from pathlib import Path

#: Generated first: one paged stream of the demo API's Aircall users.
OLD_SPEC = """\
spec_version: 2
name: Phones
tap_id: phones
base_url: https://api.aircall.io/v1
authentication:
  type: basic
  username: "{config.api_id}"
  password: "{config.api_token}"
parameters:
  - {name: api_id}
  - {name: api_token, secret: true}
streams:
  - name: Users
    id: users
    path: /users
    primary_key: id
    query_params: {per_page: 5}
    pagination: {type: page_increment, page_param: page}
    records_selector: "$.users[*]"
    schema:
      type: object
      properties:
        id: {type: integer}
        name: {type: string}
        email: {type: string}
"""

#: The changed spec: a new query parameter and a stop condition on users, and a
#: new stream paged by a class from custom.py.
NEW_SPEC = (
    OLD_SPEC.replace(
        "    query_params: {per_page: 5}\n"
        "    pagination: {type: page_increment, page_param: page}\n",
        "    query_params: {per_page: 5, order: asc}\n"
        "    pagination: {type: page_increment, page_param: page,"
        ' total_records: "$.meta.total"}\n',
    )
    + """\
  - name: Calls
    id: calls
    path: /calls
    primary_key: id
    query_params: {per_page: 4}
    custom: {paginator: NextLinkPaginator}
    records_selector: "$.calls[*]"
    schema:
      type: object
      properties:
        id: {type: integer}
        direction: {type: string}
        duration: {type: integer}
"""
)

#: The user's edit of the generated streams.py: email joins the primary key.
GENERATED_LINE = '    primary_keys: t.ClassVar[tuple[str, ...]] = ("id",)\n'
EDITED_LINE = '    primary_keys: t.ClassVar[tuple[str, ...]] = ("id", "email")\n'

#: The user's custom.py: hooks for both streams, a paginator, a stream by hand.
CUSTOM = '''\
"""Hooks and a hand-written stream of the Phones tap."""

from __future__ import annotations

import typing as t
from urllib.parse import parse_qs, urlsplit

from singer_sdk import typing as th
from singer_sdk.pagination import BaseAPIPaginator

from tap_phones.client import PhonesStream
from tap_phones.runtime.hooks import StreamHooks

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    import requests
    from singer_sdk.streams.rest import HTTPRequest, PageContext

    from tap_phones.runtime.streams import BuilderStream


def shout(
    stream: BuilderStream, record: dict[str, t.Any], context: Mapping[str, t.Any] | None
) -> dict[str, t.Any] | None:
    """Names in capitals."""
    del stream, context
    record["name"] = record["name"].upper()
    return record


def page_param(
    stream: BuilderStream, request: HTTPRequest, page: PageContext[t.Any]
) -> HTTPRequest:
    """Send the paginator's page number."""
    del stream
    if page.next_page_token is not None:
        request.params["page"] = page.next_page_token
    return request


def inbound_only(
    stream: BuilderStream, response: requests.Response
) -> Iterable[dict[str, t.Any]]:
    """Only inbound calls."""
    calls = stream.decode_body(response)["calls"]
    return [call for call in calls if call["direction"] == "inbound"]


class NextLinkPaginator(BaseAPIPaginator[int | None]):
    """The page number of meta.next_page_link."""

    def __init__(self, stream: BuilderStream) -> None:
        """Start at the first page."""
        super().__init__(None)
        self.stream = stream

    def get_next(self, response: requests.Response) -> int | None:
        """The next page, or None after the last."""
        link = self.stream.decode_body(response)["meta"]["next_page_link"]
        if link is None:
            return None
        return int(parse_qs(urlsplit(link).query)["page"][0])


class UsersMeta(PhonesStream):
    """The users endpoint's meta block, as one record per page."""

    name = "users_meta"
    path = "/users"
    records_jsonpath = "$.meta"
    schema: t.ClassVar[dict[str, t.Any]] = th.PropertiesList(
        th.Property("total", th.IntegerType),
        th.Property("current_page", th.IntegerType),
    ).to_dict()


HOOKS: dict[str, StreamHooks] = {
    "users": StreamHooks(post_process=shout),
    "calls": StreamHooks(prepare_request=page_param, parse_response=inbound_only),
}

STREAMS: tuple[type[PhonesStream], ...] = (UsersMeta,)
'''


def write_spec(folder: Path, text: str) -> Path:
    """The spec file ``phones.yaml`` in ``folder``."""
    path = folder / "phones.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def edit_stream_file(package: Path) -> None:
    """The user's edit of the generated streams.py."""
    streams = package / "tap_phones" / "streams.py"
    text = streams.read_text(encoding="utf-8")
    assert text.count(GENERATED_LINE) == 1
    streams.write_text(text.replace(GENERATED_LINE, EDITED_LINE), encoding="utf-8")
