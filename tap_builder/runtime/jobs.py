"""Asynchronous report jobs: create, poll until done, download the files.

The stream's own request creates the job. Its id (and status URL) are read
from that answer once; every poll and download after it is for that same job:
a failed poll or download is retried in place (429, 5xx, unreadable answers,
as any request), never by creating another job. Polls wait ``interval``
seconds, growing by ``backoff`` up to ``max_interval``, and the whole job is
bounded by ``timeout``. Files are read whole within ``max_response_mb``
(decompressed; gzip files are recognised by their first bytes), as JSON
Lines or as JSON documents.
"""

from __future__ import annotations

import time
import typing as t
import zlib
from urllib.parse import quote, urljoin

from singer_sdk.helpers.jsonpath import extract_jsonpath

from .http import APIError
from .jsonio import decode_json, first_match, select_records
from .secrets import excerpt, redact_url
from .streams import BuilderStream
from .variables import MissingValueError, render_text

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

    import requests

#: The first bytes of a gzip file.
GZIP_MAGIC = b"\x1f\x8b"


class AsyncJobStream(BuilderStream):
    """A stream whose request creates a report job that is polled, then read."""

    #: The spec's async_job block: job_id, poll_path or poll_url, status, done,
    #: failed, error, interval, backoff, max_interval, timeout, urls, format.
    async_job: t.ClassVar[dict[str, t.Any]] = {}

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:  # noqa: ANN401
        """Set up the stream; no job yet."""
        super().__init__(*args, **kwargs)
        self._job_context: Mapping[str, t.Any] | None = None
        self._downloading = False

    def request_records(self, context: Mapping[str, t.Any] | None) -> Iterable[t.Any]:
        """Create the job (the stream's request) and read its records."""
        self._job_context = context
        return super().request_records(context)

    def decode_body(self, response: requests.Response) -> t.Any:  # noqa: ANN401
        """JSON answers as usual; a downloaded file is read by :meth:`_records`."""
        if self._downloading:
            return {}
        return super().decode_body(response)

    def parse_response(self, response: requests.Response) -> Iterable[dict[str, t.Any]]:
        """From the creation answer: poll the job, then read every file."""
        job = self.async_job
        created = self.decode_body(response)
        job_id = first_match(job["job_id"], created)
        if job_id in (None, ""):
            msg = (
                f"stream {self.name!r}: the answer creating the report job holds "
                f"no job id at {job['job_id']}"
            )
            raise APIError(msg)
        status_url = self._status_url(response, created, job_id)
        final, body = self._wait_until_done(status_url, job_id)
        urls = [
            urljoin(final.url, str(url))
            for url in extract_jsonpath(job["urls"], input=body)
            if url not in (None, "")
        ]
        self.logger.info(
            "stream %r: report job %r is done; reading %d file(s)",
            self.name,
            job_id,
            len(urls),
        )
        count = 0
        for number, url in enumerate(urls, start=1):
            for record in self._records(self._download(url), job_id, number):
                count += 1
                yield record
        self.last_page_size = count

    # -- polling -------------------------------------------------------------- #

    def _status_url(
        self,
        response: requests.Response,
        created: t.Any,  # noqa: ANN401
        job_id: object,
    ) -> str:
        job = self.async_job
        if job.get("poll_url"):
            url = first_match(job["poll_url"], created)
            if url in (None, ""):
                msg = (
                    f"stream {self.name!r}: the answer creating report job "
                    f"{job_id!r} holds no status URL at {job['poll_url']}"
                )
                raise APIError(msg)
            return urljoin(response.url, str(url))
        context = {**(self._job_context or {}), "job_id": job_id}
        try:
            path = render_text(
                job["poll_path"],
                self.config,
                context,
                encode=lambda v: quote(v, safe=""),
                encode_config=lambda v: quote(v, safe="/"),
            )
        except MissingValueError as exc:
            msg = f"{self.name}: {exc}, but the status path needs it"
            raise APIError(msg) from None
        return self.url_base + path

    def _wait_until_done(
        self, url: str, job_id: object
    ) -> tuple[requests.Response, t.Any]:
        """Poll ``url`` until the job is done (its last answer) or fails."""
        job = self.async_job
        deadline = time.monotonic() + float(job["timeout"])
        wait = float(job["interval"])
        status: object = None
        while True:
            time.sleep(max(0.0, min(wait, deadline - time.monotonic())))
            response = self._get(url)
            body = self.decode_body(response)
            status = first_match(job["status"], body)
            if _member(status, job["done"]):
                return response, body
            if _member(status, job["failed"]):
                raise APIError(self._failure(job_id, status, body))
            if time.monotonic() >= deadline:
                msg = (
                    f"stream {self.name!r}: report job {job_id!r} is not done after "
                    f"{float(job['timeout']):g} s (async_job.poll.timeout); its last "
                    f"status was {status!r}"
                )
                raise APIError(msg)
            wait = min(wait * float(job["backoff"]), float(job["max_interval"]))
            self.logger.info(
                "stream %r: report job %r is %r; next poll in %.1f s",
                self.name,
                job_id,
                status,
                wait,
            )

    def _failure(self, job_id: object, status: object, body: t.Any) -> str:  # noqa: ANN401
        path = self.async_job.get("error")
        message = first_match(path, body) if path else None
        said = f": {excerpt(str(message), 300)}" if message not in (None, "") else ""
        return f"stream {self.name!r}: report job {job_id!r} failed ({status!r}){said}"

    def _get(self, url: str) -> requests.Response:
        """GET ``url`` with the stream's authentication, retried as any request."""
        request = self.build_prepared_request(
            method="GET", url=url, headers=self.http_headers
        )
        send = self.request_decorator(self._request)
        return send(request, self._job_context)

    # -- files ---------------------------------------------------------------- #

    def _download(self, url: str) -> bytes:
        """A file's bytes (gunzipped when they are gzip), within the size limit."""
        self._downloading = True
        try:
            response = self._get(url)
        finally:
            self._downloading = False
        data = response.content
        if data.startswith(GZIP_MAGIC):
            limit = int(self._setting("max_response_mb") * 1024 * 1024)
            data = self._gunzip(data, limit, response.url)
        return data

    def _gunzip(self, data: bytes, limit: int, url: str) -> bytes:
        """Decompress gzip members one bounded step at a time."""
        out = bytearray()
        rest = data
        try:
            while rest:
                inflater = zlib.decompressobj(wbits=31)
                chunk = rest
                while chunk:
                    out += inflater.decompress(chunk, limit + 1 - len(out))
                    if len(out) > limit:
                        msg = (
                            f"stream {self.name!r}: the file "
                            f"{redact_url(url, self.secret_query_params)} is larger "
                            f"than {limit / 1024 / 1024:g} MB decompressed (the "
                            "max_response_mb setting); reading stopped"
                        )
                        raise APIError(msg)
                    chunk = inflater.unconsumed_tail
                out += inflater.flush()
                rest = inflater.unused_data
        except zlib.error as exc:
            msg = f"stream {self.name!r}: the file {url} is not valid gzip ({exc})"
            raise APIError(msg) from None
        return bytes(out)

    def _records(
        self, data: bytes, job_id: object, number: int
    ) -> Iterator[dict[str, t.Any]]:
        """The records of one file: a line each (jsonl), or by records_selector."""
        what = f"file {number} of report job {job_id!r}"
        if self.async_job["format"] == "json":
            try:
                body = decode_json(data)
            except ValueError as exc:
                msg = f"stream {self.name!r}: {what} is not JSON ({exc})"
                raise APIError(msg) from None
            yield from select_records(body, self.records_jsonpath)
            return
        for line_number, line in enumerate(data.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = decode_json(line)
            except ValueError as exc:
                start = excerpt(line.decode(errors="replace"), 60)
                msg = (
                    f"stream {self.name!r}: line {line_number} of {what} is not "
                    f"JSON ({exc}); it starts with {start!r}"
                )
                raise APIError(msg) from None
            if not isinstance(record, dict):
                msg = (
                    f"stream {self.name!r}: line {line_number} of {what} is not "
                    "an object"
                )
                raise APIError(msg)
            yield record


def _member(value: object, values: Iterable[object]) -> bool:
    """Whether ``value`` is one of ``values`` (compared as given, or as text)."""
    return any(value == v or str(value) == str(v) for v in values if value is not None)
