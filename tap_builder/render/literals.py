"""Filters that carry user text into generated files as data, never as code."""

from __future__ import annotations

import json
import math
import typing as t

import tomli_w
import yaml


class RenderError(ValueError):
    """A value cannot be rendered safely."""


def _check_literal(value: object) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        msg = f"cannot render non-finite number {value!r}"
        raise RenderError(msg)
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                msg = f"cannot render non-string key {key!r}"
                raise RenderError(msg)
            _check_literal(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_literal(item)
    elif not isinstance(value, str | int | float | bool | None):
        msg = f"cannot render {type(value).__name__} as a literal"
        raise RenderError(msg)


def py_literal(value: object) -> str:
    """A Python literal for JSON-like ``value`` (``repr`` behind a type check).

    Strings prefer double quotes, as ``ruff format`` would write them.
    """
    _check_literal(value)
    return _literal(value)


def _literal(value: object) -> str:
    if isinstance(value, str):
        text = repr(value)
        if text[0] == "'" and '"' not in value:
            text = '"' + text[1:-1] + '"'
        return text
    if isinstance(value, dict):
        items = ", ".join(f"{_literal(k)}: {_literal(v)}" for k, v in value.items())
        return "{" + items + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, tuple):
        inner = ", ".join(_literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return repr(value)


def _escape_controls(text: str) -> str:
    return "".join(
        f"\\x{ord(c):02x}" if ord(c) < 32 or ord(c) == 127 else c for c in text
    )


def docstring(text: object) -> str:
    """Text safe inside a triple-double-quoted docstring, on one line."""
    flat = " ".join(str(text).split())
    safe = flat.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    safe = _escape_controls(safe)
    if safe.endswith('"'):
        safe += " "
    return safe


def comment(text: object) -> str:
    """Text safe in a ``#`` comment: one line, no control characters."""
    return _escape_controls(" ".join(str(text).split()))


def toml_string(value: str) -> str:
    """A TOML basic string."""
    rendered = tomli_w.dumps({"v": value}).strip()
    return rendered.removeprefix("v = ")


def toml_array(values: t.Sequence[str]) -> str:
    """A TOML array of strings."""
    rendered = tomli_w.dumps({"v": list(values)}).strip()
    return rendered.removeprefix("v = ")


def yaml_block(value: object) -> str:
    """A YAML document body for data (safe_dump, spec order kept)."""
    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True, width=88)


def markdown_cell(text: object) -> str:
    """Text safe in a Markdown table cell."""
    flat = "".join(
        c for c in " ".join(str(text).split()) if ord(c) >= 32 and ord(c) != 127
    )
    for char in "\\|[]<>`*_":
        flat = flat.replace(char, "\\" + char)
    return flat or " "


def json_text(value: object) -> str:
    """Pretty JSON for data files the tap reads."""
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


FILTERS: dict[str, t.Callable[..., str]] = {
    "py": py_literal,
    "docstring": docstring,
    "comment": comment,
    "toml": toml_string,
    "toml_array": toml_array,
    "yaml": yaml_block,
    "md": markdown_cell,
}
