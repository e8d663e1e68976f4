"""Stream options: record transforms, incremental options and error rules.

Each option is one entry: the class attribute the generated stream sets, the
run-time mixin (and module) that reads it, and how its value comes from the
spec's stream. The attribute's annotation is written by its macro in
``templates/tap/macros/options.jinja``; the run-time mixin classes hold the
behaviour. Options a stream does not use are not written (the mixins' defaults
apply), and a mixin is a base of a stream only when one of its options is used.
Concurrency (``ConcurrentStream``: ``concurrency``, ``pool_size``,
``prefetch_first_page``) depends on the whole spec, so the renderer adds it
(``render/context.py``) rather than this per-stream table.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from tap_builder.components.formats import FORMAT_NEEDS
from tap_builder.spec.checks import duration_seconds

if t.TYPE_CHECKING:
    from collections.abc import Callable

    from tap_builder.spec.models import Stream

#: Run-time mixins by class name -> the module that holds it, in the order of a
#: stream's bases (record filters run after the client filter).
MIXINS = {
    "DynamicStream": "dynamic",
    "RecordStream": "records",
    # A subclass of IncrementalStream: before it in a stream's bases.
    "CappedQueryStream": "capped",
    "IncrementalStream": "incremental",
    "ErrorRulesStream": "errors",
    "ConcurrentStream": "concurrency",
    "GraphQLStream": "graphql",
    "AsyncJobStream": "jobs",
    # Response formats (components/formats.py): a download's answer is JSON,
    # so a stream has DownloadStream or a body format, not both.
    "DownloadStream": "downloads",
    "CsvStream": "csvio",
    "XmlStream": "xmlio",
    "CompressedStream": "compression",
}


#: Run-time modules a mixin's module imports besides the core (copied with it).
RUNTIME_NEEDS: dict[str, tuple[str, ...]] = {
    **FORMAT_NEEDS,
    "concurrency": ("pool",),
    "capped": ("incremental",),
}


@dataclass(frozen=True)
class StreamOption:
    """One option of a stream: a class attribute read by a run-time mixin."""

    #: The class attribute ("": the option only selects the mixin).
    attribute: str
    #: The run-time mixin class that implements it (a key of :data:`MIXINS`).
    mixin: str
    #: The attribute's value for ``stream``; None or False: not used.
    value: Callable[[Stream], object]


def _incremental(stream: Stream) -> object:
    return stream.incremental is not None


def _lookback(stream: Stream) -> object:
    incremental = stream.incremental
    return (
        duration_seconds(incremental.lookback)
        if incremental and incremental.lookback
        else None
    )


def _window(stream: Stream) -> object:
    incremental = stream.incremental
    return (
        duration_seconds(incremental.window)
        if incremental and incremental.window
        else None
    )


def _client_filter(stream: Stream) -> object:
    return bool(stream.incremental and stream.incremental.client_filter)


def _key_format(stream: Stream) -> object:
    return stream.incremental.replication_key_format if stream.incremental else None


def _body(fmt: str) -> Callable[[Stream], object]:
    """Whether the stream's answers (not downloaded files) are in ``fmt``."""
    return lambda s: s.download is None and s.response_format == fmt


def _csv_options(*, download: bool) -> Callable[[Stream], object]:
    def value(stream: Stream) -> object:
        if stream.csv is None or (stream.download is not None) != download:
            return None
        return stream.csv.runtime_options()

    return value


def _key_path(stream: Stream) -> object:
    return stream.incremental.key_path if stream.incremental else None


def _incremental_value(name: str) -> Callable[[Stream], object]:
    """The value of the stream's ``incremental.<name>`` (None: not incremental)."""

    def value(stream: Stream) -> object:
        return getattr(stream.incremental, name) if stream.incremental else None

    return value


def _compression(*, download: bool) -> Callable[[Stream], object]:
    def value(stream: Stream) -> object:
        if stream.compression == "none" or (stream.download is not None) != download:
            return None
        return stream.compression

    return value


def _for_each(name: str) -> Callable[[Stream], object]:
    """The value of the stream's ``for_each.<name>`` (None: not dynamic)."""

    def value(stream: Stream) -> object:
        return getattr(stream.for_each, name) if stream.for_each else None

    return value


def _download_url(stream: Stream) -> object:
    return stream.download.url if stream.download else None


def _for_each_records(stream: Stream) -> object:
    for_each = stream.for_each
    if for_each is None or for_each.path is None or for_each.records_selector == "$[*]":
        return None  # the default
    return for_each.records_selector


def _for_each_max(stream: Stream) -> object:
    for_each = stream.for_each
    return None if for_each is None or for_each.max_items == 100 else for_each.max_items


def _for_each_sample(stream: Stream) -> object:
    for_each = stream.for_each
    return for_each.sample_records if for_each and for_each.infer_schema else None


def _error_rules(stream: Stream) -> object:
    return tuple(
        (r.statuses, r.body_path, r.body_value, r.action, r.message)
        for r in stream.error_handling
    )


