"""Run one stream of a spec's tap in this process and report what happened.

The tap is the generated one (see :mod:`tap_builder.inprocess`), run through the
SDK's own sync: the same requests, pagination, records, conformance and state.
Instrumentation only observes: a response hook logs each request, a paginator
wrapper records each pagination decision (and stops at the preview's budget),
and ``post_process`` is wrapped to keep the records as the API sent them (for
schema inference).
"""

from __future__ import annotations

import copy
import importlib
import json
import logging
import typing as t
from dataclasses import dataclass, field

import jsonschema
import requests

from tap_builder.inprocess import ConfigError, check_config, generated_tap, tap_class

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from types import ModuleType

    from singer_sdk import RESTStream, Tap
    from singer_sdk.pagination import BaseAPIPaginator

    from tap_builder.validation import Connector

__all__ = ["ConfigError", "PreviewError", "PreviewResult", "run_stream"]

#: Headers never shown, whatever their value.
_HIDDEN_HEADERS = {"authorization", "proxy-authorization", "cookie"}


class PreviewError(Exception):
    """The stream could not be previewed; the message is one line for the user."""


@dataclass
class RequestEntry:
    """One HTTP request the stream made."""

    stream: str
    method: str
    url: str
    headers: dict[str, str]
    status: int
    latency_ms: float
    body: str | None = None
    records: int | None = None
    decision: str | None = None

    def to_dict(self) -> dict[str, t.Any]:
        """JSON-ready form."""
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class Mismatch:
    """A record field that does not fit the stream's schema."""

    record: int
    path: str
    value: t.Any
    message: str


@dataclass
class PreviewResult:
    """What a preview run saw."""

    stream: str
    requests: list[RequestEntry] = field(default_factory=list)
    records: list[dict[str, t.Any]] = field(default_factory=list)
    raw_records: list[dict[str, t.Any]] = field(default_factory=list)
    mismatches: list[Mismatch] = field(default_factory=list)
    stop_reason: str = ""
    bookmark: t.Any = None
    state: dict[str, t.Any] = field(default_factory=dict)
    schema: dict[str, t.Any] = field(default_factory=dict)
    replication_key: str | None = None

    @property
    def dropped_fields(self) -> list[str]:
        """Top-level fields the API sent that the schema lacks (the tap drops them)."""
        declared = set(self.schema.get("properties", {}))
        seen = {key for record in self.raw_records for key in record}
        return sorted(seen - declared) if self.schema else []


# --------------------------------------------------------------------------- #
# Instrumentation
# --------------------------------------------------------------------------- #


class _Budget:
    """How much of a stream the preview fetches."""

    def __init__(self, records: int | None, pages: int | None, what: str = "") -> None:
        self.records = records
        self.pages = pages
        self.what = what
        self.seen_records = 0
        self.seen_pages = 0

    def spent(self) -> str | None:
        if self.records is not None and self.seen_records >= self.records:
            return f"preview limit of {self.records}{self.what} records reached"
        if self.pages is not None and self.seen_pages >= self.pages:
            plural = "s" if self.pages != 1 else ""
            return f"preview limit of {self.pages} page{plural}{self.what} reached"
        return None


_FINISH_REASONS = {
    "NextOffsetPaginator": "the response holds no next offset",
    "LimitOffsetPaginator": "the page had fewer records than the limit",
    "SinglePagePaginator": "the stream makes a single request (no pagination)",
    "CursorPaginator": "the response holds no next cursor",
    "NextUrlPaginator": "the response gives no next URL",
}


