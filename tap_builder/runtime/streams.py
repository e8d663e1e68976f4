"""The base class of every generated stream."""

from __future__ import annotations

import datetime as dt
import random
import typing as t
import weakref
from http import HTTPStatus
from urllib.parse import (
    quote,
)

import requests
import singer_sdk.singerlib as singer
from singer_sdk import RESTStream
from singer_sdk.authenticators import BasicAuthenticator
from singer_sdk.exceptions import RetriableAPIError
from singer_sdk.helpers._catalog import pop_deselected_record_properties
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.pagination import BaseAPIPaginator, SinglePagePaginator

from .dates import unix_to_iso
from .http import (
    APIError,
    GuardedSession,
    Limits,
    describe_failure,
    retry_after_seconds,
    wait_for_rate_limit,
)
from .jsonio import (
    TOO_DEEP,
    Conformer,
    compile_conformer,
    decode_json,
    first_match,
    select_records,
)
from .secrets import (
    excerpt,
    redact,
    redact_url,
    register_basic_credentials,
    register_secret,
)
from .variables import (
    MissingValueError,
    render_data,
    render_fields,
    render_text,
    strings_in,
    to_text,
)

if t.TYPE_CHECKING:
    from collections.abc import Generator, Iterable, Mapping

    from singer_sdk import Tap
    from singer_sdk.streams.rest import HTTPRequest


def set_in_body(body: dict[str, t.Any], path: str, value: object) -> None:
    """Put ``value`` at the dotted ``path`` of a JSON body (None: left out)."""
    if value is None:
        return
    *parents, last = path.split(".")
    node = body
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value


#: Authenticators shared by the streams of one tap, by tap.
_Auth = t.TypeVar("_Auth")

#: A wait at least this long is shown as forever.
_FOREVER = 1e15

_SHARED_AUTHENTICATORS: weakref.WeakKeyDictionary[Tap, t.Any] = (
    weakref.WeakKeyDictionary()
)


