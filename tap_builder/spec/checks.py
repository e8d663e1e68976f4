"""Cross-field rules that pydantic cannot express on a single field.

Each check takes the parsed :class:`~tap_builder.spec.models.Spec` and yields
``(location, message)`` pairs; :func:`check_spec` runs them all.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import typing as t
from dataclasses import dataclass
from functools import lru_cache

from jsonschema import Draft7Validator
from jsonschema.exceptions import best_match

from tap_builder.components import AUTHENTICATORS, PAGINATORS
from tap_builder.components.formats import format_problems
from tap_builder.runtime.variables import TemplateError, Variable, variables_in
from tap_builder.spec.errors import brief
from tap_builder.spec.fields import Found, header_name_problem, jsonpath_problem
from tap_builder.spec.graphql import graphql_problems
from tap_builder.spec.jobs import job_problems
from tap_builder.spec.loader import MAX_DEPTH, depth_of, value_problems
from tap_builder.spec.models import (
    BUILTIN_SETTINGS,
    DEFAULT_TYPES,
    Incremental,
    Spec,
    Stream,
)

if t.TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tap_builder.spec.loader import Loc


@dataclass(frozen=True)
class Checked:
    """What the checks learn on the way: each stream's JSON Schema."""

    schemas: dict[str, dict[str, t.Any]]
    #: The logo file's bytes and suffix, when ``logo`` is a local path.
    logo_file: tuple[bytes, str] | None = None


def check_spec(
    spec: Spec, base_dir: Path, *, declared_known: bool = True
) -> tuple[list[Found], Checked]:
    """Run every cross-field check; return the problems and the loaded schemas.

    ``declared_known=False``: some parameters (or streams) failed validation and
    stand in without their names (or incremental settings), so a ``{config.NAME}``
    that is not declared is not reported (it may be the one that failed).
    """
    schemas: dict[str, dict[str, t.Any]] = {}
    found: list[Found] = []
    if not spec.streams:
        found.append((("streams",), "at least one stream is required"))
    if spec.rate_limit is not None and spec.rate_limit.min_interval == 0:
        problem = "give requests_per_second or requests_per_minute"
        found.append((("rate_limit",), problem))
    found += _unique_ids(spec)
    found += _parameters(spec)
    found += _header_values(spec)
    found += _allowed_hosts(spec)
    found += _variables(spec, declared_known=declared_known)
    found += _parents(spec)
    found += _parallel_streams(spec)
    auth = spec.authentication
    found += AUTHENTICATORS[auth.type].problems(auth, ("authentication",))
    for index, stream in enumerate(spec.streams):
        loc: Loc = ("streams", index)
        found += _stream_shape(stream, loc)
        found += graphql_problems(stream, loc)
        found += job_problems(spec, stream, loc)
        found += _incremental_complete(stream, loc)
        found += _incremental_options(stream, loc)
        found += _concurrency(spec, stream, loc)
        found += format_problems(stream, loc)
        schema, problems = _load_schema(stream, loc, base_dir)
        found += problems
        if schema is not None:
            schemas[stream.id] = schema
            found += _schema_fields(stream, schema, loc)
            found += _records_options(stream, schema, loc)
    found += _child_context_fields(spec, schemas)
    found += _dynamic_streams(spec)
    logo_file, logo_problem = _logo(spec, base_dir)
    if logo_problem:
        found.append((("logo",), logo_problem))
    return found, Checked(schemas=schemas, logo_file=logo_file)


LOGO_SUFFIXES = (".png", ".svg", ".jpg", ".jpeg", ".gif", ".webp")
_MAX_LOGO_BYTES = 1_000_000


def _logo(spec: Spec, base_dir: Path) -> tuple[tuple[bytes, str] | None, str | None]:
    """Read a local logo file; URLs are used as they are."""
    logo = spec.logo
    if not logo or re.match(r"^https?://", logo):
        return None, None
    path = base_dir / logo
    suffix = path.suffix.lower()
    if suffix not in LOGO_SUFFIXES:
        return (
            None,
            f"a logo is an http(s) URL or an image file ({', '.join(LOGO_SUFFIXES)})",
        )
    from tap_builder.spec.files import SpecFileError, read_spec_file

    try:
        data = read_spec_file(base_dir, logo, field="logo", max_bytes=_MAX_LOGO_BYTES)
    except SpecFileError as exc:
        return None, str(exc)
    return (data, suffix), None


