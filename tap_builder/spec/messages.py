"""Turn pydantic's validation errors into spec issues a user can act on."""

from __future__ import annotations

import difflib
import types
import typing as t
from dataclasses import dataclass

from pydantic import BaseModel

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
    "version": "use a PEP 440 version: numbers separated by dots, optionally "
    "followed by aN, bN or rcN, .postN, .devN (e.g. 1.2.0, 2.0rc1)",
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
    tagged: object = None  # the mapping whose union tag was just skipped
    for part in loc:
        if part == "[key]":  # pydantic's marker for a bad mapping key, not a field
            if out and out[-1] == "":
                out.pop()  # an empty key: point at its mapping
            continue
        # pydantic names the chosen ``type`` right after a tagged union's field;
        # it may also be a key of that type (``next_url: {type: next_url, ...}``)
        tag = (
            isinstance(node, dict)
            and node.get("type") == part
            and (part not in node or tagged is not node)
        )
        tagged = node if tag else None
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


# -- the model at a location ---------------------------------------------------- #

ModelType = type[BaseModel]


@dataclass(frozen=True)
class Place:
    """The model that validates the mapping at a location.

    ``variants`` are the members of the tagged union it was chosen from (by its
    ``type``), or empty when the place is not a union.
    """

    model: ModelType
    variants: tuple[ModelType, ...] = ()

    @property
    def tag(self) -> str | None:
        """The model's ``type`` value, when it is a union variant."""
        return type_tag(self.model) if self.variants else None


def type_tag(model: ModelType) -> str | None:
    """The ``type`` literal of a union variant (``offset``), or None."""
    field = model.model_fields.get("type")
    args = t.get_args(field.annotation) if field is not None else ()
    return str(args[0]) if len(args) == 1 else None


def keys_of(model: ModelType) -> list[str]:
    """The keys a spec may write for ``model``: its own first, then inherited ones."""
    own = vars(model).get("__annotations__", {})
    names = sorted(model.model_fields, key=lambda name: name not in own)
    return [model.model_fields[name].alias or name for name in names]


def _field(model: ModelType, key: str) -> t.Any:  # noqa: ANN401
    for name, info in model.model_fields.items():
        if key in {name, info.alias}:
            return info.annotation
    return None


def _unwrap(annotation: t.Any) -> t.Any:  # noqa: ANN401
    while t.get_origin(annotation) is t.Annotated:
        annotation = t.get_args(annotation)[0]
    return annotation


def _is_model(annotation: object) -> t.TypeGuard[ModelType]:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def place_of(root: ModelType, loc: tuple[str | int, ...]) -> Place | None:
    """The model at a pydantic error location (None: not a model, or unknown).

    Follows model fields, list and tuple items, mapping values and tagged unions
    (pydantic puts the chosen ``type`` in the location).
    """
    annotation: t.Any = root
    variants: tuple[ModelType, ...] = ()
    parts = [p for p in loc if not (isinstance(p, str) and p.startswith("function-"))]
    while True:
        annotation = _unwrap(annotation)
        origin = t.get_origin(annotation)
        if origin in {t.Union, types.UnionType}:
            members = [
                _unwrap(a) for a in t.get_args(annotation) if a is not type(None)
            ]
            if len(members) == 1:
                annotation = members[0]
                continue
            models = tuple(m for m in members if _is_model(m))
            chosen = [m for m in models if parts and type_tag(m) == parts[0]]
            if not chosen:
                return None
            annotation, variants = chosen[0], models
            parts = parts[1:]
            continue
        if _is_model(annotation):
            if not parts:
                return Place(annotation, variants)
            annotation, variants = _field(annotation, str(parts[0])), ()
            parts = parts[1:]
            if annotation is None:
                return None
            continue
        args = t.get_args(annotation)
        if parts and origin in {tuple, list} and isinstance(parts[0], int) and args:
            annotation, parts = args[0], parts[1:]
        elif parts and origin is dict and len(args) == 2:
            annotation, parts = args[1], parts[1:]
        else:
            return None


# -- unknown keys ------------------------------------------------------------- #


@dataclass(frozen=True)
class UnknownKey:
    """What to say about a key the model does not have, and what it likely meant."""

    message: str
    #: The key it is a typo of, in the same mapping (None: no close match, or the
    #: key belongs to another type of the union).
    meant: str | None = None


def unknown_key(key: str, place: Place | None) -> UnknownKey:
    """The message for ``key``, checked against the keys valid at ``place``.

    A key of another variant of the same union (``attribute`` in an ``offset``
    pagination) says whose it is and lists the keys of this type; otherwise a
    close match among this model's keys is suggested.
    """
    if place is None:
        return UnknownKey(f"unknown key {key!r}")
    keys = [k for k in keys_of(place.model) if k != "type" or not place.variants]
    owners = [
        str(type_tag(variant))
        for variant in place.variants
        if variant is not place.model and key in keys_of(variant)
    ]
    if owners:
        takes = (
            f"whose keys are: {', '.join(keys)}" if keys else "which takes no other key"
        )
        return UnknownKey(
            f"{key!r} belongs to {', '.join(owners)}; this is {place.tag}, {takes}"
        )
    close = difflib.get_close_matches(key, keys, n=1, cutoff=0.6)
    if close:
        return UnknownKey(f"unknown key {key!r}. Did you mean {close[0]!r}?", close[0])
    if place.variants and keys:
        return UnknownKey(
            f"unknown key {key!r}; the keys of {place.tag} are: {', '.join(keys)}"
        )
    if place.variants:
        return UnknownKey(f"unknown key {key!r}; {place.tag} takes no other key")
    return UnknownKey(f"unknown key {key!r}")


def describe(error: ErrorDetails, root: ModelType) -> str:
    """A one-sentence message for one pydantic error in data for ``root``."""
    kind = error["type"]
    ctx = error.get("ctx", {})
    value = error.get("input")
    if kind == "missing":
        return "required"
    if kind == "extra_forbidden":
        key = str(error["loc"][-1])
        return unknown_key(key, place_of(root, error["loc"][:-1])).message
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
    exc: ValidationError, data: object, root: ModelType
) -> list[tuple[Loc, str]]:
    """(location, message) pairs, one per field, in the order pydantic found them."""
    found: dict[Loc, list[str]] = {}
    for error in exc.errors():
        loc = data_loc(error["loc"], data)
        if error["type"] in {"union_tag_not_found", "union_tag_invalid"}:
            loc = (*loc, "type")
        message = describe(error, root)
        messages = found.setdefault(loc, [])
        if message not in messages:
            messages.append(message)
    return [(loc, _join(messages)) for loc, messages in found.items()]


def _join(messages: list[str]) -> str:
    if len(messages) == 1:
        return messages[0]
    return "; or ".join(messages)


__all__ = [
    "Place",
    "UnknownKey",
    "data_loc",
    "describe",
    "format_path",
    "keys_of",
    "place_of",
    "pydantic_issues",
    "type_tag",
    "unknown_key",
]
