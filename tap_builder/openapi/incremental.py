"""Incremental candidates: a lower-bound time filter paired with a record field.

A filter is a query or header parameter that names a lower bound (``since``,
``updated_since``, ``modified_after``, ``created[gte]``, ``updated_at_min``,
``StartTime>``, ``start_time``, ``from`` ...) and holds a time: ``format:
date-time``/``date``, a Unix timestamp (an integer or number described as one, or
named ``*_time``), or an example value. Its record field is the one the name
points at (``updated_since`` -> ``updated_at``, ``DateSent>`` -> ``date_sent``),
else ``updated_at``-like, else the only date-time field. The value format comes
from the parameter's schema, or from its example (``2024-01-31 13:45:00`` ->
``%Y-%m-%d %H:%M:%S``).
"""

from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass

from tap_builder.openapi.model import Why, normal, snake

if t.TYPE_CHECKING:
    from tap_builder.openapi.document import Operation, Param
    from tap_builder.openapi.schemas import Schemas

JSON = t.Any

#: A lower bound written as a comparator: ``created[gte]``, ``StartTime>``.
_LOWER_MARK = re.compile(r"\[(gte|gt|after|since|from|min|start)\]$|>=?$", re.I)
_UPPER_MARK = re.compile(r"\[(lte|lt|before|until|to|max|end)\]$|<=?$", re.I)
#: A lower bound written as a word of the (snake-cased) name.
_LOWER_WORD = re.compile(r"(^|_)(since|after|min|gte|gt)$|^(since|after|min)(_|$)")
_LOWER_START = re.compile(r"^(start|from|begin)(_|$)|(^|_)(start|from|begin)$")
_UPPER_WORD = re.compile(
    r"(^|_)(before|until|to|max|end|lte|lt)$|^(until|to|before|max|end)(_|$)"
)
_TIMEY = re.compile(
    r"date|time|_at$|since|updated|modified|created|changed|^from$", re.I
)
_UNIX = re.compile(r"\b(unix|epoch|timestamp|seconds since)\b", re.I)
_MILLIS = re.compile(r"\b(milli|ms\b)", re.I)
_PREFERRED = (
    "updated_at",
    "updated",
    "modified_at",
    "modified",
    "last_modified",
    "changed_at",
    "date_updated",
    "updated_time",
    "update_time",
)