class _RecordingPaginator:
    """Wraps a stream's paginator: notes each decision, stops at the budget."""

    def __init__(
        self,
        inner: BaseAPIPaginator[t.Any],
        stream: RESTStream[t.Any],
        log: list[RequestEntry],
        budget: _Budget,
    ) -> None:
        self._inner = inner
        self._stream = stream
        self._log = log
        self._budget = budget
        self._stopped = False

    @property
    def finished(self) -> bool:
        return self._stopped or bool(self._inner.finished)

    @property
    def current_value(self) -> t.Any:  # noqa: ANN401
        return self._inner.current_value

    def continue_if_empty(self, response: requests.Response) -> bool:
        return bool(self._inner.continue_if_empty(response))

    def advance(self, response: requests.Response) -> None:
        entry = _last_entry(self._log, self._stream.name)
        count = int(getattr(self._stream, "last_page_size", 0))
        self._budget.seen_records += count
        self._budget.seen_pages += 1
        if entry is not None:
            entry.records = count
        if reason := self._budget.spent():
            self._stopped = True
            _decide(entry, f"stop: {reason}")
            return
        self._inner.advance(response)
        if self._inner.finished:
            stop_rule = getattr(self._inner, "reason", None)
            _decide(entry, "stop: " + (stop_rule or _finish_reason(self._inner)))
        else:
            _decide(entry, f"next page: {_token_text(self._inner.current_value)}")


def _finish_reason(paginator: t.Any) -> str:  # noqa: ANN401
    """Why a paginator finished, in words (``StopWhen``: its inner one's reason)."""
    inner = getattr(paginator, "_inner", None)
    if inner is not None:
        return _finish_reason(inner)
    name = type(paginator).__name__
    return _FINISH_REASONS.get(name, "the paginator finished")


def _top_level_keys(response: requests.Response) -> list[str]:
    try:
        body = response.json()
    except ValueError:
        return []
    return [str(key) for key in body] if isinstance(body, dict) else []


def _token_text(token: object) -> str:
    if hasattr(token, "geturl"):
        return str(token.geturl())
    return json.dumps(token) if not isinstance(token, str) else repr(token)


def _last_entry(log: list[RequestEntry], stream: str) -> RequestEntry | None:
    return next((e for e in reversed(log) if e.stream == stream), None)


def _decide(entry: RequestEntry | None, decision: str) -> None:
    if entry is not None:
        entry.decision = decision


class _Instruments:
    """Hooks installed on the tap's stream instances for one preview."""

    def __init__(
        self,
        runtime: ModuleType,
        target: str,
        budget: _Budget,
        parents: int,
        ancestors: set[str],
    ) -> None:
        self.runtime = runtime
        self.target = target
        self.ancestors = ancestors
        self.budget = budget
        self.parents = parents
        self.log: list[RequestEntry] = []
        self.raw: list[dict[str, t.Any]] = []
        #: Top-level keys of the target's first response, to explain an empty page.
        self.first_keys: list[str] | None = None

    def install(self, stream: t.Any) -> None:  # noqa: ANN401
        from singer_sdk.pagination import SinglePagePaginator

        stream.requests_session.hooks["response"].append(self._on_response(stream))
        parent_budget = _Budget(self.parents, None, " parent")
        budget = self.budget if stream.name == self.target else parent_budget
        original = stream.get_new_paginator
        stream.get_new_paginator = lambda: _RecordingPaginator(
            original() or SinglePagePaginator(), stream, self.log, budget
        )
        if stream.name != self.target and stream.name not in self.ancestors:
            return
        if stream.name == self.target:
            stream.prepare_record = self._capture(stream.prepare_record)
        else:
            stream.generate_child_contexts = self._first_parents(
                stream.generate_child_contexts
            )

    def _on_response(self, stream: t.Any) -> Callable[..., None]:  # noqa: ANN401
        def hook(response: requests.Response, *_: t.Any, **__: t.Any) -> None:  # noqa: ANN401
            request = response.request
            if stream.name == self.target and self.first_keys is None:
                self.first_keys = _top_level_keys(response)
            secret_params = getattr(stream, "secret_query_params", ())
            self.log.append(
                RequestEntry(
                    stream=stream.name,
                    method=str(request.method),
                    url=self.runtime.redact_url(str(request.url), secret_params),
                    headers=self._headers(request.headers),
                    status=response.status_code,
                    latency_ms=round(response.elapsed.total_seconds() * 1000, 1),
                    body=self._body(request.body),
                )
            )

        return hook

    def _headers(self, headers: t.Mapping[str, str]) -> dict[str, str]:
        shown: dict[str, str] = {}
        for name, value in headers.items():
            hidden = name.lower() in _HIDDEN_HEADERS
            shown[name] = "***" if hidden else self.runtime.redact(str(value))
        return shown

    def _body(self, body: object) -> str | None:
        if body is None:
            return None
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
        return str(self.runtime.redact(text))

    def _capture(self, prepare: Callable[..., t.Any]) -> Callable[..., t.Any]:
        """Keep each record as the API sent it (prepared, not yet conformed)."""

        def wrapped(row: dict[str, t.Any], context: t.Any = None) -> t.Any:  # noqa: ANN401
            result = prepare(row, context)
            if result is not None:
                self.raw.append(copy.deepcopy(result))
            return result

        return wrapped

    def _first_parents(
        self, generate: Callable[..., Iterable[t.Any]]
    ) -> Callable[..., t.Any]:
        count = 0

        def wrapped(record: t.Any, context: t.Any) -> Iterable[t.Any]:  # noqa: ANN401
            nonlocal count
            count += 1
            if count > self.parents:
                return iter(())
            return generate(record=record, context=context)

        return wrapped


