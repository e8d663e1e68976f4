"""Downloads: the JSON answer links to CSV or JSON Lines files with the records.

Each URL the ``download.url`` JSONPath finds is fetched in turn and read as it
arrives (unpacked as it goes when the spec sets ``compression``), so a file
larger than memory is fine; its unpacked size is bounded by the
max_response_mb setting and its reading time by max_request_seconds. URLs
follow the same rule as next-page URLs: credentials go only to the API's own
origin; another host must be in ``allowed_hosts`` and gets no credentials.
Opening a file is retried like any request; a failure while reading one ends
the sync with one clear error (its records may have been sent already).
"""

from __future__ import annotations

import datetime as dt
import io
import time
import typing as t
from contextlib import closing
from functools import cached_property
from http import HTTPStatus
from urllib.parse import urljoin

import requests
from singer_sdk.exceptions import RetriableAPIError
from singer_sdk.helpers.jsonpath import extract_jsonpath

from .compression import unpack
from .csvio import read_csv
from .http import (
    APIError,
    DeadlineExceededError,
    GuardedSession,
    ResponseTooLargeError,
    read_some,
)
from .jsonio import decode_json
from .secrets import excerpt, redact_url
from .streams import BuilderStream
from .typedtext import Caster, compile_record_caster

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

#: Bytes of an error answer kept for its message.
_ERROR_EXCERPT = 4096


class StreamingSession(GuardedSession):
    """A guarded session that can also hand over an answer unread (a file)."""

    def open_streamed(
        self, request: requests.PreparedRequest, *, timeout: float
    ) -> requests.Response:
        """Send ``request`` under the origin rule and return the answer unread.

        For files too large to hold: read the body with :class:`StreamedBody`.
        Redirects (at most 10) are followed, each checked like the first.
        """
        for _ in range(11):
            self._guard(request)
            # requests' own send: GuardedSession.send would read the whole body
            response = requests.Session.send(
                self, request, allow_redirects=False, stream=True, timeout=timeout
            )
            target = self.get_redirect_target(response)
            if target is None:
                return response
            response.close()
            request = request.copy()
            request.prepare_url(urljoin(str(response.url), target), None)
            if response.status_code != HTTPStatus.TEMPORARY_REDIRECT:
                request.method, request.body = "GET", None
            self._redirected = True
        self._redirected = False
        where = redact_url(str(request.url), self.credential_params)
        msg = f"{self.owner}: more than 10 redirects, the last to {where}"
        raise APIError(msg)


class StreamedBody(io.RawIOBase):
    """A streamed answer as a binary file, read as it arrives.

    Reading stops with a clear error past the session's size limit
    (decompressed ``Content-Encoding`` included) or its total deadline.
    """

    def __init__(self, session: StreamingSession, response: requests.Response) -> None:
        """Read ``response`` within ``session``'s limits, from now."""
        super().__init__()
        self._session = session
        self._response = response
        self._deadline = time.monotonic() + session.limits.max_seconds
        self._pending = b""
        self._read = 0

    def readable(self) -> bool:
        """A body is readable."""
        return True

    def readinto(self, buffer: t.Any) -> int:  # noqa: ANN401
        """Fill ``buffer`` with the next bytes; 0 at the end of the body."""
        if not self._pending:
            self._pending = read_some(self._response)
            self._read += len(self._pending)
            if self._read > self._session.limits.max_bytes:
                too_large = self._session._too_large(self._response)  # noqa: SLF001
                raise ResponseTooLargeError(too_large)
            if time.monotonic() > self._deadline:
                seconds = self._session.limits.max_seconds
                msg = f"no complete answer within {seconds:g} s"
                raise DeadlineExceededError(msg, response=self._response)
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def close(self) -> None:
        """Close the connection too."""
        self._response.close()
        super().close()


