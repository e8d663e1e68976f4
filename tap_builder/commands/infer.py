"""Infer a record JSON Schema from sample data.

genson merges every record (optional fields, nullable types, integer widened to
number, nested objects and arrays); on top of it this module detects string
formats that hold for every non-null sample and shapes the result the way Singer
targets expect (``{"type": ["string", "null"], "format": "date-time"}``).
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import re
import typing as t
from dataclasses import dataclass
from pathlib import Path

from genson import SchemaBuilder
from genson.schema.strategies import String
from singer_sdk.helpers.jsonpath import extract_jsonpath

from tap_builder.spec.fields import jsonpath_problem

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence


class SampleError(ValueError):
    """The sample cannot be read as records."""


def _is_datetime(text: str) -> bool:
    if not re.match(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", text):
        return False
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return False
    return parsed.tzinfo is not None  # RFC 3339, as JSON Schema's format checker wants


def _is_date(text: str) -> bool:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return False
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _is_email(text: str) -> bool:
    return re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", text) is not None


def _is_uri(text: str) -> bool:
    return re.fullmatch(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s]+", text) is not None


#: Formats checked on every string, most specific first.
FORMATS: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("date-time", _is_datetime),
    ("date", _is_date),
    ("email", _is_email),
    ("uri", _is_uri),
)


class _FormattedString(String):  # type: ignore[misc]
    """genson's string strategy, plus the formats every sample fits."""

    def __init__(self, node_class: type) -> None:
        super().__init__(node_class)
        self._formats: set[str] | None = None

    def add_object(self, obj: str) -> None:
        super().add_object(obj)
        fits = {name for name, test in FORMATS if test(obj)}
        self._formats = fits if self._formats is None else self._formats & fits

    def to_schema(self) -> dict[str, t.Any]:
        schema: dict[str, t.Any] = super().to_schema()
        for name, _ in FORMATS:
            if self._formats and name in self._formats:
                schema["format"] = name
                break
        return schema


class _Builder(SchemaBuilder):  # type: ignore[misc]
    STRATEGIES = tuple(
        _FormattedString if strategy is String else strategy
        for strategy in SchemaBuilder.STRATEGIES
    )


def _merge_nullable(schema: t.Any) -> t.Any:  # noqa: ANN401
    """Fold ``anyOf: [{type: null}, {type: string, ...}]`` into one type list."""
    if isinstance(schema, list):
        return [_merge_nullable(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    schema = {key: _merge_nullable(value) for key, value in schema.items()}
    options = schema.get("anyOf")
    if isinstance(options, list) and {"type": "null"} in options:
        rest = [o for o in options if o != {"type": "null"}]
        if len(rest) == 1 and isinstance(rest[0].get("type"), str):
            merged = {k: v for k, v in schema.items() if k != "anyOf"}
            merged.update(rest[0])
            merged["type"] = [rest[0]["type"], "null"]
            return merged
    types = schema.get("type")
    if isinstance(types, list) and "null" in types:
        schema["type"] = [*(x for x in types if x != "null"), "null"]
    return schema


def _plain(value: object) -> object:
    """Decimals (how taps parse JSON numbers with a point) become floats."""
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def infer_schema(records: Iterable[object]) -> dict[str, t.Any]:
    """A JSON Schema that every record in ``records`` validates against.

    Raises:
        SampleError: when there are no records or a record is not an object.
    """
    builder = _Builder(schema_uri=None)
    count = 0
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            msg = f"record {index} is a {type(record).__name__}, not an object"
            raise SampleError(msg)
        builder.add_object(_plain(record))
        count += 1
    if count == 0:
        msg = "the sample holds no records"
        raise SampleError(msg)
    schema: dict[str, t.Any] = _sorted(_merge_nullable(builder.to_schema()))
    return schema


def _sorted(schema: t.Any) -> t.Any:  # noqa: ANN401
    """Stable output: ``properties`` by name, ``required`` and ``anyOf`` sorted."""
    if isinstance(schema, list):
        return [_sorted(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: _sorted(value) for key, value in schema.items()}
    if isinstance(out.get("properties"), dict):
        out["properties"] = dict(sorted(out["properties"].items()))
    if isinstance(out.get("required"), list):
        out["required"] = sorted(out["required"])
    if isinstance(out.get("anyOf"), list):  # genson keeps first-seen order
        out["anyOf"] = sorted(out["anyOf"], key=lambda s: json.dumps(s, sort_keys=True))
    return out


def records_from_sample(data: object, selector: str | None = None) -> list[object]:
    """The records of a sample: one record, a list of records, or a response.

    Raises:
        SampleError: when the selector is invalid or matches nothing.
    """
    if selector is not None:
        if problem := jsonpath_problem(selector):
            raise SampleError(problem)
        found = list(extract_jsonpath(selector, input=data))  # type: ignore[arg-type]
        if not found:
            keys = ", ".join(map(str, data)) if isinstance(data, dict) else "none"
            msg = f"selector {selector!r} matches nothing (top-level keys: {keys})"
            raise SampleError(msg)
        return found
    if isinstance(data, list):
        return data
    return [data]


def infer_schema_from_file(path: Path, selector: str | None = None) -> dict[str, t.Any]:
    """Read a JSON or JSON Lines sample file and infer its record schema.

    Raises:
        SampleError: when the file cannot be read or holds no records.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"cannot read {path}: {exc}"
        raise SampleError(msg) from None
    try:
        data: object = json.loads(text)
    except json.JSONDecodeError:
        data = _json_lines(text, path)
    return infer_schema(records_from_sample(data, selector))


def _json_lines(text: str, path: Path) -> list[object]:
    records: list[object] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            msg = f"{path}:{number}: neither JSON nor JSON Lines ({exc.msg})"
            raise SampleError(msg) from None
    return records


# --------------------------------------------------------------------------- #
# What a live inference read
# --------------------------------------------------------------------------- #


class Request(t.Protocol):
    """One logged request of a live run (``preview.RequestEntry``)."""

    stream: str
    decision: str | None


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


@dataclass(frozen=True)
class LiveSample:
    """How much of the API a live inference read."""

    records: int
    pages: int
    #: The parent stream of a child stream, else None.
    parent_stream: str | None = None
    #: Parent records the child stream was read for.
    parents: int = 0

    @classmethod
    def of(
        cls,
        stream: str,
        records: int,
        requests: Sequence[Request],
        parent_stream: str | None = None,
    ) -> LiveSample:
        """Count the pages of ``stream`` and, for a child, its parent records.

        A child stream is read once per parent record, each run starting a new
        series of pages: a request starts one unless the request before it
        (of the same stream) decided to fetch a next page.
        """
        own = [
            getattr(entry, "decision", None) or ""  # none: the run's last request
            for entry in requests
            if entry.stream == stream
        ]
        runs = sum(
            1
            for index in range(len(own))
            if index == 0 or not own[index - 1].startswith("next page")
        )
        return cls(records, len(own), parent_stream, runs if parent_stream else 0)

    def summary(self) -> str:
        """``inferred from 37 records on 5 pages (3 parent records of 'tickets')``."""
        text = (
            f"inferred from {_plural(self.records, 'record')} "
            f"on {_plural(self.pages, 'page')}"
        )
        if self.parent_stream is not None:
            parents = _plural(self.parents, "parent record")
            text += f" ({parents} of {self.parent_stream!r})"
        return text
