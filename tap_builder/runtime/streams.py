"""The base class of every generated stream."""

from __future__ import annotations

import datetime as dt
import typing as t
from http import HTTPStatus
from urllib.parse import (
    quote,
)

import singer_sdk.singerlib as singer
from singer_sdk.exceptions import RetriableAPIError
from singer_sdk.helpers._catalog import pop_deselected_record_properties
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.pagination import BaseAPIPaginator, SinglePagePaginator

from .dates import unix_to_iso
from .hooks import hooks_for
from .http import (
    APIError,
    GuardedSession,
    Limits,
)
from .jsonio import (
    TOO_DEEP,
    Conformer,
    compile_conformer,
    decode_json,
    first_match,
    select_records,
)
from .rendering import RenderingStream
from .retries import RetryingStream
from .secrets import (
    excerpt,
    redact_url,
    register_secret,
)
from .variables import (
    MissingValueError,
    render_text,
)

if t.TYPE_CHECKING:
    from collections.abc import Generator, Iterable, Mapping

    import requests
    from singer_sdk import Tap
    from singer_sdk.streams.rest import HTTPRequest, PageContext

    from .hooks import PrepareRequest


class BuilderStream(RenderingStream, RetryingStream):
    """Base class of every generated stream.

    Generated subclasses declare ``base_url``, ``auth_settings`` and the usual SDK
    attributes, and override the request hooks their spec needs.
    """

    #: The spec's ``base_url``; the ``api_url`` setting replaces it.
    base_url: t.ClassVar[str] = ""
    #: Settings used by the authentication block, named in 401/403 errors.
    auth_settings: t.ClassVar[tuple[str, ...]] = ()
    #: Fields holding Unix timestamps that the schema declares as date-time.
    unix_timestamp_fields: t.ClassVar[tuple[str, ...]] = ()
    #: ``application/json`` or a JSON Lines type.
    response_format: t.ClassVar[str] = "application/json"
    #: The format's name in "the response ... is not JSON" errors.
    format_name: t.ClassVar[str] = "JSON"
    #: Records are made to fit the schema by a conformer compiled from it (see
    #: :func:`compile_conformer`), which does what the SDK's generic conformance
    #: would do to JSON input, at a fraction of the cost.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    #: Hosts besides the API's own that next-page URLs and redirects may lead to
    #: (the spec's ``allowed_hosts``); requests to them carry no credentials.
    allowed_hosts: t.ClassVar[tuple[str, ...]] = ()
    #: The session class: a guarded one (a download stream's can stream files).
    session_class: t.ClassVar[type[GuardedSession]] = GuardedSession
    #: Request headers that carry credentials (besides ``Authorization``).
    credential_headers: t.ClassVar[tuple[str, ...]] = ()
    #: Bounds, overridden by the max_response_mb, max_request_seconds and
    #: max_retry_wait settings: answer size, seconds per request in all (however
    #: slowly the bytes come), the longest wait an API may ask for before a retry.
    max_response_mb: t.ClassVar[float] = 256.0
    max_request_seconds: t.ClassVar[float] = 900.0

    def __init__(self, tap: Tap, *args: t.Any, **kwargs: t.Any) -> None:  # noqa: ANN401
        """Set up the stream for ``tap``."""
        super().__init__(tap, *args, **kwargs)
        #: The tap this stream belongs to (its messages go out through it).
        self.owner = tap
        properties = tap.config_jsonschema.get("properties", {})
        for name, prop in properties.items():
            if prop.get("secret"):
                register_secret(self.config.get(name))
        #: Records on the last page parsed; offset paginators stop on a short page.
        self.last_page_size = 0
        self._decoded: tuple[requests.Response, t.Any] | None = None
        self._conform: Conformer | None = None
        self._all_selected: bool | None = None
        self._dropped: set[str] = set()
        #: When the current page was read: the records' ``time_extracted``.
        self._extracted_at = dt.datetime.now(dt.UTC)
        self._guarded_session: GuardedSession | None = None
        hooks = hooks_for(tap, self.name)  # custom.py's, looked up once
        self._post_hook = hooks.post_process
        self._parse_hook = hooks.parse_response
        if hooks.prepare_request is not None:
            self._hook_requests(hooks.prepare_request)

    def _hook_requests(self, hook: PrepareRequest) -> None:
        """Run custom.py's ``prepare_request`` after the stream's own request.

        The stream's (generated) ``get_http_request`` is the most derived one,
        so the hook wraps it on this instance; streams without the hook keep
        the class's method untouched.
        """
        generated = self.get_http_request

        def get_http_request(*, page: PageContext[t.Any]) -> HTTPRequest:
            return hook(self, generated(page=page), page)

        self.get_http_request = get_http_request  # type: ignore[method-assign]

    @property
    def requests_session(self) -> requests.Session:
        """The stream's :class:`GuardedSession` (credentials stay at the API)."""
        if self._guarded_session is None:
            self._guarded_session = self.session_class(
                home=self.url_base,
                owner=f"stream {self.name!r}",
                limits=Limits(
                    max_bytes=int(self._setting("max_response_mb") * 1024 * 1024),
                    max_seconds=self._setting("max_request_seconds"),
                ),
                allowed_hosts=self.allowed_hosts,
                credential_headers=self.credential_headers,
                credential_params=self.secret_query_params,
            )
        return self._guarded_session

    @property
    def url_base(self) -> str:
        """The ``api_url`` setting if set, else the spec's ``base_url``."""
        template = self.config.get("api_url") or self.base_url
        return self.render_text(template, None).rstrip("/")

    def get_url(self, context: Mapping[str, t.Any] | None) -> str:
        """Join the base URL and the path, URL-quoting each path variable.

        A value from a parent record is one path segment (``/`` becomes
        ``%2F``); a setting's value may span segments (``v2/beta``), so its
        ``/`` is kept and everything else is quoted.
        """
        try:
            path = render_text(
                self.path or "",
                self.config,
                context,
                encode=lambda v: quote(v, safe=""),
                encode_config=lambda v: quote(v, safe="/"),
            )
        except MissingValueError as exc:
            msg = f"{self.name}: {exc}, but the path {self.path!r} needs it"
            raise APIError(msg) from None
        return self.url_base + path

    def get_new_paginator(self) -> BaseAPIPaginator[t.Any]:
        """A single request, unless the spec declares pagination.

        (The SDK's default would follow an ``X-Next-Page`` header.)
        """
        return SinglePagePaginator()

    # -- responses ---------------------------------------------------------- #

    def validate_response(self, response: requests.Response) -> None:
        """Retry 429, 5xx and unreadable bodies; fail at once on other errors.

        The body is decoded here, inside the retry loop, so a truncated, empty or
        non-JSON answer is retried like a 5xx instead of ending the sync.
        """
        status = response.status_code
        if status >= HTTPStatus.BAD_REQUEST:
            msg = self.error_message(response)
            if (
                status == HTTPStatus.TOO_MANY_REQUESTS
                or status >= HTTPStatus.INTERNAL_SERVER_ERROR
            ):
                raise RetriableAPIError(msg, response)
            raise APIError(msg)
        self.decode_body(response)

    def error_message(self, response: requests.Response) -> str:
        """One line: stream, status, redacted URL and what to check."""
        status = response.status_code
        where = redact_url(response.url, self.secret_query_params)
        head = f"stream {self.name!r}: HTTP {status} {response.reason} for {where}"
        if status in {HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN}:
            settings = ", ".join(self.auth_settings) or "(none declared)"
            return (
                f"{head}. The API rejected the credentials: "
                f"check the settings {settings}."
            )
        if status == HTTPStatus.NOT_FOUND:
            return (
                f"{head}. Check the stream path {self.path!r} and the base URL "
                "(the api_url setting overrides it)."
            )
        snippet = excerpt(response.text, 200)
        return f"{head}: {snippet}" if snippet else head

    def parse_response(self, response: requests.Response) -> Iterable[dict[str, t.Any]]:
        """Decode the body and select the records with ``records_jsonpath``.

        (custom.py's ``parse_response`` for this stream, when it has one.)
        """
        if self._parse_hook is not None:
            records = list(self._parse_hook(self, response))
        else:
            records = select_records(self.decode_body(response), self.records_jsonpath)
        self.last_page_size = len(records)
        self._extracted_at = dt.datetime.now(dt.UTC)
        yield from records

    def decode_body(self, response: requests.Response) -> t.Any:  # noqa: ANN401
        """Parse JSON (or JSON Lines) keeping decimals exact, or fail clearly.

        The last response's body is kept, so paginators reading it cost nothing.

        Raises:
            RetriableAPIError: when the body is not JSON (retried, then fatal).
        """
        if self._decoded is not None and self._decoded[0] is response:
            return self._decoded[1]
        try:
            body = self.parse_body(self.response_bytes(response))
        except ValueError as exc:
            kind = response.headers.get("Content-Type", "no content type")
            first = excerpt(response.text, 80)
            where = redact_url(response.url, self.secret_query_params)
            what = "is not JSON" if str(exc) != TOO_DEEP else f"holds {TOO_DEEP}"
            if self.format_name != "JSON" and str(exc) != TOO_DEEP:
                what = f"is not {self.format_name} ({exc})"
            msg = (
                f"stream {self.name!r}: the response from {where} {what} "
                f"({kind}); it starts with {first!r}"
            )
            raise RetriableAPIError(msg, response) from None
        self._decoded = (response, body)
        return body

    def response_bytes(self, response: requests.Response) -> bytes:
        """The body's bytes (streams with ``compression`` unpack them here)."""
        return response.content

    def parse_body(self, data: bytes) -> t.Any:  # noqa: ANN401
        """JSON (or JSON Lines) bytes -> the body; other formats override it.

        Raises:
            ValueError: when ``data`` is not in the stream's format.
        """
        if "jsonl" in self.response_format or "ndjson" in self.response_format:
            return [decode_json(line) for line in data.splitlines() if line.strip()]
        return decode_json(data)

    def post_process(
        self, row: dict[str, t.Any], context: Mapping[str, t.Any] | None = None
    ) -> dict[str, t.Any] | None:
        """Prepare the record, shape it, then fit it to the schema.

        :meth:`prepare_record` adds context keys and converts timestamps;
        :meth:`shape` filters and transforms (when the stream has options);
        custom.py's ``post_process`` for this stream runs last, when it has one.
        """
        if self._conform is None:
            self._conform = compile_conformer(self.schema, self._note_dropped)
        record = self.shape(self.prepare_record(row, context), context)
        if record is not None and self._post_hook is not None:
            record = self._post_hook(self, record, context)
        return None if record is None else self._conform(record)

    def shape(
        self, record: dict[str, t.Any], context: Mapping[str, t.Any] | None
    ) -> dict[str, t.Any] | None:
        """Filter (None: dropped) and transform a prepared record; here, as it is.

        Streams with record filters, field transforms or a client-side filter
        get theirs from :mod:`records` and :mod:`incremental`.
        """
        del context  # the overrides use it
        return record

    def generate_child_contexts(
        self,
        record: dict[str, t.Any],
        context: t.Any,  # noqa: ANN401
    ) -> Iterable[t.Any]:
        """Child contexts, only when the stream has children (else none at all)."""
        if not self.child_streams:
            return ()
        return super().generate_child_contexts(record, context)

    def prepare_record(
        self, row: dict[str, t.Any], context: Mapping[str, t.Any] | None
    ) -> dict[str, t.Any]:
        """Add the parent context to child records; convert Unix timestamps.

        A child record carries every context key as a field unless it has that
        field itself (its own value stands). Fields holding Unix timestamps that
        the schema declares as date-time become ISO-8601 strings.
        """
        if self.parent_stream_type is not None and context:
            for key, value in context.items():
                row.setdefault(key, value)
        for field in self.unix_timestamp_fields:
            if field in row:
                row[field] = unix_to_iso(row[field])
        return row

    def _note_dropped(self, fields: set[str]) -> None:
        if new := fields - self._dropped:
            self._dropped |= new
            self.logger.warning(
                "stream %r: the API sent fields the schema does not declare; they "
                "are dropped: %s",
                self.name,
                ", ".join(sorted(new)),
            )

    # -- the one private SDK hook overridden ---------------------------------- #
    # tests/test_sdk_contract.py fails when the SDK's version of this method
    # changes, so that this copy is reviewed against it.

    def _generate_record_messages(
        self, record: dict[str, t.Any]
    ) -> Generator[singer.RecordMessage, None, None]:
        """RECORD messages, as the SDK makes them, minus the per-record waste.

        Unlike the SDK's: field selection runs only when a property is
        deselected, conformance already happened in :meth:`post_process`, and
        ``time_extracted`` is when the record's page was read (not a clock call
        per record).
        """
        if self._all_selected is None:
            self._all_selected = all(self.mask.values())
        if not self._all_selected:
            pop_deselected_record_properties(record, self.schema, self.mask)
        for stream_map in self.stream_maps:
            mapped = stream_map.transform(record)
            if mapped is not None:
                yield singer.RecordMessage(
                    stream=stream_map.stream_alias,
                    record=mapped,
                    version=self._stream_version,
                    time_extracted=self._extracted_at,
                )

    # -- parent-child ------------------------------------------------------- #

    def context_from(
        self, record: Mapping[str, t.Any], fields: Mapping[str, str]
    ) -> dict[str, t.Any] | None:
        """Build a child context: key -> record field name or ``$`` JSONPath.

        Returns None (children skipped, with a warning) when a value is missing.
        """
        context: dict[str, t.Any] = {}
        for key, source in fields.items():
            if source.startswith("$"):
                value = first_match(source, dict(record))
            else:
                value = record.get(source)
            if value is None:
                self.logger.warning(
                    "Skipping child streams of a %s record: %r is missing",
                    self.name,
                    source,
                )
                return None
            context[key] = value
        return context
