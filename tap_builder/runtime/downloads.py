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
from .http import APIError, GuardedSession, StreamedBody
from .jsonio import decode_json
from .secrets import excerpt, redact_url
from .streams import BuilderStream
from .typedtext import Caster, compile_record_caster

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

#: Bytes of an error answer kept for its message.
_ERROR_EXCERPT = 4096


class DownloadStream(BuilderStream):
    """A stream whose records are in files the JSON answer links to."""

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
        session = t.cast("GuardedSession", self.requests_session)
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
        session = t.cast("GuardedSession", self.requests_session)
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