# -- ids and parameters ------------------------------------------------------ #


# -- headers and hosts ------------------------------------------------------- #

#: Control characters (C0 but tab, DEL, C1): a CR or LF would end a header line.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def header_value_problem(value: object) -> str | None:
    """Why ``value`` (spec text) cannot be sent in a header, or None."""
    if not isinstance(value, str) or not (match := _CONTROL.search(value)):
        return None
    return (
        f"a header value cannot hold control characters ({match.group()!r} at "
        f"character {match.start()}): a line break would end the header and "
        "start another; remove it (a tab is the only one allowed)"
    )


def _header_text(spec: Spec) -> Iterator[tuple[Loc, object]]:
    """Spec text that becomes (part of) a request header's value."""
    auth = spec.authentication
    for loc, text in AUTHENTICATORS[auth.type].header_text(auth):
        yield ("authentication", *loc), text
    for index, stream in enumerate(spec.streams):
        for header, text in stream.headers.items():
            yield ("streams", index, "headers", header), text


def _header_values(spec: Spec) -> Iterator[Found]:
    for loc, value in _header_text(spec):
        if problem := header_value_problem(value):
            yield loc, problem


def _allowed_hosts(spec: Spec) -> Iterator[Found]:
    first: dict[str, int] = {}
    for index, host in enumerate(spec.allowed_hosts):
        if host in first:
            yield (
                ("allowed_hosts", index),
                f"duplicate host {host!r} (allowed_hosts[{first[host]}] has it)",
            )
        first.setdefault(host, index)


def _unique_ids(spec: Spec) -> Iterator[Found]:
    first: dict[str, int] = {}
    for index, stream in enumerate(spec.streams):
        if stream.id in first:
            where = f"streams[{first[stream.id]}]"
            msg = f"duplicate stream id {stream.id!r} ({where} has it)"
            yield ("streams", index, "id"), msg
        first.setdefault(stream.id, index)


def _parameters(spec: Spec) -> Iterator[Found]:
    first: dict[str, int] = {}
    for index, parameter in enumerate(spec.parameters):
        loc: Loc = ("parameters", index)
        if parameter.name in BUILTIN_SETTINGS:
            msg = (
                f"{parameter.name!r} is a built-in setting of every generated tap; "
                "remove it from parameters"
            )
            yield (*loc, "name"), msg
        elif parameter.name in first:
            where = f"parameters[{first[parameter.name]}]"
            msg = f"duplicate parameter {parameter.name!r} ({where} has it)"
            yield (*loc, "name"), msg
        first.setdefault(parameter.name, index)
        default = parameter.default
        if parameter.secret and default is not None:
            yield (*loc, "default"), _PUBLISHED_DEFAULT
        allowed = DEFAULT_TYPES[parameter.type]
        wrong_bool = isinstance(default, bool) and bool not in allowed
        if default is not None and (wrong_bool or not isinstance(default, allowed)):
            article = "an" if parameter.type[0] in "aeiou" else "a"
            yield (*loc, "default"), f"{default!r} is not {article} {parameter.type}"
        elif (
            parameter.type == "date-time"
            and isinstance(default, str)
            and not _is_iso_datetime(default)
        ):
            msg = f"{default!r} is not an ISO-8601 date-time with a time zone"
            yield (*loc, "default"), f"{msg} (e.g. 2024-01-01T00:00:00Z)"


_PUBLISHED_DEFAULT = (
    "a secret parameter cannot have a default: the default would be written "
    "into the generated tap's files (tap.py, README.md, meltano.yml) for anyone "
    "to read; remove it and put the value in the tap's config (use required: "
    "false if the setting is optional)"
)


def _is_iso_datetime(text: str) -> bool:
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return False
    return parsed.tzinfo is not None


# -- variables --------------------------------------------------------------- #


def _templated_fields(spec: Spec) -> Iterator[tuple[Loc, object, Stream | None]]:
    """Every field that may hold variables, with its stream (None: tap level)."""
    yield ("base_url",), spec.base_url, None
    auth = spec.authentication.model_dump(exclude={"type"})
    for key, value in auth.items():
        yield ("authentication", key), value, None
    for index, stream in enumerate(spec.streams):
        yield from _stream_templated_fields(stream, ("streams", index))


