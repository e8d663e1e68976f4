"""Text values (CSV cells, XML text) typed by the stream's JSON Schema.

CSV and XML carry only text; the schema says what each field is. The rules:

- ``integer``: an optional sign and digits -> int; ``number``: a decimal number
  (``1.5``, ``-2e3``) -> an exact Decimal (an integer when it has no fraction
  and the schema allows integers); ``boolean``: ``true``/``false``, ``1``/``0``,
  ``yes``/``no`` (any case) -> bool. Surrounding spaces are ignored.
- An empty text is null when the field may be null and is not a string.
- A value that fits none of the field's types stays text (``preview`` reports
  it as a schema mismatch).
- ``array`` fields: a single value becomes a one-item list (XML repeats an
  element for a list, and shows no list when there is one element); items are
  typed by ``items``. ``object`` fields with ``properties`` are typed inside.
"""

from __future__ import annotations

import decimal
import re
import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Mapping

Caster = t.Callable[[t.Any], t.Any]

_INTEGER = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})
#: Integers longer than this stay text (Python refuses very long conversions).
_MAX_DIGITS = 4300


def _types(prop: Mapping[str, t.Any]) -> tuple[str, ...]:
    types = prop.get("type", ())
    return (types,) if isinstance(types, str) else tuple(types)


def _integer(text: str) -> int | None:
    return int(text) if _INTEGER.fullmatch(text) and len(text) <= _MAX_DIGITS else None


def _number(text: str) -> decimal.Decimal | None:
    if not _NUMBER.fullmatch(text) or len(text) > _MAX_DIGITS:
        return None
    value = decimal.Decimal(text)
    return value if value.is_finite() else None


def _boolean(text: str) -> bool | None:
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    return False if lowered in _FALSE else None


_PARSERS: dict[str, t.Callable[[str], t.Any]] = {
    "integer": _integer,
    "number": _number,
    "boolean": _boolean,
}


def _scalar_caster(types: tuple[str, ...]) -> Caster | None:
    parsers = [_PARSERS[name] for name in types if name in _PARSERS]
    nullable = "null" in types and "string" not in types
    if not parsers and not nullable:
        return None

    def cast(value: t.Any) -> t.Any:  # noqa: ANN401
        if not isinstance(value, str):
            return value
        text = value.strip()
        if not text:
            return None if nullable else value
        for parse in parsers:
            parsed = parse(text)
            if parsed is not None:
                return parsed
        return value

    return cast


def compile_caster(prop: Mapping[str, t.Any]) -> Caster | None:
    """A function typing one value by its schema ``prop`` (None: as it is)."""
    types = _types(prop)
    if "array" in types:
        items = prop.get("items")
        each = compile_caster(items) if isinstance(items, dict) else None

        def cast_list(value: t.Any) -> t.Any:  # noqa: ANN401
            if value is None:
                return None
            values = value if isinstance(value, list) else [value]
            return [each(v) for v in values] if each else values

        return cast_list
    if "object" in types and isinstance(prop.get("properties"), dict):
        return compile_record_caster(prop)
    return _scalar_caster(types)


def compile_record_caster(schema: Mapping[str, t.Any]) -> Caster:
    """A function typing the fields of a record (a dict) by ``schema``."""
    fields = tuple(
        (name, fn)
        for name, prop in schema.get("properties", {}).items()
        if isinstance(prop, dict) and (fn := compile_caster(prop)) is not None
    )

    def cast_record(record: t.Any) -> t.Any:  # noqa: ANN401
        if not isinstance(record, dict):
            return record
        for name, fn in fields:
            if name in record:
                record[name] = fn(record[name])
        return record

    return cast_record
