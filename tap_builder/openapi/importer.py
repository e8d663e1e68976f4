"""The import pipeline: document -> streams -> pagination, parents, filters -> plan."""

from __future__ import annotations

import fnmatch
import re
import typing as t
from collections import Counter
from urllib.parse import urlsplit

from tap_builder.openapi.auth import detect_auth
from tap_builder.openapi.document import Document
from tap_builder.openapi.endpoints import discover
from tap_builder.openapi.incremental import detect_incremental
from tap_builder.openapi.model import (
    ImportPlan,
    ParamPlan,
    Skipped,
    Why,
    escape,
    snake,
)
from tap_builder.openapi.pagination import detect, key_of, size_why
from tap_builder.openapi.parents import link_parents
from tap_builder.openapi.source import is_url, join_url, load_source

if t.TYPE_CHECKING:
    from collections.abc import Sequence

    from tap_builder.openapi.document import Param
    from tap_builder.openapi.incremental import Filter
    from tap_builder.openapi.model import StreamPlan

JSON = t.Any

#: Settings every generated tap has; a derived setting may not take these names.
_RESERVED = frozenset(
    {
        "api_url",
        "start_date",
        "refresh_token_file",
        "request_timeout",
        "max_attempts",
        "backoff_seconds",
        "max_retry_wait",
        "max_response_mb",
        "max_request_seconds",
    }
)
_RFC_2822 = "%a, %d %b %Y %H:%M:%S %z"


def import_openapi(
    source: str, *, select: Sequence[str] = (), remote_refs: bool = False
) -> ImportPlan:
    """Derive a spec plan from an OpenAPI/Swagger document (file or URL).

    Args:
        source: A file name or an http(s) URL.
        select: Glob patterns on stream ids, paths or operation ids; none: all.
        remote_refs: Fetch ``$ref`` s that point to other hosts.

    Raises:
        DocumentError: when the document cannot be read or holds no stream.
    """
    src = load_source(source, remote_refs=remote_refs)
    doc = Document(src)
    streams, skipped = discover(doc)
    plan = ImportPlan(
        name=_name(doc.title), tap_id=_tap_id(doc.title), base_url="", source=source
    )
    plan.description = doc.description
    plan.warnings.extend(src.warnings)
    plan.skipped = skipped
    streams = _base_url(plan, doc, streams, src.uri)
    for stream in streams:
        _pagination(doc, stream)
    bindings = link_parents(doc, streams)
    streams = _selected(streams, select, plan)
    for stream in streams:
        _finish(plan, doc, stream, bindings.get(stream.id, {}))
    _prune_contexts(streams, bindings)
    auth = detect_auth(doc, streams)
    plan.authentication = auth.block
    plan.why["authentication"] = auth.why
    for param in auth.params:
        plan.add_parameter(param)
    plan.streams = streams
    return plan


def _name(title: str) -> str:
    plain = re.sub(r"['\u2019]s\b", "", title)
    words = [
        w
        for w in re.split(r"\s+", plain)
        if w.lower() not in ("api", "rest", "openapi", "swagger", "documentation")
    ]
    return " ".join(words).strip(" -:") or "API"


def _tap_id(title: str) -> str:
    stop = {
        "api",
        "rest",
        "openapi",
        "swagger",
        "the",
        "documentation",
        "platform",
        "reference",
        "v1",
        "v2",
        "v3",
    }
    plain = re.sub(r"['\u2019]s\b", "", title.lower())
    words = [w for w in re.findall(r"[a-z0-9]+", plain) if w not in stop]
    slug = "-".join(words[:3]) or "api"
    return slug if slug[0].isalpha() else f"api-{slug}"


# --------------------------------------------------------------------------- #
# Base URL
# --------------------------------------------------------------------------- #