def _stream_templated_fields(
    stream: Stream, loc: Loc
) -> Iterator[tuple[Loc, object, Stream | None]]:
    yield (*loc, "path"), stream.path, stream
    if stream.incremental and stream.incremental.initial_path is not None:
        where = (*loc, "incremental", "initial_path")
        yield where, stream.incremental.initial_path, stream
    for group in ("query_params", "headers"):
        for key, value in getattr(stream, group).items():
            yield (*loc, group, key), value, stream
    if stream.body is not None:
        yield (*loc, "body"), stream.body, stream
    for key, value in stream.add_fields.items():
        yield (*loc, "add_fields", key), value, stream
    if stream.graphql is not None:  # never the query: its braces are GraphQL's
        for key, value in stream.graphql.variables.items():
            yield (*loc, "graphql", "variables", key), value, stream
    if stream.for_each is not None and stream.for_each.path is not None:
        # the discovery request comes before any item: config variables only
        yield (*loc, "for_each", "path"), stream.for_each.path, None


def _variables(spec: Spec, *, declared_known: bool = True) -> Iterator[Found]:
    declared = {p.name for p in spec.parameters} | {"api_url"}
    if spec.has_incremental:
        declared.add("start_date")
    for loc, value, stream in _templated_fields(spec):
        try:
            found = list(variables_in(value))
        except TemplateError as exc:
            yield loc, str(exc)
            continue
        for variable in found:
            if declared_known or variable.name in declared or not variable.from_config:
                problem = _variable_problem(variable, spec, stream, declared, loc)
            else:  # maybe a parameter that failed validation
                problem = _api_url_problem(variable, loc)
            if problem:
                yield loc, problem


def _api_url_problem(variable: Variable, loc: Loc) -> str | None:
    if variable.from_config and variable.name == "api_url" and loc == ("base_url",):
        return "base_url cannot refer to {config.api_url}: api_url replaces it"
    return None


def _variable_problem(
    variable: Variable,
    spec: Spec,
    stream: Stream | None,
    declared: set[str],
    loc: Loc,
) -> str | None:
    if variable.from_config:
        if problem := _api_url_problem(variable, loc):
            return problem
        if variable.name not in declared:
            names = ", ".join(sorted(declared))
            if variable.name == "start_date":
                return (
                    "{config.start_date} exists only in taps with an incremental "
                    "stream; declare a parameter of your own instead"
                )
            return f"{variable} refers to an undeclared parameter. Declared: {names}"
        return None
    if variable.name == "item" or variable.name.startswith("item."):
        if stream is not None and stream.for_each is not None:
            return None
        return (
            f"{variable} is an item variable: it exists only in streams with "
            "for_each (dynamic streams)"
        )
    if stream is None or stream.parent_stream is None:
        where = (
            "this stream has no parent_stream"
            if stream
            else "only child streams have them"
        )
        return (
            f"{variable} is a parent-context variable, but {where}; "
            f"did you mean {{config.{variable.name}}}?"
        )
    parent = spec.stream(stream.parent_stream)
    if parent is not None and variable.name not in parent.child_context:
        keys = ", ".join(parent.child_context) or "none"
        return (
            f"{variable} is not provided by the child_context of parent "
            f"{parent.id!r} (it provides: {keys})"
        )
    return None


# -- parents ------------------------------------------------------------------ #


def _parents(spec: Spec) -> Iterator[Found]:
    ids = {stream.id for stream in spec.streams}
    for index, stream in enumerate(spec.streams):
        loc: Loc = ("streams", index, "parent_stream")
        parent_id = stream.parent_stream
        if parent_id is None:
            continue
        if parent_id == stream.id:
            yield loc, "a stream cannot be its own parent"
        elif parent_id not in ids:
            yield (
                loc,
                f"no stream has id {parent_id!r}. Stream ids: {', '.join(sorted(ids))}",
            )
        elif _in_cycle(spec, stream):
            yield loc, f"parent_stream links form a cycle through {stream.id!r}"
        elif not (parent := spec.stream(parent_id)) or not parent.child_context:
            yield (
                loc,
                (
                    f"parent {parent_id!r} has no child_context: add one that maps "
                    "context keys to its record fields"
                ),
            )