#: strftime pieces recognised in example values, longest first.
_EXAMPLE_FORMATS = (
    (re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z"), "%Y-%m-%dT%H:%M:%SZ"),
    (
        re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:?\d{2}"),
        "%Y-%m-%dT%H:%M:%S%z",
    ),
    (re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}"), "%Y-%m-%dT%H:%M:%S"),
    (re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}"), "%Y-%m-%d %H:%M:%S"),
    (re.compile(r"\d{4}-\d{2}-\d{2}"), "%Y-%m-%d"),
)


@dataclass
class Filter:
    """An incremental candidate."""

    param: Param
    field: str
    date_format: str
    why: Why
    #: The record field is a Unix-time integer to declare as a date-time.
    as_date_time: bool = False


def _rank(param: Param) -> int | None:
    """How clearly a parameter is a lower bound (0 best), None if it is not one."""
    if param.location not in ("query", "header") or _UPPER_MARK.search(param.name):
        return None
    if _LOWER_MARK.search(param.name):
        return 0
    name = snake(param.name)
    if param.location == "header":
        name = name.removeprefix("x_")
    if _UPPER_WORD.search(name):
        return None
    if _LOWER_WORD.search(name):
        return 1
    if _LOWER_START.search(name):
        return 2
    return None


def detect_incremental(schemas: Schemas, op: Operation, item: JSON) -> Filter | None:
    """The operation's lower-bound time filter and its record field, if any."""
    fields = schemas.properties(item)
    ranked = sorted(
        (
            (rank, index, p)
            for index, p in enumerate(op.params)
            if (rank := _rank(p)) is not None
        ),
        key=lambda entry: entry[:2],
    )
    for _, _, param in ranked:
        timey = (
            param.schema.get("format") in ("date-time", "date")
            or _TIMEY.search(snake(param.name))
            or _UNIX.search(param.description)
        )
        date_format = _format(param) if timey else None
        if date_format is None:
            continue
        field = _field(param.name, fields, schemas)
        if field is None:
            continue
        return _filter(schemas, param, field, fields[field], date_format)
    return None


def _filter(
    schemas: Schemas, param: Param, field: str, schema: JSON, date_format: str
) -> Filter:
    kinds = schemas.types(schema) - {"null"}
    numeric = bool(kinds & {"integer", "number"})
    as_date_time = (numeric and _unix_time_field(schemas, schema)) or (
        not numeric and not _is_date(schemas, schema)
    )
    stem = normal(_stem(param.name))
    sure: t.Literal["sure", "likely"] = (
        "sure" if stem and normal(field).startswith(stem) else "likely"
    )
    why = Why(
        f"{param.origin} is a lower bound on a time ({date_format}); "
        f"it filters the record field {field}",
        sure,
    )
    return Filter(param, field, date_format, why, as_date_time)


def _stem(name: str) -> str:
    """The name without its comparator: ``updated_at[gte]`` -> ``updated_at``."""
    name = _LOWER_MARK.sub("", name)
    snaked = snake(name).removeprefix("x_")
    for pattern in (_LOWER_WORD, _LOWER_START):
        snaked = pattern.sub("", snaked)
    return snaked.strip("_")


def _is_date(schemas: Schemas, schema: JSON) -> bool:
    return any(
        v.get("format") in ("date-time", "date") for v in schemas.variants(schema)
    )


def _unix_time_field(schemas: Schemas, schema: JSON) -> bool:
    for variant in schemas.variants(schema):
        if str(variant.get("format", "")).lower() in (
            "unix-time",
            "unixtime",
            "timestamp",
        ):
            return True
    return False


def _format(param: Param) -> str | None:
    schema = param.schema
    fmt = str(schema.get("format") or "")
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    example = (
        param.example
        if param.example is not None
        else schema.get("example", schema.get("default"))
    )
    if fmt == "date-time" or fmt == "date":
        if isinstance(example, str) and (derived := example_format(example)):
            return derived
        return "%Y-%m-%dT%H:%M:%SZ" if fmt == "date-time" else "%Y-%m-%d"
    if "integer" in kinds or "number" in kinds:
        text = param.description + " " + fmt
        if _MILLIS.search(text) and _UNIX.search(text):
            return "timestamp_ms"
        if (
            _UNIX.search(text)
            or re.search(r"(_time|time)$", param.name, re.I)
            or fmt in ("unix-time", "int64-unix")
        ):
            return "timestamp"
        return None
    if isinstance(example, str):
        return example_format(example)
    if re.search(r"\bYYYY-MM-DD\b", param.description):
        return "%Y-%m-%d"
    return None


def example_format(example: str) -> str | None:
    """The strftime format an example value is written in, if recognised."""
    for pattern, fmt in _EXAMPLE_FORMATS:
        if pattern.fullmatch(example.strip()):
            return fmt
    return None


def _field(name: str, fields: dict[str, JSON], schemas: Schemas) -> str | None:  # noqa: C901 (candidates tried in order of preference)
    whole = snake(_LOWER_MARK.sub("", name)).removeprefix("x_")
    if whole in fields and _is_time(schemas, fields[whole], whole):
        return whole
    stem = _stem(name)
    timed = [f for f, s in fields.items() if _is_time(schemas, s, f)]
    if stem:
        for candidate in (
            stem,
            f"{stem}_at",
            f"{stem}_time",
            f"{stem}_date",
            f"date_{stem}",
            f"{stem}_on",
        ):
            if candidate in fields:
                return candidate
        loose = [f for f in timed if normal(f) == normal(stem)]
        if loose:
            return loose[0]
    for candidate in _PREFERRED:
        if candidate in fields:
            return candidate
    dated = [f for f in timed if _is_date(schemas, fields[f])]
    if len(dated) == 1:
        return dated[0]
    if len(timed) == 1:
        return timed[0]
    for candidate in ("created_at", "created", "timestamp", "date"):
        if candidate in fields:
            return candidate
    return None


def _is_time(schemas: Schemas, schema: JSON, name: str) -> bool:
    if _is_date(schemas, schema) or _unix_time_field(schemas, schema):
        return True
    kinds = schemas.types(schema) - {"null"}
    return (
        bool(kinds & {"integer", "number", "string"})
        and re.search(r"(_at|_time|_date|date|timestamp)$", name, re.I) is not None
    )