def _base_url(
    plan: ImportPlan, doc: Document, streams: list[StreamPlan], uri: str
) -> list[StreamPlan]:
    """Pick the base URL (the servers most streams use); drop streams elsewhere."""
    servers = doc.servers()
    default = servers[0] if servers else None
    urls = [
        s.op.server or (str(default.get("url")) if default else "") for s in streams
    ]
    if not urls or not any(urls):
        plan.base_url = "https://{config.api_host}"
        plan.add_parameter(
            ParamPlan(
                "api_host",
                Why("the document names no server", "sure"),
                description="The API's host name.",
            )
        )
        plan.why["base_url"] = Why(
            "the document names no server: the host is a setting", "sure"
        )
        return streams
    chosen = Counter(urls).most_common(1)[0][0]
    kept = []
    for stream, url in zip(streams, urls, strict=True):
        if url == chosen:
            kept.append(stream)
        else:
            plan.skipped.append(
                Skipped(
                    stream.label, f"served from {url}, not from the base URL {chosen}"
                )
            )
    variables = {}
    for server in [*servers, *[{"url": chosen}]]:
        if server.get("url") == chosen and isinstance(server.get("variables"), dict):
            variables = server["variables"]
            break
    plan.base_url = _server_url(plan, chosen, variables, uri)
    where = (
        "servers[0]"
        if default and chosen == default.get("url")
        else "the operations' servers"
    )
    if doc.v2:
        where = "schemes, host and basePath"
    plan.why["base_url"] = Why(f"from {where}: {chosen}", "sure")
    return kept


def _server_url(
    plan: ImportPlan, url: str, variables: dict[str, JSON], uri: str
) -> str:
    if not urlsplit(url).scheme:
        if is_url(uri):
            url = join_url(uri, url)
        else:
            plan.add_parameter(
                ParamPlan(
                    "api_host",
                    Why(f"the server URL {url!r} is relative", "sure"),
                    description="The API's host name.",
                )
            )
            url = "https://{api_host}/" + url.lstrip("/")
    out = []
    for part in re.split(r"(\{[^}]*\})", url):
        if part.startswith("{") and part.endswith("}"):
            name = part[1:-1]
            setting = _setting_name(name)
            found = variables.get(name)
            spec: dict[str, JSON] = found if isinstance(found, dict) else {}
            if setting != "api_host":
                plan.add_parameter(
                    ParamPlan(
                        setting,
                        Why(f"server variable {name}", "sure"),
                        default=spec.get("default"),
                        description=str(
                            spec.get("description") or f"The {name} in the API's URL."
                        ),
                    )
                )
            out.append(f"{{config.{setting}}}")
        else:
            out.append(escape(part))
    return "".join(out).rstrip("/")


def _setting_name(name: str) -> str:
    setting = snake(name)
    return f"{setting}_value" if setting in _RESERVED else setting


# --------------------------------------------------------------------------- #
# Per stream
# --------------------------------------------------------------------------- #


def _pagination(doc: Document, stream: StreamPlan) -> None:
    paging = detect(doc.schemas, stream.op, stream)
    stream.pagination, stream.kind = paging.pagination, paging.kind
    stream.why["pagination"] = paging.why
    stream.used = set(paging.used)
    if paging.size is not None:
        param, value = paging.size
        stream.page_size_param = param.name
        target = stream.headers if param.location == "header" else stream.query_params
        if (
            paging.kind == "offset"
            and stream.pagination
            and "limit" in stream.pagination
        ):
            return
        target[param.name] = value
        stream.why[f"param:{param.name}"] = size_why(param, value)


def _selected(
    streams: list[StreamPlan], patterns: Sequence[str], plan: ImportPlan
) -> list[StreamPlan]:
    if not patterns:
        return streams
    by_id = {s.id: s for s in streams}
    wanted = {
        s.id
        for s in streams
        if any(
            fnmatch.fnmatchcase(value, pattern)
            for pattern in patterns
            for value in (s.id, s.op.path, s.op.operation_id or "")
        )
    }
    for stream_id in list(wanted):
        parent = by_id[stream_id].parent
        while parent is not None and parent not in wanted:
            wanted.add(parent)
            by_id[parent].why["selected"] = Why(
                f"not selected, but parent of {stream_id}", "sure"
            )
            parent = by_id[parent].parent
    for stream in streams:
        if stream.id not in wanted:
            plan.skipped.append(Skipped(stream.label, "not selected (--select)"))
    return [s for s in streams if s.id in wanted]


def _finish(
    plan: ImportPlan, doc: Document, stream: StreamPlan, bound: dict[str, str]
) -> None:
    used = stream.used
    stream.path = _path(plan, stream, bound)
    filter_ = detect_incremental(doc.schemas, stream.op, stream.item_schema)
    if filter_ is not None:
        _incremental(doc, stream, filter_)
        used.add(filter_.param.name)
    auth_wire = _auth_wire(doc)
    for param in stream.op.params:
        if (
            param.location == "path"
            or param.name in used
            or (param.location, param.name.lower()) in auth_wire
        ):
            continue
        if param.name in bound:
            value = f"{{{bound[param.name]}}}"
            why = Why(f"{param.origin}: from the parent record", "likely")
        elif param.required and param.location in ("query", "header"):
            value, why = _required_value(plan, param)
        else:
            continue
        target = stream.headers if param.location == "header" else stream.query_params
        target[param.name] = value
        stream.why[f"param:{param.name}"] = why