class BuilderStream(RESTStream[t.Any]):
    """Base class of every generated stream.

    Generated subclasses declare ``base_url``, ``auth_settings`` and the usual SDK
    attributes, and override the request hooks their spec needs.
    """

    #: The spec's ``base_url``; the ``api_url`` setting replaces it.
    base_url: t.ClassVar[str] = ""
    #: Settings used by the authentication block, named in 401/403 errors.
    auth_settings: t.ClassVar[tuple[str, ...]] = ()
    #: Query parameters whose value is a secret (API keys in the query).
    secret_query_params: t.ClassVar[tuple[str, ...]] = ()
    #: Fields holding Unix timestamps that the schema declares as date-time.
    unix_timestamp_fields: t.ClassVar[tuple[str, ...]] = ()
    #: ``application/json`` or a JSON Lines type.
    response_format: t.ClassVar[str] = "application/json"
    #: Retry schedule defaults (the max_attempts, backoff_seconds and
    #: request_timeout settings override them): attempts in all, the first wait
    #: in seconds (doubling, with jitter, up to the maximum), seconds per request.
    max_attempts: t.ClassVar[int] = 5
    backoff_base_seconds: t.ClassVar[float] = 1.0
    backoff_max_seconds: t.ClassVar[float] = 60.0
    request_timeout: t.ClassVar[float] = 300.0
    #: Records are made to fit the schema by a conformer compiled from it (see
    #: :func:`compile_conformer`), which does what the SDK's generic conformance
    #: would do to JSON input, at a fraction of the cost.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    #: Seconds between two requests of the whole tap (0: no limit).
    min_request_interval: t.ClassVar[float] = 0
    #: Hosts besides the API's own that next-page URLs and redirects may lead to
    #: (the spec's ``allowed_hosts``); requests to them carry no credentials.
    allowed_hosts: t.ClassVar[tuple[str, ...]] = ()
    #: Request headers that carry credentials (besides ``Authorization``).
    credential_headers: t.ClassVar[tuple[str, ...]] = ()
    #: Bounds, overridden by the max_response_mb, max_request_seconds and
    #: max_retry_wait settings: answer size, seconds per request in all (however
    #: slowly the bytes come), the longest wait an API may ask for before a retry.
    max_response_mb: t.ClassVar[float] = 256.0
    max_request_seconds: t.ClassVar[float] = 900.0
    max_retry_wait: t.ClassVar[float] = 600.0

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

    @property
    def requests_session(self) -> requests.Session:
        """The stream's :class:`GuardedSession` (credentials stay at the API)."""
        if self._guarded_session is None:
            self._guarded_session = GuardedSession(
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

    def _setting(self, name: str) -> float:
        """A numeric built-in setting: the config's value, else the class default."""
        value = self.config.get(name)
        return float(getattr(self, name) if value is None else value)

    # -- rendering ---------------------------------------------------------- #

    def render_text(self, template: str, context: Mapping[str, t.Any] | None) -> str:
        """Render a spec string; a missing value is an error naming the setting."""
        try:
            return render_text(template, self.config, context)
        except MissingValueError as exc:
            msg = f"{self.name}: {exc}, but {template!r} needs it"
            raise APIError(msg) from None

    def render_secret(self, template: str) -> str:
        """Render an authentication value and register it as a secret."""
        value = self.render_text(template, None)
        register_secret(value)
        return value

    def basic_authenticator(self, username: str, password: str) -> BasicAuthenticator:
        """HTTP Basic authentication; both values and the header are secrets."""
        user = self.render_text(username, None)
        secret = self.render_text(password, None)
        register_basic_credentials(user, secret)
        return BasicAuthenticator(username=user, password=secret)

    def render_secret_data(self, template: object) -> t.Any:  # noqa: ANN401
        """Render a JSON value (e.g. a login body); every string in it is secret."""
        value = render_data(template, self.config, None)
        for text in strings_in(value):
            register_secret(text)
        return value

    def resolve_url(self, template: str) -> str:
        """A URL from the spec: absolute, or a path joined to the base URL."""
        url = self.render_text(template, None)
        return self.url_base + url if url.startswith("/") else url

    def shared_authenticator(self, build: t.Callable[[], _Auth]) -> _Auth:
        """One authenticator per tap, shared by its streams (tokens are reused)."""
        shared = _SHARED_AUTHENTICATORS.get(self.owner)
        if shared is None:
            shared = _SHARED_AUTHENTICATORS[self.owner] = build()
        return t.cast("_Auth", shared)

    def render_fields(
        self, fields: Mapping[str, object], context: Mapping[str, t.Any] | None
    ) -> dict[str, str]:
        """Render query parameters or headers (entries on unset settings dropped)."""
        return render_fields(fields, self.config, context)

    def render_data(
        self, template: object, context: Mapping[str, t.Any] | None
    ) -> t.Any:  # noqa: ANN401
        """Render a JSON request body."""
        return render_data(template, self.config, context)

    set_in_body = staticmethod(set_in_body)

    @staticmethod
    def follow_next_url(request: HTTPRequest, next_url: str | None) -> None:
        """Request the next page's URL as given (it carries its own query)."""
        if next_url:
            request.url = next_url
            request.params = {}

    @staticmethod
    def set_header(request: HTTPRequest, name: str, value: object) -> None:
        """Send ``value`` as header ``name``, unless it is None."""
        if value is not None:
            request.headers[name] = to_text(value)

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
        """Decode the body and select the records with ``records_jsonpath``."""
        body = self.decode_body(response)
        records = select_records(body, self.records_jsonpath)
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
            body: t.Any
            if "jsonl" in self.response_format or "ndjson" in self.response_format:
                lines = response.content.splitlines()
                body = [decode_json(line) for line in lines if line.strip()]
            else:
                body = decode_json(response.content)
        except ValueError as exc:
            kind = response.headers.get("Content-Type", "no content type")
            first = excerpt(response.text, 80)
            where = redact_url(response.url, self.secret_query_params)
            what = "is not JSON" if str(exc) != TOO_DEEP else f"holds {TOO_DEEP}"
            msg = (
                f"stream {self.name!r}: the response from {where} {what} "
                f"({kind}); it starts with {first!r}"
            )
            raise RetriableAPIError(msg, response) from None
        self._decoded = (response, body)
        return body

    def post_process(
        self, row: dict[str, t.Any], context: Mapping[str, t.Any] | None = None
    ) -> dict[str, t.Any] | None:
        """Prepare the record, shape it, then fit it to the schema.

        :meth:`prepare_record` adds context keys and converts timestamps;
        :meth:`shape` filters and transforms (when the stream has options).
        """
        if self._conform is None:
            self._conform = compile_conformer(self.schema, self._note_dropped)
        record = self.shape(self.prepare_record(row, context), context)
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
            if wait is None:
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

    def request_decorator(
        self, func: t.Callable[..., requests.Response]
    ) -> t.Callable[..., requests.Response]:
        """The SDK's retrying request, ending in one clear error once it gives up."""

        def limited(
            prepared_request: requests.PreparedRequest,
            context: t.Any,  # noqa: ANN401
        ) -> requests.Response:
            wait_for_rate_limit(self.min_request_interval)  # every attempt counts
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