# --------------------------------------------------------------------------- #
# Running
# --------------------------------------------------------------------------- #


class CapturingWriter:
    """A Singer message writer that keeps messages in memory."""

    def __init__(self) -> None:
        from singer_sdk.io_base import SingerWriter

        self._encoder = SingerWriter()
        self.messages: list[dict[str, t.Any]] = []

    def __getattr__(self, name: str) -> t.Any:  # noqa: ANN401
        return getattr(self._encoder, name)

    def write_message(self, message: t.Any) -> None:  # noqa: ANN401
        self.messages.append(json.loads(self._encoder.serialize_message(message)))


def _select_only(tap: t.Any, stream_id: str) -> dict[str, t.Any]:  # noqa: ANN401
    catalog = copy.deepcopy(tap.catalog_dict)
    for entry in catalog["streams"]:
        for metadata in entry["metadata"]:
            if metadata["breadcrumb"] == []:
                metadata["metadata"]["selected"] = entry["tap_stream_id"] == stream_id
    return t.cast("dict[str, t.Any]", catalog)


def run_stream(
    connector: Connector,
    stream_id: str,
    config: dict[str, t.Any],
    *,
    limit: int | None = 10,
    pages: int | None = None,
    state: dict[str, t.Any] | None = None,
    parents: int = 3,
    max_attempts: int = 1,
) -> PreviewResult:
    """Sync one stream of the spec's tap in-process, within a budget.

    Args:
        connector: The validated spec.
        stream_id: The stream to run (a child runs for the first ``parents`` parents).
        config: The tap config.
        limit: Stop requesting pages once this many records came.
        pages: Stop after this many pages.
        state: A Singer state to start from.
        parents: How many parent records a child stream runs for.
        max_attempts: Attempts per request (1: fail fast on transient errors).

    Raises:
        ConfigError: when the config lacks required settings.
        PreviewError: when the API or the config fails the run.
    """
    spec_stream = connector.spec.stream(stream_id)
    if spec_stream is None:
        ids = ", ".join(s.id for s in connector.spec.streams)
        msg = f"no stream {stream_id!r} in the spec. Streams: {ids}"
        raise PreviewError(msg)
    check_config(connector, config)
    config = {**config, "max_attempts": max_attempts}
    with generated_tap(connector) as module:
        runtime = importlib.import_module(f"{connector.spec.package}.runtime")
        return _run(
            module,
            runtime,
            stream_id,
            config,
            state or {},
            _Budget(limit, pages),
            parents,
        )


