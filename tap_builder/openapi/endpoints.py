"""Endpoint discovery: which operations are streams, where their records are, keys.

A stream is a GET operation whose 2xx JSON response is a list of objects, or an
object holding one list of objects (at the top or one level down, like
``$.meta.components[*]``); a list of single-key wrappers (``{"customer": {...}}``)
is unwrapped. A POST whose path ends in ``/search`` or ``/query`` and whose body
has a documented example is a stream too (search APIs). Everything else is
skipped with the reason.
"""

from __future__ import annotations

import re
import typing as t

from tap_builder.openapi.model import (
    Skipped,
    StreamPlan,
    Why,
    escape_strings,
    normal,
    singular,
    snake,
    title,
)

if t.TYPE_CHECKING:
    from tap_builder.openapi.document import Document, Operation
    from tap_builder.openapi.schemas import Schemas

JSON = t.Any

#: Names that usually hold the records when a response has several lists.
_RECORD_KEYS = ("data", "items", "entries", "results", "records", "list", "values")
#: Path segments that name no resource: versions, ``api``, search verbs.
_NOISE = re.compile(
    r"^(v\d+(\.\d+)*|\d{4}-\d{2}-\d{2}|api|rest|search|query|list)$", re.I
)
_SEARCH_PATH = re.compile(r"/(search|query)$", re.I)


class Found(t.NamedTuple):
    """Where an operation's records are."""

    selector: str
    item: JSON
    why: Why


def discover(doc: Document) -> tuple[list[StreamPlan], list[Skipped]]:
    """Streams for the document's list operations, and what was skipped."""
    streams: list[StreamPlan] = []
    skipped: list[Skipped] = []
    taken: set[str] = set()
    for op in doc.operations():
        reason = _not_a_read(op)
        found: Found | str | None = reason
        if reason is None:
            found = records_of(doc.schemas, op)
        if not isinstance(found, Found):
            skipped.append(Skipped(op.label, str(found)))
            continue
        stream_id = _unique_id(op.path, taken)
        taken.add(stream_id)
        plan = StreamPlan(
            op=op,
            id=stream_id,
            name=title(stream_id),
            path=op.path,
            selector=found.selector,
            item_schema=found.item,
            schema=doc.schemas.record_schema(found.item),
            method=op.method.upper(),
        )
        plan.why["stream"] = Why(
            f"{op.label}: {_what_it_returns(found)}; named from the path", "sure"
        )
        plan.why["records_selector"] = found.why
        key, why = primary_key(doc.schemas, found.item, stream_id)
        plan.primary_key, plan.why["primary_key"] = key, why
        if op.method == "post":
            plan.body = escape_strings(op.body_example)
            plan.why["body"] = Why("the request body's documented example", "likely")
        streams.append(plan)
    return streams, skipped


def _what_it_returns(found: Found) -> str:
    if found.selector == "$[*]":
        return "returns a list"
    return f"returns its records at {found.selector}"


def _not_a_read(op: Operation) -> str | None:
    if op.method == "post" and _SEARCH_PATH.search(op.path):
        if op.body_example is None:
            return "a search (POST) without a documented body example to send"
        return None
    if op.method != "get":
        return f"{op.method.upper()} changes data; only reads become streams"
    if op.response_code is None:
        return "no 2xx response is documented"
    if op.response is None:
        return f"the {op.response_code} response has no JSON schema"
    return None


_ONE_RESOURCE = re.compile(r"\{[^}]+\}(\.\w+)?/?$")


def records_of(schemas: Schemas, op: Operation) -> Found | str:
    """Where the records are in the operation's response, or why it has none."""
    schema = op.response
    if schemas.is_array(schema):
        item = schemas.items(schema)
        if _is_record(schemas, item):
            return _unwrapped("$", item, schemas, "the response is a list of objects")
        return "the response is a list of plain values, not of records"
    if not schemas.properties(schema):
        return "the response is not a list, nor an object holding one"
    if _ONE_RESOURCE.search(op.path):
        return "returns one resource (the path ends with its id)"
    words = _path_words(op.path)
    for depth in (1, 2):
        lists = _lists(schemas, schema, depth)
        if not lists:
            continue
        if len(lists) == 1:
            ((dotted, item),) = lists.items()
            why = f"the response's only list of objects is {dotted}"
            return _unwrapped(f"$.{dotted}", item, schemas, why)
        for dotted, item in lists.items():
            leaf = dotted.rsplit(".", 1)[-1]
            if normal(singular(leaf)) in words or leaf in _RECORD_KEYS:
                names = ", ".join(lists)
                why = f"of the lists ({names}), {dotted} is named like the path"
                return _unwrapped(f"$.{dotted}", item, schemas, why)
        names = ", ".join(lists)
        return f"the response holds several lists ({names}): which holds the records?"
    return "the response is one object (no list of records in it)"


