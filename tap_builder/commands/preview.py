"""Run one stream of a spec's tap in this process and report what happened.

The tap is the generated one (see :mod:`tap_builder.commands.inprocess`),
run through the SDK's own sync: the same requests, pagination, records,
conformance and state.
Instrumentation only observes: a response hook logs each request, a paginator
wrapper records each pagination decision (and stops at the preview's budget),
and ``post_process`` is wrapped to keep the records as the API sent them (for
schema inference).

What a preview shows is safe to print. Every credential (secret settings, and
every setting the authentication block uses, whatever its secret flag) is
registered with the tap's runtime before the run, so it is masked wherever it
shows up; query parameters that carry a key, or whose value holds a credential,
show as ``***`` (next-page URLs included). Text that comes from the API (URLs,
headers, bodies, record keys and values, error excerpts) has its control
characters escaped as visible text (ESC shows as backslash-x1b), so an API
cannot move the cursor, retitle the window or fake lines of the report.
"""

from __future__ import annotations

import base64
import copy
import json
import logging
import re
import typing as t
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode

import jsonschema
import requests

from tap_builder.commands.inprocess import (
    ConfigError,
    check_config,
    generated_tap,
    tap_class,
    tap_runtime,
)
from tap_builder.components import AUTHENTICATORS, finish_reason
from tap_builder.runtime.variables import variables_in

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from types import ModuleType, SimpleNamespace

    from requests import Response
    from singer_sdk import RESTStream, Tap
    from singer_sdk.pagination import BaseAPIPaginator

    from tap_builder.spec.validation import Connector

__all__ = [
    "MASK",
    "ConfigError",
    "Masker",
    "PreviewError",
    "PreviewResult",
    "credential_settings",
    "key_query_params",
    "register_credentials",
    "run_stream",
    "safe_data",
    "safe_json",
    "safe_text",
]

#: Headers never shown, whatever their value.
_HIDDEN_HEADERS = {"authorization", "proxy-authorization", "cookie"}
#: What a masked secret looks like (the runtime's ``redact`` writes the same).
MASK = "***"


#: The decision shown for a file a download stream read (not a page).
DOWNLOADED = "downloaded file"


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
    """What a preview run saw.

    What gets printed (request log, records, mismatches, stop reason, bookmark)
    is safe to print: credentials masked, control characters escaped. The data
    that is not printed (``raw_records``, ``state``, ``schema``) is as it came.
    """

    stream: str
    requests: list[RequestEntry] = field(default_factory=list)
    #: The records the tap emitted, made safe to print.
    records: list[dict[str, t.Any]] = field(default_factory=list)
    #: The records as the API sent them (for schema inference).
    raw_records: list[dict[str, t.Any]] = field(default_factory=list)
    mismatches: list[Mismatch] = field(default_factory=list)
    stop_reason: str = ""
    bookmark: t.Any = None
    state: dict[str, t.Any] = field(default_factory=dict)
    schema: dict[str, t.Any] = field(default_factory=dict)
    replication_key: str | None = None
    #: The target stream's HTTP responses as they came (never printed).
    responses: list[Response] = field(default_factory=list)

    @property
    def dropped_fields(self) -> list[str]:
        """Top-level fields the API sent that the schema lacks (the tap drops them)."""
        declared = set(self.schema.get("properties", {}))
        seen = {key for record in self.raw_records for key in record}
        return (
            [safe_text(name) for name in sorted(seen - declared)] if self.schema else []
        )


# --------------------------------------------------------------------------- #
# Credentials and text that is safe to print
# --------------------------------------------------------------------------- #

#: Characters a terminal acts on, or that reorder or break lines: C0 controls
#: (ESC among them), DEL, C1 controls (CSI, OSC, ...), line and paragraph
#: separators, bidirectional overrides and isolates, and lone surrogates (which
#: cannot even be printed).
_UNSAFE = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
    r"\ud800-\udfff]"
)
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    if char in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_text(text: str) -> str:
    r"""``text`` with nothing a terminal interprets: each such character escaped.

    ESC shows as ``\x1b``, a newline as ``\n``, a C1 control as ``\x9b``, a
    bidirectional override as ``\u202e``; everything else is kept as it is.
    """
    return _UNSAFE.sub(_escape, text)


