"""Filters that carry user text into generated files as data, never as code."""

from __future__ import annotations

import json
import math
import re
import textwrap
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


#: The longest string literal written in one piece; a longer string becomes
#: parenthesised pieces, which ruff format joins again where the line has room.
#: So generated lines stay within 88 columns however long the spec's texts are.
STRING_PIECE = 60


def _quoted(value: str) -> str:
    text = repr(value)
    if text[0] == "'" and '"' not in value:
        text = '"' + text[1:-1] + '"'
    return text


def _string_literal(value: str) -> str:
    text = _quoted(value)
    if len(text) <= STRING_PIECE:
        return text
    pieces: list[str] = []
    current = ""
    for token in re.findall(r"\S+\s*|\s+", value):  # words with their spaces
        if len(_quoted(current + token)) <= STRING_PIECE:
            current += token
            continue
        if current:
            pieces.append(current)
            current = ""
        for char in token:  # a word longer than a piece is cut
            if current and len(_quoted(current + char)) > STRING_PIECE:
                pieces.append(current)
                current = ""
            current += char
    pieces.append(current)
    return "(" + " ".join(_quoted(piece) for piece in pieces) + ")"


def _literal(value: object) -> str:
    if isinstance(value, str):
        return _string_literal(value)
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


#: Generated code's line length (ruff's default, the generated pyproject's).
LINE_LENGTH = 88


def doc(text: object, indent: int = 0, fallback: str = "Generated code.") -> str:
    """A whole docstring (quotes included) for ``text`` that fits the line length.

    One line when it fits. Otherwise the first sentence is the summary line
    (``fallback`` when that sentence is too long too) and the text follows,
    wrapped. Text that needs an escape (a backslash, triple quotes, a control
    character) gets only ``fallback``: pydocstyle refuses escapes in docstrings
    and a raw docstring cannot hold every text. The summary starts with
    a capital and ends with a full stop, as pydocstyle wants.
    """
    if "\\" in docstring(text):  # escapes, which pydocstyle refuses: say less
        return f'"""{_summary_form(fallback)}"""'
    safe = _summary_form(docstring(text).strip())
    # A summary starting with a quote would run into the opening quotes (the
    # formatter then inserts a space, which pydocstyle refuses): such text goes
    # in the body, after the fallback summary.
    leading_quote = safe.startswith('"')
    if (
        indent + len(safe) + 6 <= LINE_LENGTH
        and not safe.endswith('"')
        and not leading_quote
    ):
        return f'"""{safe}"""'
    first, _, rest = safe.partition(". ")
    summary = first + "."
    if leading_quote or not rest or indent + len(summary) + 3 > LINE_LENGTH:
        summary, rest = _summary_form(fallback), safe
    pad = " " * indent
    body = textwrap.fill(
        rest,
        width=LINE_LENGTH - indent,
        initial_indent=pad,
        subsequent_indent=pad,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return f'"""{summary}\n\n{body}\n{pad}"""'


def _summary_form(text: str) -> str:
    if text and text[0].islower():
        text = text[0].upper() + text[1:]
    if not text.endswith((".", "!", "?")):
        text += "."
    return text


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
    "doc": doc,
    "comment": comment,
    "toml": toml_string,
    "toml_array": toml_array,
    "yaml": yaml_block,
    "md": markdown_cell,
}