def _graphql(stream: Stream, key: str) -> object:
    return getattr(stream.graphql, key) if stream.graphql else None


def _graphql_error_rules(stream: Stream) -> object:
    rules = stream.graphql.errors if stream.graphql else ()
    return tuple((r.code, r.message_contains, r.action, r.message) for r in rules)


def _graphql_cursor(stream: Stream) -> object:
    return getattr(stream.pagination, "variable", None) if stream.graphql else None


def _async_job(stream: Stream) -> object:
    job = stream.async_job
    if job is None:
        return None
    poll = job.poll
    return {
        "job_id": job.job_id,
        "poll_path": poll.path,
        "poll_url": poll.url,
        "status": poll.status,
        "done": list(poll.done),
        "failed": list(poll.failed),
        "error": poll.error,
        "interval": poll.interval,
        "backoff": poll.backoff,
        "max_interval": poll.max_interval,
        "timeout": poll.timeout,
        "urls": job.download.urls,
        "format": job.download.format,
    }


OPTIONS: tuple[StreamOption, ...] = (
    StreamOption(
        "record_filter",
        "RecordStream",
        lambda s: tuple((c.field, c.op, c.value) for c in s.record_filter),
    ),
    StreamOption("remove_fields", "RecordStream", lambda s: s.remove_fields),
    StreamOption("add_fields", "RecordStream", lambda s: s.add_fields),
    StreamOption("", "IncrementalStream", _incremental),
    StreamOption("lookback_seconds", "IncrementalStream", _lookback),
    StreamOption("client_filter", "IncrementalStream", _client_filter),
    StreamOption("replication_key_format", "IncrementalStream", _key_format),
    StreamOption("window_seconds", "IncrementalStream", _window),
    StreamOption(
        "children_of_changed_only",
        "IncrementalStream",
        lambda s: s.sync_children == "changed",
    ),
    StreamOption("replication_key_path", "IncrementalStream", _key_path),
    StreamOption(
        "sequence_cursor", "IncrementalStream", _incremental_value("sequence")
    ),
    StreamOption("send_next", "IncrementalStream", _incremental_value("send_next")),
    StreamOption(
        "initial_path", "IncrementalStream", _incremental_value("initial_path")
    ),
    StreamOption(
        "initial_records_jsonpath",
        "IncrementalStream",
        _incremental_value("initial_records_selector"),
    ),
    StreamOption(
        "max_pages_per_query",
        "CappedQueryStream",
        _incremental_value("max_pages_per_query"),
    ),
    StreamOption("error_rules", "ErrorRulesStream", _error_rules),
    StreamOption("graphql_query", "GraphQLStream", lambda s: _graphql(s, "query")),
    StreamOption(
        "graphql_variables", "GraphQLStream", lambda s: _graphql(s, "variables")
    ),
    StreamOption("graphql_cursor_variable", "GraphQLStream", _graphql_cursor),
    StreamOption("graphql_error_rules", "GraphQLStream", _graphql_error_rules),
    StreamOption("async_job", "AsyncJobStream", _async_job),
    StreamOption("download_url", "DownloadStream", _download_url),
    StreamOption("csv_options", "DownloadStream", _csv_options(download=True)),
    StreamOption("compression", "DownloadStream", _compression(download=True)),
    StreamOption("", "CsvStream", _body("text/csv")),
    StreamOption("csv_options", "CsvStream", _csv_options(download=False)),
    StreamOption("", "XmlStream", _body("application/xml")),
    StreamOption("compression", "CompressedStream", _compression(download=False)),
    StreamOption("for_each_config", "DynamicStream", _for_each("config")),
    StreamOption("for_each_path", "DynamicStream", _for_each("path")),
    StreamOption("for_each_records", "DynamicStream", _for_each_records),
    StreamOption("for_each_stream_id", "DynamicStream", _for_each("stream_id")),
    StreamOption("for_each_max_items", "DynamicStream", _for_each_max),
    StreamOption("for_each_sample", "DynamicStream", _for_each_sample),
)


def _unused(value: object) -> bool:
    """None, False, or an empty tuple or mapping: the option is not used."""
    return (
        value is None
        or value is False
        or (isinstance(value, tuple | dict) and not value)
    )


def used_options(stream: Stream) -> list[tuple[str, object]]:
    """(attribute, value) for each option ``stream`` uses, in table order."""
    found: list[tuple[str, object]] = []
    for option in OPTIONS:
        value = option.value(stream)
        if option.attribute and not _unused(value):
            found.append((option.attribute, value))
    return found


#: A mixin that subclasses another: the other is not listed again in the bases.
SUBCLASSES = {"CappedQueryStream": "IncrementalStream"}


def mixins(stream: Stream) -> list[str]:
    """The run-time mixins ``stream`` needs, in the order of its bases."""
    used = {o.mixin for o in OPTIONS if not _unused(o.value(stream))}
    used -= {SUBCLASSES[name] for name in used if name in SUBCLASSES}
    return [name for name in MIXINS if name in used]