def safe_data(value: t.Any) -> t.Any:  # noqa: ANN401
    """JSON data for a terminal: every string (keys too) through :func:`safe_text`."""
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, dict):
        return {safe_data(key): safe_data(item) for key, item in value.items()}
    if isinstance(value, list):
        return [safe_data(item) for item in value]
    return value


def safe_json(value: object) -> str:
    r"""JSON text with nothing a terminal interprets.

    ``json`` escapes C0 controls itself; DEL, C1 controls, bidirectional
    overrides and line separators become ``\uXXXX`` escapes too, so the text
    decodes back to exactly the original value.
    """
    text = json.dumps(value, ensure_ascii=False, default=str)
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


def credential_settings(connector: Connector) -> tuple[str, ...]:
    """Settings that are credentials.

    The secret ones, and every one the authentication block uses, whatever its
    secret flag: a value that flows into authentication is a credential.
    """
    spec = connector.spec
    used = {
        v.name
        for v in variables_in(spec.authentication.model_dump(exclude={"type"}))
        if v.from_config
    }
    return tuple(p.name for p in spec.parameters if p.secret or p.name in used)


def key_query_params(connector: Connector) -> set[str]:
    """Query parameters that carry a key.

    The API key of ``api_key`` authentication in the query, and every stream
    query parameter whose value holds a credential setting.
    """
    spec = connector.spec
    credentials = set(credential_settings(connector))
    names: set[str] = set()
    names.update(spec.authentication.secret_query_params)
    for stream in spec.streams:
        for name, value in stream.query_params.items():
            if any(
                v.from_config and v.name in credentials for v in variables_in(value)
            ):
                names.add(name)
    return names


