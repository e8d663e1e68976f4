"""Parent-child links: which stream's records fill a child's path parameters.

For a path parameter (or a required query parameter named like ``site_id``):

1. OpenAPI 3 ``links`` on the parent's response that target the child's operation
   say it outright (``$response.body#/0/clinic/code`` reads ``clinic.code`` of each
   record);
2. else the stream listing the path before the parameter is the parent
   (``/customers/{customer_id}/invoices`` -> ``/customers``, also ``.json``-suffixed);
3. else the stream whose name the parameter carries (``form_id`` -> ``forms``).

The parent field is the one named like the parameter's suffix (``*_id``/``Id`` ->
``id``, ``*Sid`` -> ``sid``, ``*_key`` -> ``key``, ``*_slug`` -> ``slug``), or the
field with the parameter's own name. A parameter of the parent's own path is
passed down (the parent's records carry it). Parameters no stream fills become
settings.
"""

from __future__ import annotations

import re
import typing as t

from tap_builder.openapi.model import Why, normal, singular, snake

if t.TYPE_CHECKING:
    from tap_builder.openapi.document import Document
    from tap_builder.openapi.model import StreamPlan

JSON = t.Any
_SUFFIXES = (
    ("sid", "sid"),
    ("id", "id"),
    ("key", "key"),
    ("slug", "slug"),
    ("uuid", "uuid"),
    ("name", "name"),
    ("code", "code"),
)


def path_params(path: str) -> list[str]:
    """The ``{name}`` s of a path, in order."""
    return re.findall(r"\{([^}]+)\}", path)


def link_parents(doc: Document, streams: list[StreamPlan]) -> dict[str, dict[str, str]]:
    """Bindings stream id -> {param: context key}; sets parents and child_context."""
    bindings: dict[str, dict[str, str]] = {}
    by_depth = sorted(streams, key=lambda s: len(path_params(s.op.path)))
    for child in by_depth:
        wanted = path_params(child.op.path)
        wanted += [
            p.name
            for p in child.op.params
            if p.location == "query"
            and p.required
            and re.search(r"(_id|Id|Sid)$", p.name)
        ]
        linked = _linked(doc, child, _candidates(child, streams))
        if linked is not None:
            wanted += [name for name in linked[1] if name not in wanted]
        if not wanted:
            continue
        parent = _parent(doc, child, streams, wanted)
        if parent is None:
            continue
        bound = _bind(doc, child, parent, wanted)
        if not bound:
            continue
        child.parent = parent.id
        bindings[child.id] = {}
        texts = []
        for param, (key, source, how) in bound.items():
            parent.child_context.setdefault(key, source)
            bindings[child.id][param] = key
            texts.append(f"{param} <- {parent.id}.{source.removeprefix('$.')} ({how})")
        child.why["parent_stream"] = Why(
            f"{'; '.join(texts)}",
            "sure"
            if all(h.startswith("link") for _, _, h in bound.values())
            else "likely",
        )
    return bindings


def _parent(
    doc: Document, child: StreamPlan, streams: list[StreamPlan], wanted: list[str]
) -> StreamPlan | None:
    candidates = _candidates(child, streams)
    linked = _linked(doc, child, candidates)
    if linked is not None:
        return linked[0]
    path = child.op.path
    for param in reversed(path_params(path)):
        prefix = path[: path.index("{" + param + "}")].rstrip("/")
        suffix = re.search(r"\.(json|xml)$", path)
        options = {prefix, prefix + (suffix.group(0) if suffix else "")}
        for stream in candidates:
            if stream.op.path in options and stream.op.method == "get":
                return stream
    for param in wanted:
        base = re.sub(r"(_?(id|Id|ID|sid|Sid|SID|key|Key|slug|Slug|uuid))$", "", param)
        if not base:
            continue
        for stream in candidates:
            takes_it = param in path_params(stream.op.path)
            if (
                normal(singular(stream.id.rsplit("_", 1)[-1])) == normal(base)
                and not takes_it
            ):
                return stream
    return None


def _candidates(child: StreamPlan, streams: list[StreamPlan]) -> list[StreamPlan]:
    """Streams that may be ``child``'s parent: fewer path parameters, no cycle."""
    by_id = {s.id: s for s in streams}
    depth = len(path_params(child.op.path))

    def descends(stream: StreamPlan) -> bool:
        seen: set[str] = set()
        while stream.parent is not None and stream.parent not in seen:
            if stream.parent == child.id:
                return True
            seen.add(stream.parent)
            stream = by_id[stream.parent]
        return False

    return [
        s
        for s in streams
        if s is not child
        and len(path_params(s.op.path)) <= max(depth, 1)
        and not descends(s)
    ]


def _linked(
    doc: Document, child: StreamPlan, candidates: list[StreamPlan]
) -> tuple[StreamPlan, dict[str, str]] | None:
    target = child.op.operation_id
    if not target:
        return None
    for stream in candidates:
        links = _links(doc, stream)
        for link in links.values():
            if isinstance(link, dict) and link.get("operationId") == target:
                params = link.get("parameters") or {}
                return stream, {str(k): str(v) for k, v in params.items()}
    return None


def _links(doc: Document, stream: StreamPlan) -> dict[str, JSON]:
    if doc.v2 or not stream.op.response_code:
        return {}
    responses = (
        doc.data["paths"][stream.op.path][stream.op.method].get("responses") or {}
    )
    response = doc.source.deref(responses.get(stream.op.response_code) or {})
    links = response.get("links") if isinstance(response, dict) else None
    return (
        {k: doc.source.deref(v) for k, v in links.items()}
        if isinstance(links, dict)
        else {}
    )


def _bind(
    doc: Document, child: StreamPlan, parent: StreamPlan, wanted: list[str]
) -> dict[str, tuple[str, str, str]]:
    """Param -> (context key, parent field or JSONPath, how it was found)."""
    fields = doc.schemas.properties(parent.item_schema)
    linked = _linked(doc, child, [parent])
    link_params = linked[1] if linked else {}
    parent_own = set(path_params(parent.op.path))
    out: dict[str, tuple[str, str, str]] = {}
    for param in wanted:
        key = param if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", param) else snake(param)
        expression = link_params.get(param)
        if expression and (source := _pointer_field(expression)):
            key = (
                key
                if param in path_params(child.op.path)
                else snake(source.replace(".", "_"))
            )
            out[param] = (
                key,
                source if "." not in source else f"$.{source}",
                "link in the document",
            )
            continue
        if param in parent_own:
            own = snake(param)
            source = own if own in fields else param
            out[param] = (key, source, "the parent's own path parameter")
            continue
        field = _field_for(param, fields)
        if field is not None:
            out[param] = (key, field, "named like the parameter")
    return out


def _pointer_field(expression: str) -> str | None:
    """``$response.body#/0/clinic/code`` -> ``clinic.code`` (the record's field)."""
    match = re.fullmatch(r"\$response\.body#(/.*)", expression.strip())
    if not match:
        return None
    parts = [
        p.replace("~1", "/").replace("~0", "~") for p in match.group(1).split("/")[1:]
    ]
    while parts and (parts[0].isdigit() or parts[0] == "*"):
        parts = parts[1:]
    return ".".join(parts) or None


def _field_for(param: str, fields: dict[str, JSON]) -> str | None:
    if param in fields:
        return param
    lower = param.lower()
    for suffix, field in _SUFFIXES:
        if lower.endswith(suffix) and field in fields:
            return field
    return None