def _run(
    module: ModuleType,
    runtime: ModuleType,
    stream_id: str,
    config: dict[str, t.Any],
    state: dict[str, t.Any],
    budget: _Budget,
    parents: int,
) -> PreviewResult:
    cls = tap_class(module)
    logging.disable(logging.CRITICAL)  # the report says it all
    try:
        probe = cls(config=config, parse_env_config=False, setup_mapper=False)
        writer = CapturingWriter()
        tap = cls(
            config=config,
            catalog=_select_only(probe, stream_id),
            state=state,
            parse_env_config=False,
            message_writer=writer,
        )
        instruments = _Instruments(
            runtime, stream_id, budget, parents, _ancestors(tap, stream_id)
        )
        for stream in tap.streams.values():
            instruments.install(stream)
        _sync(tap, runtime)
    finally:
        logging.disable(logging.NOTSET)
    return _result(tap, stream_id, writer.messages, instruments)


def _ancestors(tap: t.Any, stream_id: str) -> set[str]:  # noqa: ANN401
    found: set[str] = set()
    parent = tap.streams[stream_id].parent_stream_type
    while parent is not None:
        found.add(parent.name)
        parent = parent.parent_stream_type
    return found


def _sync(tap: t.Any, runtime: ModuleType) -> None:  # noqa: ANN401
    from singer_sdk.exceptions import (
        ConfigValidationError,
        FatalAPIError,
        RetriableAPIError,
    )

    try:
        tap.sync_all()
    except (FatalAPIError, RetriableAPIError) as exc:
        message = runtime.redact(str(exc)).replace(
            "(gave up after 1 attempts)", "(preview tries once; the tap retries)"
        )
        raise PreviewError(message) from None
    except requests.RequestException as exc:
        raise PreviewError(runtime.describe_failure(exc, 0)) from None
    except ConfigValidationError as exc:
        raise ConfigError("; ".join(exc.errors)) from None


def _result(
    tap: Tap,
    stream_id: str,
    messages: list[dict[str, t.Any]],
    instruments: _Instruments,
) -> PreviewResult:
    stream = tap.streams[stream_id]
    result = PreviewResult(stream=stream_id, replication_key=stream.replication_key)
    result.requests = instruments.log
    result.raw_records = instruments.raw
    for message in messages:
        if message["type"] == "SCHEMA" and message["stream"] == stream_id:
            result.schema = message["schema"]
        elif message["type"] == "RECORD" and message["stream"] == stream_id:
            result.records.append(message["record"])
        elif message["type"] == "STATE":
            result.state = message["value"]
    for entry in result.requests:
        if entry.decision is None and entry.status < 400:
            entry.records = entry.records or 0
            entry.decision = "stop: the page had no records"
    own = [e for e in result.requests if e.stream == stream_id]
    result.stop_reason = (
        (own[-1].decision or "").removeprefix("stop: ")
        if own
        else ("no request was made (no parent records?)")
    )
    if not result.records and own and own[0].status < 400:
        keys = ", ".join(instruments.first_keys or []) or "none (not an object)"
        selector = getattr(stream, "records_jsonpath", "")
        result.stop_reason += (
            f"; records_selector {selector!r} matched nothing in the first "
            f"response, whose top-level keys are: {keys}"
        )
    result.bookmark = result.state.get("bookmarks", {}).get(stream_id)
    result.mismatches = _mismatches(result.records, result.schema)
    return result


def _mismatches(
    records: list[dict[str, t.Any]], schema: dict[str, t.Any]
) -> list[Mismatch]:
    if not schema:
        return []
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    found: list[Mismatch] = []
    for index, record in enumerate(records):
        for error in validator.iter_errors(record):
            path = ".".join(str(p) for p in error.absolute_path) or "(record)"
            found.append(Mismatch(index, path, error.instance, error.message))
    return found
