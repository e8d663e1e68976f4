"""The ``{config.NAME}`` / ``{NAME}`` variable language: parsing and rendering.

Pure Python: tap-builder's validator imports it too, so what validates is
exactly what the tap renders.
"""

from __future__ import annotations

import decimal
import json
import re
import typing as t
from collections import abc
from dataclasses import dataclass
from functools import lru_cache

if t.TYPE_CHECKING:
    from collections.abc import Iterator, Mapping


_TOKEN = re.compile(
    r"\{\{|\}\}|\{(config\.)?([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\}"
    r"|[{}]"
)


class TemplateError(ValueError):
    """A string holds a malformed variable or a lone brace."""


@dataclass(frozen=True)
class Variable:
    """A ``{config.NAME}`` (``from_config``) or ``{NAME}`` (context) variable."""

    name: str
    from_config: bool

    def __str__(self) -> str:
        """The variable as written in a spec."""
        return f"{{config.{self.name}}}" if self.from_config else f"{{{self.name}}}"


Part = str | Variable


@lru_cache(maxsize=1024)
def parse_template(text: str) -> tuple[Part, ...]:
    """Split ``text`` into literal text and variables.

    ``{{`` and ``}}`` stand for literal braces; any other brace that does not
    open ``{config.NAME}`` or ``{NAME}`` is an error.

    Raises:
        TemplateError: on a lone or malformed brace.
    """
    parts: list[Part] = []
    literal: list[str] = []
    position = 0
    for match in _TOKEN.finditer(text):
        literal.append(text[position : match.start()])
        position = match.end()
        token = match.group(0)
        if token in {"{{", "}}"}:
            literal.append(token[0])
        elif match.group(2) is None:
            msg = (
                f"lone {token!r} at character {match.start() + 1}; variables look "
                "like {config.NAME} or {NAME}, and a literal brace is written "
                f"{token * 2!r}"
            )
            raise TemplateError(msg)
        else:
            if literal_text := "".join(literal):
                parts.append(literal_text)
            literal = []
            parts.append(Variable(match.group(2), from_config=bool(match.group(1))))
    literal.append(text[position:])
    if literal_text := "".join(literal):
        parts.append(literal_text)
    return tuple(parts)


def variables_in(value: object) -> Iterator[Variable]:
    """Yield every variable in the strings of ``value`` (recursing into JSON data).

    Raises:
        TemplateError: on a malformed string.
    """
    for text in strings_in(value):
        yield from (p for p in parse_template(text) if isinstance(p, Variable))


def strings_in(value: object) -> Iterator[str]:
    """Every string in ``value``, recursing into JSON objects and arrays."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


class MissingValueError(LookupError):
    """A variable names a setting or context key that has no value."""

    def __init__(self, variable: Variable) -> None:
        """The error for ``variable``, which has no value."""
        self.variable = variable
        if variable.from_config:
            where = "setting"
        elif variable.name.split(".")[0] == "item":
            where = "item value"
        else:
            where = "parent context key"
        super().__init__(f"{where} {variable.name!r} has no value")


def to_text(value: object) -> str:
    """Render a value inside a longer string (or a query parameter).

    Integers as digits, booleans as ``true``/``false``, numbers in their shortest
    form, ``None`` as the empty string, lists and objects as compact JSON.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int | decimal.Decimal):
        return str(value)
    if value is None:
        return ""
    return json.dumps(value, separators=(",", ":"), default=str)


def _lookup(
    variable: Variable,
    config: Mapping[str, t.Any],
    context: Mapping[str, t.Any] | None,
) -> t.Any:  # noqa: ANN401
    source = config if variable.from_config else (context or {})
    value: t.Any = source
    for part in variable.name.split("."):  # {item.x}: a dotted name walks objects
        value = value.get(part) if isinstance(value, abc.Mapping) else None
    if value is None or value is source:
        raise MissingValueError(variable)
    return value


def render_text(
    template: str,
    config: Mapping[str, t.Any],
    context: Mapping[str, t.Any] | None = None,
    *,
    encode: t.Callable[[str], str] | None = None,
    encode_config: t.Callable[[str], str] | None = None,
) -> str:
    """Replace every variable in ``template`` by its value's text.

    Args:
        template: A string in the spec's variable syntax.
        config: The tap's config.
        context: The stream context (parent values), if any.
        encode: Applied to each substituted value (e.g. URL-quoting path segments).
        encode_config: Applied to ``{config.NAME}`` values instead of ``encode``.

    Raises:
        MissingValueError: when a variable has no value.
    """
    out: list[str] = []
    for part in parse_template(template):
        if isinstance(part, str):
            out.append(part)
            continue
        text = to_text(_lookup(part, config, context))
        how = encode_config if part.from_config and encode_config else encode
        out.append(how(text) if how else text)
    return "".join(out)


def render_value(
    template: object,
    config: Mapping[str, t.Any],
    context: Mapping[str, t.Any] | None = None,
) -> t.Any:  # noqa: ANN401
    """Render one value: a string that is exactly one variable keeps its JSON type."""
    if not isinstance(template, str):
        return template
    parts = parse_template(template)
    if len(parts) == 1 and isinstance(parts[0], Variable):
        return _lookup(parts[0], config, context)
    return render_text(template, config, context)


def render_data(
    template: object,
    config: Mapping[str, t.Any],
    context: Mapping[str, t.Any] | None = None,
) -> t.Any:  # noqa: ANN401
    """Render a JSON body: strings anywhere in it may hold variables.

    Object members whose value refers to an unset setting are left out.
    """
    if isinstance(template, dict):
        rendered: dict[str, t.Any] = {}
        for key, item in template.items():
            try:
                rendered[key] = render_data(item, config, context)
            except MissingValueError:
                continue
        return rendered
    if isinstance(template, list):
        return [render_data(item, config, context) for item in template]
    return render_value(template, config, context)


def render_fields(
    fields: Mapping[str, object],
    config: Mapping[str, t.Any],
    context: Mapping[str, t.Any] | None = None,
) -> dict[str, str]:
    """Render query parameters or headers to text.

    An entry that refers to an unset optional setting is not sent.
    """
    rendered: dict[str, str] = {}
    for name, value in fields.items():
        try:
            rendered[name] = to_text(render_value(value, config, context))
        except MissingValueError:
            continue
    return rendered