def _in_cycle(spec: Spec, stream: Stream) -> bool:
    seen = {stream.id}
    current: Stream | None = stream
    while current is not None and current.parent_stream is not None:
        if current.parent_stream == stream.id:
            return True
        if current.parent_stream in seen:
            return False  # a cycle further up, reported on its own streams
        seen.add(current.parent_stream)
        current = spec.stream(current.parent_stream)
    return False


def _child_context_fields(
    spec: Spec, schemas: dict[str, dict[str, t.Any]]
) -> Iterator[Found]:
    for index, stream in enumerate(spec.streams):
        properties = dict(schemas.get(stream.id, {}).get("properties", {}))
        parent = spec.stream(stream.parent_stream) if stream.parent_stream else None
        if parent is not None:  # a child's records also carry its context keys
            properties.update({key: {} for key in parent.child_context})
        for key, source in stream.child_context.items():
            loc: Loc = ("streams", index, "child_context", key)
            if source.startswith("$"):
                if problem := jsonpath_problem(source):
                    yield loc, problem
            elif stream.id in schemas and source not in properties:
                yield loc, _not_in_schema(source, properties)


# -- dynamic streams ------------------------------------------------------------ #


def _dynamic_streams(spec: Spec) -> Iterator[Found]:
    lists = {p.name for p in spec.parameters if p.type == "list"}
    for index, stream in enumerate(spec.streams):
        for_each = stream.for_each
        if for_each is None:
            continue
        where: Loc = ("streams", index, "for_each")
        if (for_each.config is None) == (for_each.path is None):
            yield (
                where,
                "give exactly one of config (a list setting) or path (an endpoint)",
            )
        if for_each.config is not None and for_each.config not in lists:
            names = ", ".join(sorted(lists)) or "none"
            yield (
                (*where, "config"),
                f"{for_each.config!r} is not a parameter of type: list (list "
                f"parameters: {names})",
            )
        if problem := jsonpath_problem(for_each.records_selector):
            yield (*where, "records_selector"), problem
        yield from _dynamic_stream_id(for_each.stream_id, (*where, "stream_id"))
        if stream.parent_stream is not None or stream.child_context:
            yield (
                where,
                "a stream with for_each cannot be a parent or a child stream",
            )
        if any(s.parent_stream == stream.id for s in spec.streams):
            yield where, "a stream with for_each cannot be a parent stream"


def _dynamic_stream_id(template: str, where: Loc) -> Iterator[Found]:
    try:
        found = list(variables_in(template))
    except TemplateError as exc:
        yield where, str(exc)
        return
    items = [v for v in found if v.name == "item" or v.name.startswith("item.")]
    if not items:
        yield (
            where,
            "needs an item variable ({item} or {item.NAME}), so that each stream "
            "gets its own id",
        )
    for variable in found:
        if variable not in items:
            yield where, f"{variable}: a stream id holds item variables only"


# -- streams ------------------------------------------------------------------ #


def _stream_shape(stream: Stream, loc: Loc) -> Iterator[Found]:
    if problem := jsonpath_problem(stream.records_selector):
        yield (*loc, "records_selector"), problem
    if stream.body is not None and stream.method != "POST":
        yield (*loc, "body"), "a body is only sent with method: POST"
    for name in stream.headers:
        if problem := header_name_problem(name):
            yield (*loc, "headers", name), problem
    pagination = stream.pagination
    if pagination is not None:
        where = (*loc, "pagination")
        yield from PAGINATORS[pagination.type].problems(pagination, where)
        if getattr(pagination, "location", None) == "body" and stream.method != "POST":
            yield (*where, "location"), "location: body needs method: POST"
    incremental = stream.incremental
    if incremental and incremental.location == "header":
        for key in ("param_name", "end_param"):
            name = getattr(incremental, key)
            if name is not None and (problem := header_name_problem(name)):
                yield (*loc, "incremental", key), problem