def _auth_wire(doc: Document) -> set[tuple[str, str]]:
    """(location, lower-cased name) of every credential the schemes send."""
    out = {("header", "authorization")}
    for scheme in doc.security_schemes().values():
        if str(scheme.get("type", "")).lower() == "apikey":
            out.add(
                (str(scheme.get("in", "header")), str(scheme.get("name", "")).lower())
            )
    return out


def _path(plan: ImportPlan, stream: StreamPlan, bound: dict[str, str]) -> str:
    out = []
    for part in re.split(r"(\{[^}]*\})", stream.op.path):
        name = part[1:-1] if part.startswith("{") and part.endswith("}") else None
        if name is None:
            out.append(escape(part))
        elif name in bound:
            out.append(f"{{{bound[name]}}}")
        else:
            param = stream.op.param(name, "path")
            setting = _setting_name(name)
            plan.add_parameter(
                ParamPlan(
                    setting,
                    Why(
                        f"path parameter {name} of {stream.op.path}: "
                        "no stream lists it",
                        "likely",
                    ),
                    description=(param.description if param else "")[:300]
                    or f"The {name} in the path.",
                )
            )
            out.append(f"{{config.{setting}}}")
    return "".join(out)


def _required_value(plan: ImportPlan, param: Param) -> tuple[JSON, Why]:
    schema = param.schema
    if schema.get("default") is not None and not isinstance(
        schema["default"], (dict, list)
    ):
        default = schema["default"]
        return (escape(default) if isinstance(default, str) else default), Why(
            f"{param.origin} is required: its documented default", "sure"
        )
    enum = schema.get("enum")
    if (
        isinstance(enum, list)
        and len(enum) == 1
        and not isinstance(enum[0], (dict, list))
    ):
        value = enum[0]
        return (escape(value) if isinstance(value, str) else value), Why(
            f"{param.origin} is required and takes one value", "sure"
        )
    setting = _setting_name(
        param.name if param.location != "header" else key_of(param) or param.name
    )
    kind = str(schema.get("type") or "string")
    plan.add_parameter(
        ParamPlan(
            setting,
            Why(f"{param.origin} is required", "sure"),
            type=kind if kind in ("integer", "number", "boolean") else "string",
            description=param.description[:300],
        )
    )
    return f"{{config.{setting}}}", Why(
        f"{param.origin} is required: a setting", "sure"
    )


def _incremental(doc: Document, stream: StreamPlan, filter_: Filter) -> None:
    date_format = filter_.date_format
    block: dict[str, JSON] = {
        "location": filter_.param.location,
        "replication_key": filter_.field,
        "param_name": filter_.param.name,
        "date_format": date_format,
    }
    props = stream.schema.setdefault("properties", {})
    field = props.get(filter_.field, {})
    kinds = field.get("type", [])
    nullable = "null" in kinds if isinstance(kinds, list) else False
    raw = doc.schemas.field(stream.item_schema, filter_.field)
    raw_format = next(
        (str(v.get("format")) for v in doc.schemas.variants(raw) if v.get("format")), ""
    )
    if raw_format == "date-time-rfc-2822":
        block["replication_key_format"] = _RFC_2822
    if filter_.as_date_time or raw_format == "date-time-rfc-2822":
        props[filter_.field] = {
            "type": ["string", "null"] if nullable else "string",
            "format": "date-time",
        }
    stream.incremental = block
    stream.why["incremental"] = filter_.why


def _prune_contexts(
    streams: list[StreamPlan], bindings: dict[str, dict[str, str]]
) -> None:
    """Keep the context keys that selected children use."""
    ids = {s.id for s in streams}
    for stream in streams:
        needed = {
            key
            for child in streams
            if child.parent == stream.id and child.id in ids
            for key in bindings.get(child.id, {}).values()
        }
        stream.child_context = {
            k: v for k, v in stream.child_context.items() if k in needed
        }
    for stream in streams:
        if stream.parent is not None and stream.parent not in ids:
            stream.parent = None