def _lists(schemas: Schemas, schema: JSON, depth: int) -> dict[str, JSON]:
    """Dotted paths of the lists of objects exactly ``depth`` levels down."""
    found: dict[str, JSON] = {}

    def walk(node: JSON, prefix: str, level: int) -> None:
        for name, sub in schemas.properties(node).items():
            if level == depth:
                if schemas.is_array(sub) and _is_record(schemas, schemas.items(sub)):
                    found[prefix + name] = schemas.items(sub)
            elif schemas.is_object(sub):
                walk(sub, f"{prefix}{name}.", level + 1)

    walk(schema, "", 1)
    return found


def _is_record(schemas: Schemas, item: JSON) -> bool:
    kinds = schemas.types(item) - {"null"}
    return "object" in kinds or (not kinds and bool(schemas.properties(item)))


def _unwrapped(base: str, item: JSON, schemas: Schemas, why: str) -> Found:
    """Step into single-key wrappers: ``[{"customer": {...}}]`` -> ``[*].customer``."""
    props = schemas.properties(item)
    if len(props) == 1:
        ((key, inner),) = props.items()
        if schemas.is_object(inner):
            text = f"{why}; each item wraps one object under {key!r}"
            return Found(f"{base}[*].{key}", inner, Why(text, "likely"))
    return Found(f"{base}[*]", item, Why(why, "sure"))


def _path_words(path: str) -> set[str]:
    return {
        normal(singular(w))
        for w in re.split(r"[/._-]+", re.sub(r"\{[^}]*\}", "", path))
        if w
    }


def static_segments(path: str) -> list[str]:
    """The path's named segments (no parameters, versions or extensions)."""
    out = []
    for segment in path.split("/"):
        if not segment or "{" in segment:
            continue
        segment = re.sub(r"\.(json|xml|csv)$", "", segment, flags=re.I)
        if segment and not _NOISE.match(segment):
            out.append(segment)
    return out


def _unique_id(path: str, taken: set[str]) -> str:
    segments = static_segments(path) or ["items"]
    candidate = snake(segments[-1])
    if candidate in taken and len(segments) > 1:
        candidate = f"{snake(singular(segments[-2]))}_{candidate}"
    base, number = candidate, 2
    while candidate in taken:
        candidate = f"{base}_{number}"
        number += 1
    return candidate


_KEY_NAMES = ("sid", "uuid", "key", "guid", "slug")
_UNIQUE = re.compile(r"\b(unique|uniquely|identif(y|ies|ier))\b", re.I)


def primary_key(schemas: Schemas, item: JSON, stream_id: str) -> tuple[list[str], Why]:
    """The record's key: ``id``, a documented unique field, or a key-like name."""
    props = schemas.properties(item)
    if "id" in props:
        return ["id"], Why("the records have an id field", "sure")
    described = [
        name
        for name, sub in props.items()
        if _UNIQUE.search(str((schemas.source.deref(sub) or {}).get("description", "")))
        and schemas.types(sub) - {"null"} <= {"string", "integer"}
    ]
    if 1 <= len(described) <= 3:
        text = ", ".join(described)
        return described, Why(
            f"the schema describes {text} as identifying a record", "likely"
        )
    one = singular(stream_id.rsplit("_", 1)[-1])
    for name in (*_KEY_NAMES, f"{one}_id", f"{one}Id", f"{one}_key"):
        if name in props:
            return [name], Why(f"no id field; {name} is the key-like one", "guess")
    return [], Why("no id or documented unique field: no primary key", "guess")