class DownloadStream(BuilderStream):
    """A stream whose records are in files the JSON answer links to."""

    #: Its session can hand over a file's answer unread.
    session_class: t.ClassVar[type[GuardedSession]] = StreamingSession

    #: JSONPath to the file URL(s) in the JSON answer.
    download_url: t.ClassVar[str] = ""
    #: ``none``, ``gzip`` or ``zip``: how each file is packed.
    compression: t.ClassVar[str] = "none"
    #: With CSV files: delimiter, quotechar, header, columns, skip_rows, encoding.
    csv_options: t.ClassVar[dict[str, t.Any]] = {}

    @cached_property
    def record_caster(self) -> Caster:
        """Types the fields of a CSV record by the schema (built once)."""
        return compile_record_caster(self.schema)

    def parse_body(self, data: bytes) -> t.Any:  # noqa: ANN401
        """The answer that links to the files is JSON."""
        return decode_json(data)

    def parse_response(self, response: requests.Response) -> Iterable[dict[str, t.Any]]:
        """The records of every linked file, in order, read as they arrive."""
        body = self.decode_body(response)
        self._extracted_at = dt.datetime.now(dt.UTC)
        self.file_sizes: list[int] = []
        count = 0
        for found in extract_jsonpath(self.download_url, input=body):
            if not isinstance(found, str) or not found.strip():
                msg = (
                    f"stream {self.name!r}: download.url {self.download_url!r} "
                    f"found {excerpt(repr(found), 60)} in the answer, not a URL"
                )
                raise APIError(msg)
            self.file_sizes.append(0)
            for record in self._file_records(urljoin(str(response.url), found)):
                count += 1
                self.file_sizes[-1] += 1
                yield record
        self.last_page_size = count

    def _file_records(self, url: str) -> Iterator[dict[str, t.Any]]:
        prepared = self.build_prepared_request(
            method="GET", url=url, headers=dict(self.http_headers)
        )
        where = redact_url(url, self.secret_query_params)
        opened = self.request_decorator(self._open_file)(prepared, None)
        session = t.cast("StreamingSession", self.requests_session)
        limit = session.limits.max_bytes

        def too_large() -> str:
            return (
                f"stream {self.name!r}: the file from {where} unpacks to more "
                f"than {limit / 1024 / 1024:g} MB (the max_response_mb setting); "
                "reading stopped"
            )

        try:
            raw = io.BufferedReader(StreamedBody(session, opened), 1 << 16)
            with closing(unpack(raw, self.compression, limit, too_large)) as file:
                yield from self._records_in(file)
        except ValueError as exc:
            kind = "CSV" if self.response_format == "text/csv" else "JSON Lines"
            msg = f"stream {self.name!r}: the file from {where} is not {kind} ({exc})"
            raise APIError(msg) from None
        except requests.RequestException as exc:
            msg = f"stream {self.name!r}: reading the file from {where} failed ({exc})"
            raise APIError(msg) from None

    def _records_in(self, file: t.IO[bytes]) -> Iterator[dict[str, t.Any]]:
        if self.response_format == "text/csv":
            cast = self.record_caster
            for row in read_csv(file, self.csv_options):
                yield cast(row)
            return
        for number, line in enumerate(file, start=1):
            if line.strip():
                try:
                    yield decode_json(line)
                except ValueError as exc:
                    msg = f"line {number}: {exc}"
                    raise ValueError(msg) from None

    def _open_file(
        self,
        prepared: requests.PreparedRequest,
        context: t.Any,  # noqa: ANN401
    ) -> requests.Response:
        """Send the file request; a failed answer is read only in part."""
        del context
        session = t.cast("StreamingSession", self.requests_session)
        response = session.open_streamed(prepared, timeout=self.timeout)
        status = response.status_code
        if status < HTTPStatus.BAD_REQUEST:
            return response
        with closing(response):
            part = response.raw.read(_ERROR_EXCERPT, decode_content=True)
            response._content = part  # noqa: SLF001 - where requests keeps a body
        msg = self.error_message(response)
        if (
            status == HTTPStatus.TOO_MANY_REQUESTS
            or status >= HTTPStatus.INTERNAL_SERVER_ERROR
        ):
            raise RetriableAPIError(msg, response)
        raise APIError(msg)
