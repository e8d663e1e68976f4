"""Turn pydantic's validation errors into spec issues a user can act on."""

from __future__ import annotations

import difflib
import typing as t

from tap_builder.spec.errors import format_path

if t.TYPE_CHECKING:
    from pydantic import ValidationError
    from pydantic_core import ErrorDetails

    from tap_builder.spec.loader import Loc

#: Hints for the id patterns, shown instead of a bare regular expression.
PATTERN_HINTS = {
    "tap_id": "use lowercase letters and digits in hyphen-separated words, "
    "starting with a letter (e.g. sage-intacct)",
    "id": "use snake_case: lowercase letters, digits and _, not starting with a digit",
    "name": "use lowercase letters, digits and _, not starting with a digit",
    "child_context": "context keys are identifiers: letters, digits and _",
}

#: Union members pydantic names in a location; not keys the user wrote.
_UNION_MEMBERS = {"str", "int", "float", "bool", "none", "tuple[str, ...]"}


def _child(node: object, part: str | int) -> object:
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, list) and isinstance(part, int) and part < len(node):
        return node[part]
    return None


def data_loc(loc: tuple[str | int, ...], data: object) -> Loc:
    """Drop location parts the user did not write (union tags and members)."""
    out: list[str | int] = []
    node = data
    for part in loc:
        if part == "[key]":  # pydantic's marker for a bad mapping key, not a field
            if out and out[-1] == "":
                out.pop()  # an empty key: point at its mapping
            continue
        tag = isinstance(node, dict) and node.get("type") == part and part not in node
        if tag or (
            isinstance(part, str)
            and part in _UNION_MEMBERS
            and not (isinstance(node, dict) and part in node)
        ):
            continue
        if isinstance(part, str) and part.startswith("function-"):
            continue
        out.append(part)
        node = _child(node, part)
    return tuple(out)


def _known_keys(error: ErrorDetails, known: t.Iterable[str]) -> str:
    key = str(error["loc"][-1])
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return f"unknown key {key!r}.{hint}"


def describe(error: ErrorDetails, known_keys: t.Iterable[str]) -> str:
    """A one-sentence message for one pydantic error."""
    kind = error["type"]
    ctx = error.get("ctx", {})
    value = error.get("input")
    if kind == "missing":
        return "required"
    if kind == "extra_forbidden":
        return _known_keys(error, known_keys)
    if kind == "union_tag_invalid":
        return (
            f"{ctx.get('tag')!r} is not a known type. "
            f"Use one of: {_plain(ctx.get('expected_tags', ''))}"
        )
    if kind == "union_tag_not_found":
        return "type is required"
    if kind == "literal_error":
        return f"{value!r} is not valid. Use one of: {_plain(ctx.get('expected', ''))}"
    if kind == "tuple_type":
        return "must be a list"
    if kind in {"dict_type", "model_type"}:
        return "must be a mapping"
    loc = error["loc"]
    is_key = loc[-1:] == ("[key]",)
    if kind == "string_pattern_mismatch":
        # a bad mapping key takes the hint of its mapping (e.g. child_context)
        field_loc = loc[:-2] if is_key else loc
        last = next((p for p in reversed(field_loc) if isinstance(p, str)), "")
        hint = PATTERN_HINTS.get(str(last), f"it must match {ctx.get('pattern')}")
        return f"{value!r} is not valid: {hint}"
    if kind == "string_too_short":
        return "keys must not be empty" if is_key else "must not be empty"
    message = error["msg"]
    return message.removeprefix("Value error, ")


def _plain(expected: object) -> str:
    return str(expected).replace("'", "").replace(" or ", ", ")


def pydantic_issues(
    exc: ValidationError, data: object, known_keys: t.Iterable[str]
) -> list[tuple[Loc, str]]:
    """(location, message) pairs, one per field, in the order pydantic found them."""
    found: dict[Loc, list[str]] = {}
    known = list(known_keys)
    for error in exc.errors():
        loc = data_loc(error["loc"], data)
        if error["type"] in {"union_tag_not_found", "union_tag_invalid"}:
            loc = (*loc, "type")
        message = describe(error, known)
        messages = found.setdefault(loc, [])
        if message not in messages:
            messages.append(message)
    return [(loc, _join(messages)) for loc, messages in found.items()]


def _join(messages: list[str]) -> str:
    if len(messages) == 1:
        return messages[0]
    return "; or ".join(messages)


__all__ = ["data_loc", "describe", "format_path", "pydantic_issues"]