ISO_DURATION = re.compile(
    r"^P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)
_DURATION_SECONDS = {
    "weeks": 604800,
    "days": 86400,
    "hours": 3600,
    "minutes": 60,
    "seconds": 1,
}


#: The longest duration (lookback, window) a spec may give: 36,500 days.
MAX_DURATION_DAYS = 36_500
MAX_DURATION_SECONDS = MAX_DURATION_DAYS * 86400


def _duration_parts(text: str) -> dict[str, str] | None:
    match = ISO_DURATION.match(text)
    if match is None or text in {"P", "PT"} or text.endswith("T"):
        return None
    return {k: v for k, v in match.groupdict().items() if v}


def duration_seconds(text: str) -> int | None:
    """``P1D`` -> 86400, ``PT6H30M`` -> 23400; None if not an ISO-8601 duration.

    None too for numbers of more than 15 digits (far beyond
    :data:`MAX_DURATION_SECONDS`, which validated specs keep to).
    """
    parts = _duration_parts(text)
    if parts is None or any(len(v) > 15 for v in parts.values()):
        return None
    return sum(int(v) * _DURATION_SECONDS[k] for k, v in parts.items())


def duration_problem(text: str, example: str, *, positive: bool = False) -> str | None:
    """Why ``text`` is not a usable duration (``example`` shows good ones)."""
    kind = "a positive ISO-8601 duration" if positive else "an ISO-8601 duration"
    if _duration_parts(text) is None:
        return f"{brief(text)} is not {kind} ({example})"
    seconds = duration_seconds(text)
    if seconds is None or seconds > MAX_DURATION_SECONDS:
        return (
            f"{brief(text)} is longer than {MAX_DURATION_DAYS:,} days (about 100 "
            f"years); give a shorter duration ({example})"
        )
    if positive and seconds == 0:
        return f"{brief(text)} is not {kind} ({example})"
    return None


def _incremental_options(stream: Stream, loc: Loc) -> Iterator[Found]:
    incremental = stream.incremental
    if stream.sync_children == "changed" and incremental is None:
        yield (
            (*loc, "sync_children"),
            ("changed needs an incremental parent (its bookmark tells what changed)"),
        )
    if incremental is None:
        return
    where: Loc = (*loc, "incremental")
    if incremental.state == "global" and stream.parent_stream is None:
        yield (
            (*where, "state"),
            "state: global is for child streams (with parent_stream)",
        )
    if incremental.param_name is None and not incremental.client_filter:
        yield (
            (*where, "param_name"),
            (
                "required, unless client_filter: true (the tap then filters records "
                "itself)"
            ),
        )
    if incremental.lookback is not None and (
        problem := duration_problem(incremental.lookback, "e.g. P1D, PT6H, P1DT12H")
    ):
        yield (*where, "lookback"), problem
    if (incremental.window is None) != (incremental.end_param is None):
        missing = "end_param" if incremental.end_param is None else "window"
        yield (
            (*where, missing),
            "window and end_param go together: give both or neither",
        )
    if incremental.window is not None and (
        problem := duration_problem(
            incremental.window, "e.g. P7D, PT12H", positive=True
        )
    ):
        yield (*where, "window"), problem
    if incremental.window is not None and incremental.param_name is None:
        yield (*where, "param_name"), "a window needs param_name for its start"
    fmt = incremental.replication_key_format
    if fmt is not None and "%" not in fmt:
        yield (
            (*where, "replication_key_format"),
            (f"{fmt!r} is not a strptime format (e.g. '%d/%m/%Y %H:%M')"),
        )
    yield from _incremental_cases(stream, where)


_KEY_PART = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
#: Options about dates, which a sequence (integer) cursor does not have.
_DATE_OPTIONS = ("date_format", "lookback", "replication_key_format", "window")


def _incremental_cases(stream: Stream, where: Loc) -> Iterator[Found]:
    """Nested keys, sequences, a first sync elsewhere, capped page depth."""
    incremental = stream.incremental
    assert incremental is not None  # noqa: S101 - checked by the caller
    path = incremental.key_path
    if path is not None and not all(_KEY_PART.match(part) for part in path):
        yield (
            (*where, "replication_key"),
            f"{brief(incremental.replication_key)} is not a path of field names "
            "(e.g. properties.updated_at or $.properties.updated_at)",
        )
    if path is None and incremental.replication_key_field is not None:
        yield (
            (*where, "replication_key_field"),
            "only for a nested replication_key (e.g. properties.updated_at)",
        )
    if incremental.send_next and not incremental.sequence:
        yield (*where, "send_next"), "send_next is for sequence: true cursors"
    if incremental.sequence:
        for key in _DATE_OPTIONS:
            if key in incremental.model_fields_set:
                yield (
                    (*where, key),
                    f"a sequence cursor is an integer, not a date: remove {key}",
                )
    yield from _first_sync_and_depth(stream, where)


def _first_sync_and_depth(stream: Stream, where: Loc) -> Iterator[Found]:
    """initial_path (a first sync elsewhere) and max_pages_per_query."""
    incremental = stream.incremental
    assert incremental is not None  # noqa: S101 - checked by the caller
    if incremental.initial_path is None:
        if incremental.initial_records_selector is not None:
            yield (
                (*where, "initial_records_selector"),
                "only with initial_path (the first sync's endpoint)",
            )
    elif incremental.window is not None:
        yield (
            (*where, "initial_path"),
            "initial_path and window do not go together (the first sync reads "
            "everything at once)",
        )
    if incremental.initial_records_selector is not None and (
        problem := jsonpath_problem(incremental.initial_records_selector)
    ):
        yield (*where, "initial_records_selector"), problem
    if incremental.max_pages_per_query is not None:
        if not incremental.sorted:
            yield (
                (*where, "max_pages_per_query"),
                "needs sorted: true (the next query starts from the last value seen)",
            )
        if stream.pagination is None:
            yield (
                (*where, "max_pages_per_query"),
                "needs pagination (one page per query is never capped)",
            )
        if incremental.window is not None or incremental.param_name is None:
            yield (
                (*where, "max_pages_per_query"),
                "needs param_name and no window (each new query is filtered from "
                "the last value)",
            )


def _records_options(
    stream: Stream, schema: dict[str, t.Any], loc: Loc
) -> Iterator[Found]:
    properties: dict[str, t.Any] = schema["properties"]
    for index, condition in enumerate(stream.record_filter):
        where: Loc = (*loc, "record_filter", index)
        top = condition.field.split(".")[0]
        if top not in properties and top not in stream.add_fields:
            yield (*where, "field"), _not_in_schema(top, properties)
        is_list = isinstance(condition.value, list)
        if condition.op in {"in", "not_in"} and not is_list:
            yield (*where, "value"), f"op {condition.op} needs a list of values"
        elif condition.op not in {"in", "not_in"} and is_list:
            yield (
                (*where, "value"),
                f"op {condition.op!r} compares with one value, not a list",
            )
    yield from _removals_and_rules(stream, properties, loc)


def _removals_and_rules(
    stream: Stream, properties: dict[str, t.Any], loc: Loc
) -> Iterator[Found]:
    keys = set(stream.primary_key)
    if stream.incremental:
        keys.add(stream.incremental.key_field)
    for index, field in enumerate(stream.remove_fields):
        if field not in properties:
            yield (*loc, "remove_fields", index), _not_in_schema(field, properties)
        elif field in keys:
            yield (
                (*loc, "remove_fields", index),
                (f"{field!r} is a primary or replication key; it cannot be removed"),
            )
    for index, rule in enumerate(stream.error_handling):
        where = (*loc, "error_handling", index)
        if any(not 400 <= status <= 599 for status in rule.statuses):
            yield (*where, "status"), "statuses are HTTP errors, 400 to 599"
        if rule.body_path and (problem := jsonpath_problem(rule.body_path)):
            yield (*where, "body_path"), problem


def _incremental_complete(stream: Stream, loc: Loc) -> Iterator[Found]:
    incremental = stream.incremental
    if incremental and incremental.state_every is not None and not incremental.sorted:
        yield (
            (*loc, "incremental", "state_every"),
            (
                "only sorted streams save state as they go: add sorted: true "
                "(if the API returns records in replication-key order)"
            ),
        )


def _concurrency(spec: Spec, stream: Stream, loc: Loc) -> Iterator[Found]:
    """A stream's ``concurrency`` stays within the tap's ``max_concurrency``."""
    limit, wanted = spec.max_concurrency, stream.concurrency
    if wanted is not None and limit is not None and wanted > limit:
        yield (
            (*loc, "concurrency"),
            f"{wanted} is more than max_concurrency ({limit}), the "
            "requests in flight for the whole tap: lower it or raise max_concurrency",
        )


def _parallel_streams(spec: Spec) -> Iterator[Found]:
    """``parallel_streams`` above 1 needs two top-level streams to run at once."""
    wanted = spec.parallel_streams or 1
    top = sum(1 for stream in spec.streams if stream.parent_stream is None)
    if wanted > 1 and top < 2:
        yield (
            ("parallel_streams",),
            f"{wanted} needs at least two top-level streams to sync at once; this "
            f"spec has {top}: remove the key or set it to 1",
        )


def _load_schema(
    stream: Stream, loc: Loc, base_dir: Path
) -> tuple[dict[str, t.Any] | None, list[Found]]:
    if (stream.json_schema is None) == (stream.schema_file is None):
        which = (
            "both are given" if stream.json_schema is not None else "neither is given"
        )
        return None, [(loc, f"give exactly one of schema or schema_file ({which})")]
    if stream.json_schema is not None:
        schema, where = stream.json_schema, (*loc, "schema")
    else:
        where = (*loc, "schema_file")
        try:
            loaded, problem = _read_schema_file(base_dir, str(stream.schema_file))
        except RecursionError:  # a JSON file nested thousands deep
            loaded, problem = None, f"nested deeper than {MAX_DEPTH} levels"
        if loaded is not None:
            problem = _file_values_problem(loaded)
        if loaded is None or problem:
            return None, [(where, problem)]
        schema = loaded
    if schema_problem := _schema_problem(schema):
        return None, [(where, schema_problem)]
    if booleans := list(_boolean_schemas(schema, ())):
        if stream.json_schema is not None:
            return None, [((*where, *sub), message) for sub, message in booleans]
        return None, [
            (where, f"at {'/'.join(map(str, sub))}: {message}")
            for sub, message in booleans
        ]
    return schema, []


def _file_values_problem(data: object) -> str:
    """Why a schema file's data is not plain, bounded JSON ('' when it is)."""
    if depth_of(data) > MAX_DEPTH:
        return f"nested deeper than {MAX_DEPTH} levels"
    for sub, message in value_problems(data)[:1]:
        return f"at {'/'.join(map(str, sub)) or '(root)'}: {message}"
    return ""


#: Keywords whose value is one subschema, a list of them, or a mapping of them.
_ONE_SCHEMA = ("items", "contains", "propertyNames", "not", "if", "then", "else")
_SCHEMA_LISTS = ("items", "anyOf", "oneOf", "allOf")
_SCHEMA_MAPS = ("properties", "patternProperties", "definitions", "$defs")


def _boolean_schemas(schema: object, loc: Loc) -> Iterator[Found]:
    """Where a subschema is ``true``/``false``, which generated taps cannot use.

    Only ``additionalProperties``/``additionalItems`` (flags more than schemas)
    may be booleans.
    """
    if not isinstance(schema, dict):
        return
    children: list[tuple[Loc, object]] = []
    for key in _ONE_SCHEMA:
        if key in schema and not isinstance(schema[key], list):
            children.append(((*loc, key), schema[key]))
    for key in _SCHEMA_LISTS:
        if isinstance(schema.get(key), list):
            children += [((*loc, key, i), sub) for i, sub in enumerate(schema[key])]
    for key in _SCHEMA_MAPS:
        if isinstance(schema.get(key), dict):
            children += [((*loc, key, name), sub) for name, sub in schema[key].items()]
    for where, sub in children:
        if isinstance(sub, bool):
            yield where, _boolean_schema_message(sub, where)
        else:
            yield from _boolean_schemas(sub, where)


def _boolean_schema_message(value: bool, where: Loc) -> str:
    if value:
        return "true as a schema is not supported; write {} to allow any value"
    if len(where) >= 2 and where[-2] == "properties":
        return (
            "false as a schema is not supported; remove the property (records "
            "never hold it)"
        )
    return "false as a schema is not supported; write {not: {}} to allow no value"


def _read_schema_file(base_dir: Path, name: str) -> tuple[dict[str, t.Any] | None, str]:
    from tap_builder.spec import files

    try:
        raw = files.read_spec_file(
            base_dir, name, field="schema_file", max_bytes=files.MAX_SCHEMA_FILE_BYTES
        )
    except files.SpecFileError as exc:
        return None, str(exc)
    path = (base_dir / name).resolve()
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return None, f"cannot read {path}: {exc}"
    except json.JSONDecodeError as exc:
        return None, f"{path} is not JSON: {exc.msg} (line {exc.lineno})"
    if not isinstance(data, dict):
        return None, f"{path} holds a {type(data).__name__}, not a JSON Schema object"
    return data, ""


def _schema_problem(schema: dict[str, t.Any]) -> str | None:
    types = schema.get("type")
    is_object = types == "object" or (isinstance(types, list) and "object" in types)
    if not is_object or not isinstance(schema.get("properties"), dict):
        return "a record schema must have type: object and a properties mapping"
    return _metaschema_problem(json.dumps(schema, sort_keys=True))


@lru_cache(maxsize=512)
def _metaschema_problem(schema_json: str) -> str | None:
    """Check a schema against the draft-07 metaschema, the dialect Singer uses.

    Cached by the schema's text: specs often share one schema file.
    """
    error = best_match(_METASCHEMA.iter_errors(json.loads(schema_json)))
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "(root)"
    return f"not a valid JSON Schema at {where}: {error.message}"


_METASCHEMA = Draft7Validator(Draft7Validator.META_SCHEMA)


def _not_in_schema(field: str, properties: dict[str, t.Any]) -> str:
    names = ", ".join(properties) or "none"
    return f"{field!r} is not a property of the schema (properties: {names})"


def _schema_fields(
    stream: Stream, schema: dict[str, t.Any], loc: Loc
) -> Iterator[Found]:
    properties: dict[str, t.Any] = schema["properties"]
    for index, field in enumerate(stream.primary_key):
        if field not in properties:
            yield (*loc, "primary_key", index), _not_in_schema(field, properties)
    if stream.incremental is not None:
        yield from _replication_key_field(stream.incremental, schema, loc)


def _replication_key_field(
    incremental: Incremental, schema: dict[str, t.Any], loc: Loc
) -> Iterator[Found]:
    properties: dict[str, t.Any] = schema["properties"]
    key = incremental.replication_key
    where = (*loc, "incremental", "replication_key")
    path = incremental.key_path
    prop = properties.get(key) if path is None else nested_property(schema, path)
    if path is not None and incremental.key_field in properties:
        yield (
            (*loc, "incremental", "replication_key_field"),
            f"{incremental.key_field!r} is already a property of the schema; name "
            "another top-level field for the nested value with replication_key_field",
        )
    if prop is None:
        if path is None:
            yield where, _not_in_schema(key, properties)
        elif all(_KEY_PART.match(part) for part in path):  # else: reported already
            yield where, f"{key!r} is not a nested property of the schema"
    elif incremental.sequence:
        if "integer" not in schema_types(prop):
            yield (
                where,
                f"{key!r} must be declared as type: integer for a sequence cursor",
            )
    elif not is_datetime(prop) and not is_number(prop):
        yield (
            where,
            (
                f"{key!r} must be declared as a date-time string "
                "({type: string, format: date-time}) "
                "or a Unix timestamp (type: integer)"
            ),
        )


def nested_property(
    schema: dict[str, t.Any], path: tuple[str, ...]
) -> dict[str, t.Any] | None:
    """The schema of the nested field at ``path`` (None: not declared)."""
    node: object = schema
    for part in path:
        properties = node.get("properties") if isinstance(node, dict) else None
        node = properties.get(part) if isinstance(properties, dict) else None
    return node if isinstance(node, dict) else None


def schema_types(prop: dict[str, t.Any]) -> set[str]:
    """The JSON types a property schema allows."""
    types = prop.get("type", [])
    found = {types} if isinstance(types, str) else set(types)
    for option in prop.get("anyOf", []) + prop.get("oneOf", []):
        found |= schema_types(option)
    return found


def is_datetime(prop: dict[str, t.Any]) -> bool:
    """Whether a property is a date-time (or date) string."""
    formats = {prop.get("format")} | {o.get("format") for o in prop.get("anyOf", [])}
    return "string" in schema_types(prop) and bool(formats & {"date-time", "date"})


def is_number(prop: dict[str, t.Any]) -> bool:
    """Whether a property is an integer or number (a Unix timestamp key)."""
    return bool(schema_types(prop) & {"integer", "number"})