def _settings(connector: Connector, config: Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The config as the tap sees it: parameter defaults, then the given values."""
    values = {
        p.name: p.default for p in connector.spec.parameters if p.default is not None
    }
    values.update({name: value for name, value in config.items() if value is not None})
    return values


#: How deep JSON escaping is followed: a secret in a JSON string inside a JSON
#: string inside a JSON document (an API echoing a request body in an error).
_JSON_DEPTH = 3


def _json_variants(text: str) -> set[str]:
    r"""``text`` escaped as inside a JSON string: ASCII or not, ``/`` as ``\/``."""
    escaped = {json.dumps(text)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1]}
    return escaped | {form.replace("/", "\\/") for form in escaped}


class Masker:
    """Masks credentials in text as ``***``.

    The secrets the tap's runtime registered (its ``redact``), and each
    credential value in every form it can take: the runtime's forms (raw, JSON,
    URL-encoded), those forms encoded once more (a URL-encoded key inside JSON,
    a JSON value inside a URL) and JSON escaping up to three levels deep.
    """

    def __init__(self, runtime: SimpleNamespace, values: Iterable[object] = ()) -> None:
        self._runtime = runtime
        forms: set[str] = set()
        for value in values:
            forms |= self._forms(value)
        ordered = sorted(forms, key=len, reverse=True)  # the longest match wins
        self._pattern = (
            re.compile("|".join(map(re.escape, ordered))) if ordered else None
        )

    def _forms(self, value: object) -> set[str]:
        if value is None or isinstance(value, bool | dict | list) or value == "":
            return set()
        first = {str(form) for form in self._runtime.secret_forms(value)}
        forms = first | {
            str(form) for text in first for form in self._runtime.secret_forms(text)
        }
        level = forms
        for _ in range(_JSON_DEPTH - 1):
            level = {v for text in level for v in _json_variants(text)} - forms
            forms |= level
        return {form for form in forms if form}

    def text(self, text: str) -> str:
        """``text`` with every credential masked."""
        if self._pattern is not None:
            text = self._pattern.sub(MASK, text)
        return str(self._runtime.redact(text))

    def holds_secret(self, text: str) -> bool:
        """Whether ``text`` holds a credential."""
        return self.text(text) != text

    def data(self, value: t.Any, *, numbers: bool = False) -> t.Any:  # noqa: ANN401
        """JSON data with credentials masked in its strings (keys included).

        With ``numbers``, a number whose text is a credential becomes ``***``
        too (recorded fixtures); preview leaves numbers as they are. Text is not
        escaped here: preview escapes as it prints.
        """
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {
                self.text(str(key)): self.data(item, numbers=numbers)
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [self.data(item, numbers=numbers) for item in value]
        if numbers and isinstance(value, int | float) and not isinstance(value, bool):
            return MASK if self.holds_secret(json.dumps(value)) else value
        return value


def register_credentials(
    runtime: SimpleNamespace, connector: Connector, config: Mapping[str, t.Any]
) -> Masker:
    """Register every credential with the tap's runtime before a run.

    Each credential setting's value, and for Basic credentials (and OAuth2
    client credentials sent as Basic) the base64 header value, go to the
    runtime's ``register_secret``, so the tap's own logs and errors mask them.

    Returns:
        A masker for the same values in every form, nested encodings included.
    """
    values = _settings(connector, config)
    secrets: list[object] = [
        values.get(name) for name in credential_settings(connector)
    ]
    for secret in secrets:
        if secret is not None and not isinstance(secret, bool):
            runtime.register_secret(secret)
    auth = connector.spec.authentication
    for user_template, password_template in AUTHENTICATORS[auth.type].basic_credentials(
        auth
    ):
        try:
            user = str(runtime.render_text(user_template, values, None))
            password = str(runtime.render_text(password_template, values, None))
        except (LookupError, ValueError):  # an unset setting: nothing is sent
            continue
        runtime.register_basic_credentials(user, password)
        for encoding in ("utf-8", "latin-1"):  # requests encodes Basic as latin-1
            try:
                pair = f"{user}:{password}".encode(encoding)
            except UnicodeEncodeError:
                continue
            encoded = base64.b64encode(pair).decode("ascii")
            runtime.register_secret(encoded)
            secrets.append(encoded)
    return Masker(runtime, secrets)


def _mask_url(masker: Masker, url: str, key_params: Iterable[str]) -> str:
    """A URL with key-carrying query values, and values holding a secret, as ***.

    Whatever else holds a secret (path, user info, fragment) is masked too.
    """
    start, question, rest = url.partition("?")
    query, hash_mark, fragment = rest.partition("#")
    if not question:  # no query: the fragment may follow the path directly
        start, hash_mark, fragment = url.partition("#")
    hidden = set(key_params)
    pairs = [
        (name, MASK if name in hidden or masker.holds_secret(value) else value)
        for name, value in parse_qsl(query, keep_blank_values=True)
    ]
    masked = start + question + urlencode(pairs, safe="*") + hash_mark + fragment
    return masker.text(masked)


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


_SINGLE_PAGE = "the stream makes a single request (no pagination)"


class _RecordingPaginator:
    """Wraps a stream's paginator: notes each decision, stops at the budget."""

    def __init__(
        self,
        inner: BaseAPIPaginator[t.Any],
        stream: RESTStream[t.Any],
        log: list[RequestEntry],
        budget: _Budget,
        describe: Callable[[object], str],
    ) -> None:
        self._inner = inner
        self._stream = stream
        self._log = log
        self._budget = budget
        self._describe = describe
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
        files: list[int] = getattr(self._stream, "file_sizes", [])
        if files:  # a download: the page's entry comes before its files'
            own = [e for e in self._log if e.stream == self._stream.name]
            for file_entry, records in zip(own[-len(files) :], files, strict=False):
                file_entry.records = records
                file_entry.decision = DOWNLOADED
            entry = own[-len(files) - 1] if len(own) > len(files) else entry
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
            _decide(entry, f"next page: {self._describe(self._inner.current_value)}")


def _finish_reason(paginator: t.Any) -> str:  # noqa: ANN401
    """Why a paginator finished, in words (``StopWhen``: its inner one's reason)."""
    inner = getattr(paginator, "_inner", None)
    if inner is not None:
        return _finish_reason(inner)
    name = type(paginator).__name__
    if name == "SinglePagePaginator":
        return _SINGLE_PAGE
    return finish_reason(name) or "the paginator finished"


def _top_level_keys(response: requests.Response) -> list[str]:
    try:
        body = response.json()
    except ValueError:
        return []
    return [str(key) for key in body] if isinstance(body, dict) else []


def _last_entry(log: list[RequestEntry], stream: str) -> RequestEntry | None:
    return next((e for e in reversed(log) if e.stream == stream), None)


def _decide(entry: RequestEntry | None, decision: str) -> None:
    if entry is not None:
        entry.decision = decision


class _Instruments:
    """Hooks installed on the tap's stream instances for one preview."""

    def __init__(
        self,
        masker: Masker,
        target: str,
        budget: _Budget,
        parents: int,
        ancestors: set[str],
        key_params: set[str],
    ) -> None:
        self.masker = masker
        self.key_params = key_params
        self.target = target
        self.ancestors = ancestors
        self.budget = budget
        self.parents = parents
        self.log: list[RequestEntry] = []
        self.raw: list[dict[str, t.Any]] = []
        self.responses: list[requests.Response] = []
        #: Top-level keys of the target's first response, to explain an empty page.
        self.first_keys: list[str] | None = None

    def install(self, stream: t.Any) -> None:  # noqa: ANN401
        from singer_sdk.pagination import SinglePagePaginator

        stream.requests_session.hooks["response"].append(self._on_response(stream))
        parent_budget = _Budget(self.parents, None, " parent")
        budget = self.budget if stream.name == self.target else parent_budget
        original = stream.get_new_paginator
        stream.get_new_paginator = lambda: _RecordingPaginator(
            original() or SinglePagePaginator(),
            stream,
            self.log,
            budget,
            lambda token: self._token_text(stream, token),
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
            if stream.name == self.target:
                self.responses.append(response)
            if stream.name == self.target and self.first_keys is None:
                self.first_keys = _top_level_keys(response)
            self.log.append(
                RequestEntry(
                    stream=stream.name,
                    method=str(request.method),
                    url=self._url(stream, str(request.url)),
                    headers=self._headers(request.headers),
                    status=response.status_code,
                    latency_ms=round(response.elapsed.total_seconds() * 1000, 1),
                    body=self._body(request.body),
                )
            )

        return hook

    def _url(self, stream: t.Any, url: str) -> str:  # noqa: ANN401
        """A URL with every key and secret masked."""
        hidden = self.key_params | set(getattr(stream, "secret_query_params", ()))
        return _mask_url(self.masker, url, hidden)

    def _token_text(self, stream: t.Any, token: object) -> str:  # noqa: ANN401
        """The next page's token as the report shows it, secrets masked."""
        if hasattr(token, "geturl"):
            return self._url(stream, str(token.geturl()))
        if isinstance(token, str):
            if token.lower().startswith(("http://", "https://")):
                return repr(self._url(stream, token))
            return repr(self.masker.text(token))
        return self.masker.text(json.dumps(token, default=str))

    def _headers(self, headers: t.Mapping[str, str]) -> dict[str, str]:
        shown: dict[str, str] = {}
        for name, value in headers.items():
            hidden = name.lower() in _HIDDEN_HEADERS
            shown[name] = "***" if hidden else self.masker.text(str(value))
        return shown

    def _body(self, body: object) -> str | None:
        if body is None:
            return None
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
        return self.masker.text(text)

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
    dynamic = any(s.for_each is not None for s in connector.spec.streams)
    if spec_stream is None and not dynamic:  # dynamic streams: known at discovery
        ids = ", ".join(s.id for s in connector.spec.streams)
        msg = f"no stream {stream_id!r} in the spec. Streams: {ids}"
        raise PreviewError(msg)
    check_config(connector, config)
    config = {**config, "max_attempts": max_attempts}
    with generated_tap(connector) as module:
        runtime = tap_runtime(connector.spec.package)
        masker = register_credentials(runtime, connector, config)
        return _run(
            module,
            runtime,
            masker,
            stream_id,
            config,
            state or {},
            _Budget(limit, pages),
            parents,
            key_query_params(connector),
        )


def _run(
    module: ModuleType,
    runtime: SimpleNamespace,
    masker: Masker,
    stream_id: str,
    config: dict[str, t.Any],
    state: dict[str, t.Any],
    budget: _Budget,
    parents: int,
    key_params: set[str],
) -> PreviewResult:
    cls = tap_class(module)
    logging.disable(logging.CRITICAL)  # the report says it all
    try:
        probe = _discovered(cls, config, masker)
        if stream_id not in probe.streams:  # e.g. a dynamic stream's id
            names = ", ".join(sorted(probe.streams))
            msg = f"no stream {stream_id!r} in the tap. Streams: {names}"
            raise PreviewError(msg)
        writer = CapturingWriter()
        tap = cls(
            config=config,
            catalog=_select_only(probe, stream_id),
            state=state,
            parse_env_config=False,
            message_writer=writer,
        )
        instruments = _Instruments(
            masker,
            stream_id,
            budget,
            parents,
            _ancestors(tap, stream_id),
            key_params,
        )
        for stream in tap.streams.values():
            instruments.install(stream)
        _sync(tap, runtime, masker)
    finally:
        logging.disable(logging.NOTSET)
    return _result(tap, stream_id, writer.messages, instruments)


def _discovered(cls: t.Any, config: dict[str, t.Any], masker: Masker) -> t.Any:  # noqa: ANN401
    """The tap with its streams discovered (dynamic ones request the API)."""
    from singer_sdk.exceptions import FatalAPIError, RetriableAPIError

    try:
        probe = cls(config=config, parse_env_config=False, setup_mapper=False)
        probe.streams  # noqa: B018 - discovery happens here
    except (FatalAPIError, RetriableAPIError) as exc:
        raise PreviewError(safe_text(masker.text(str(exc)))) from None
    return probe


def _ancestors(tap: t.Any, stream_id: str) -> set[str]:  # noqa: ANN401
    found: set[str] = set()
    parent = tap.streams[stream_id].parent_stream_type
    while parent is not None:
        found.add(parent.name)
        parent = parent.parent_stream_type
    return found


def _sync(tap: t.Any, runtime: SimpleNamespace, masker: Masker) -> None:  # noqa: ANN401
    from singer_sdk.exceptions import (
        ConfigValidationError,
        FatalAPIError,
        RetriableAPIError,
    )

    def shown(text: str) -> str:
        return safe_text(masker.text(text))

    try:
        tap.sync_all()
    except (FatalAPIError, RetriableAPIError) as exc:
        message = shown(str(exc)).replace(
            "(gave up after 1 attempts)", "(preview tries once; the tap retries)"
        )
        raise PreviewError(message) from None
    except requests.RequestException as exc:
        raise PreviewError(shown(str(runtime.describe_failure(exc, 0)))) from None
    except ConfigValidationError as exc:
        raise ConfigError(shown("; ".join(exc.errors))) from None
    except Exception as exc:
        # Unexpected: keep the type and traceback (--debug), but the message may
        # quote the API, so it is made safe to print like everything else.
        message = str(exc)
        if shown(message) != message:
            exc.args = (shown(message),)
        raise


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
    result.responses = instruments.responses
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
    own = [
        e for e in result.requests if e.stream == stream_id and e.decision != DOWNLOADED
    ]
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
    _make_printable(result, instruments.masker)
    return result


def _make_printable(result: PreviewResult, masker: Masker) -> None:
    """Mask secrets in, and escape control characters of, all that gets printed.

    Checks (schema mismatches) ran on the records as the tap emitted them;
    ``raw_records``, ``state`` and ``schema`` stay as they are (they are data
    for schema inference and resuming, not shown).
    """

    def shown(text: str) -> str:
        return safe_text(masker.text(text))

    for entry in result.requests:
        entry.stream = safe_text(entry.stream)
        entry.method = safe_text(entry.method)
        entry.url = safe_text(entry.url)
        entry.headers = {
            safe_text(name): safe_text(value) for name, value in entry.headers.items()
        }
        entry.body = None if entry.body is None else safe_text(entry.body)
        entry.decision = None if entry.decision is None else shown(entry.decision)
    result.stop_reason = shown(result.stop_reason)
    result.records = [masker.data(record) for record in result.records]
    result.bookmark = masker.data(result.bookmark)
    for mismatch in result.mismatches:
        mismatch.path = shown(mismatch.path)
        mismatch.value = masker.data(mismatch.value)
        mismatch.message = shown(mismatch.message)


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
