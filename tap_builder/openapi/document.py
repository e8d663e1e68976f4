"""One view of OpenAPI 3.x and Swagger 2.0 documents: operations, parameters, servers.

Swagger 2.0 differs in where things are (``host``/``basePath``/``schemes``,
``securityDefinitions``, parameter ``type`` beside the parameter, the response
``schema`` without media types); :class:`Document` hides that, so the detection
modules read one shape.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from tap_builder.openapi.schemas import Schemas

if t.TYPE_CHECKING:
    from tap_builder.openapi.source import Source

JSON = t.Any

_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
#: Swagger 2.0 parameter keys that are schema keys in OpenAPI 3.
_V2_SCHEMA_KEYS = (
    "type",
    "format",
    "items",
    "default",
    "maximum",
    "minimum",
    "enum",
    "pattern",
    "x-example",
)


@dataclass(frozen=True)
class Param:
    """An operation parameter, wherever it was declared."""

    name: str
    location: str
    required: bool
    schema: dict[str, JSON]
    description: str = ""
    example: JSON = None
    #: The shared parameter it came from (``#/parameters/perPage``), if any.
    ref: str | None = None

    @property
    def origin(self) -> str:
        """How a comment names it: ``query parameter per_page (#/parameters/...)``."""
        where = "header" if self.location == "header" else f"{self.location} parameter"
        text = f"{where} {self.name}"
        return f"{text} ({self.ref})" if self.ref else text


@dataclass
class Operation:
    """One operation (method + path) with everything detection reads."""

    method: str
    path: str
    operation_id: str | None
    params: list[Param]
    #: The 2xx JSON response schema (raw, refs unresolved), if any.
    response: JSON
    response_code: str | None
    response_headers: dict[str, JSON] = field(default_factory=dict)
    security: list[dict[str, JSON]] | None = None
    server: str | None = None
    text: str = ""
    body_schema: JSON = None
    body_example: JSON = None
    extensions: dict[str, JSON] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """``GET /sites (listSites)``."""
        oid = f" ({self.operation_id})" if self.operation_id else ""
        return f"{self.method.upper()} {self.path}{oid}"

    def param(self, name: str, location: str | None = None) -> Param | None:
        """The parameter called ``name`` (in ``location``), if declared."""
        for param in self.params:
            if param.name == name and location in (None, param.location):
                return param
        return None


class Document:
    """The operations and global settings of a parsed document."""

    def __init__(self, source: Source) -> None:
        """Read ``source``."""
        self.source = source
        self.data = source.data
        self.schemas = Schemas(source)
        self.v2 = source.version == "2.0"

    @property
    def title(self) -> str:
        """``info.title`` (the API's name)."""
        info = self.data.get("info") or {}
        return str(info.get("title") or "API")

    @property
    def description(self) -> str:
        """``info.description``, first paragraph."""
        info = self.data.get("info") or {}
        text = str(info.get("description") or "").strip()
        return text.split("\n\n")[0].replace("\n", " ")[:500]

    def servers(self) -> list[dict[str, JSON]]:
        """Server objects (Swagger 2.0: built from schemes, host and basePath)."""
        if self.v2:
            host = self.data.get("host")
            if not host:
                return []
            schemes = self.data.get("schemes") or ["https"]
            scheme = "https" if "https" in schemes else str(schemes[0])
            base = str(self.data.get("basePath") or "")
            return [{"url": f"{scheme}://{host}{base}".rstrip("/")}]
        servers = self.data.get("servers")
        return (
            [s for s in servers if isinstance(s, dict)]
            if isinstance(servers, list)
            else []
        )

    def security_schemes(self) -> dict[str, dict[str, JSON]]:
        """``securitySchemes`` (3.x) or ``securityDefinitions`` (2.0), refs resolved."""
        raw = (
            self.data.get("securityDefinitions")
            if self.v2
            else (self.data.get("components") or {}).get("securitySchemes")
        )
        if not isinstance(raw, dict):
            return {}
        return {str(k): self.source.deref(v) for k, v in raw.items()}

    def operations(self) -> t.Iterator[Operation]:
        """Every operation, in document order."""
        for path, item in (self.data.get("paths") or {}).items():
            if not isinstance(item, dict):
                continue
            item = self.source.deref(item)
            shared = item.get("parameters") or []
            servers = item.get("servers")
            for method in _METHODS:
                op = item.get(method)
                if isinstance(op, dict):
                    yield self._operation(str(path), method, op, shared, servers)

    def _operation(
        self,
        path: str,
        method: str,
        op: dict[str, JSON],
        shared: list[JSON],
        servers: JSON,
    ) -> Operation:
        params: dict[tuple[str, str], Param] = {}
        for raw in [*shared, *(op.get("parameters") or [])]:
            param = self._param(raw)
            if param is not None:
                params[(param.name, param.location)] = param
        schema, code, headers = self._response(op)
        op_servers = op.get("servers") or servers
        server = None
        if (
            isinstance(op_servers, list)
            and op_servers
            and isinstance(op_servers[0], dict)
        ):
            server = str(op_servers[0].get("url") or "") or None
        body_schema, body_example = self._body(op, list(params.values()))
        text = " ".join(str(op.get(k) or "") for k in ("summary", "description"))
        return Operation(
            method=method,
            path=path,
            operation_id=op.get("operationId"),
            params=[p for p in params.values() if p.location != "body"],
            response=schema,
            response_code=code,
            response_headers=headers,
            security=op.get("security"),
            server=server,
            text=text.strip(),
            body_schema=body_schema,
            body_example=body_example,
            extensions={k: v for k, v in op.items() if k.startswith("x-")},
        )

    def _param(self, raw: JSON) -> Param | None:
        ref = raw.get("$ref") if isinstance(raw, dict) else None
        node = self.source.deref(raw)
        if not isinstance(node, dict) or "name" not in node or "in" not in node:
            return None
        location = str(node["in"])
        if self.v2 and location != "body":
            schema = {k: node[k] for k in _V2_SCHEMA_KEYS if k in node}
        else:
            schema = self.source.deref(node.get("schema") or {})
        if not isinstance(schema, dict):
            schema = {}
        example = node.get("example", schema.get("example", schema.get("x-example")))
        if example is None and isinstance(node.get("examples"), dict):
            for value in node["examples"].values():
                value = self.source.deref(value)
                if isinstance(value, dict) and "value" in value:
                    example = value["value"]
                    break
        return Param(
            name=str(node["name"]),
            location="query" if location == "formData" else location,
            required=bool(node.get("required")) or location == "path",
            schema=schema if location != "body" else {"body": schema},
            description=str(node.get("description") or ""),
            example=example,
            ref=ref if isinstance(ref, str) else None,
        )

    def _response(
        self, op: dict[str, JSON]
    ) -> tuple[JSON, str | None, dict[str, JSON]]:
        responses = op.get("responses") or {}
        codes = sorted(str(c) for c in responses if str(c).startswith("2"))
        for code in [*codes, "default"]:
            response = self.source.deref(
                responses.get(code) or responses.get(_int(code))
            )
            if not isinstance(response, dict):
                continue
            headers = {
                str(k): self.source.deref(v)
                for k, v in (response.get("headers") or {}).items()
            }
            schema = self._media_schema(response)
            if schema is not None:
                return schema, code, headers
            if code != "default" and codes and code == codes[0]:
                return None, code, headers
        return None, None, {}

    def _media_schema(self, holder: dict[str, JSON]) -> JSON:
        if self.v2:
            return holder.get("schema")
        content = holder.get("content") or {}
        for media, value in _json_first(content):
            del media
            if isinstance(value, dict) and "schema" in value:
                return value["schema"]
        return None

    def _body(self, op: dict[str, JSON], params: list[Param]) -> tuple[JSON, JSON]:  # noqa: C901 (media types and examples, two places each)
        if self.v2:
            for param in params:
                if param.location == "body":
                    schema = param.schema.get("body")
                    resolved = self.source.deref(schema or {})
                    example = (
                        resolved.get("example") if isinstance(resolved, dict) else None
                    )
                    return schema, example
            return None, None
        body = self.source.deref(op.get("requestBody") or {})
        if not isinstance(body, dict):
            return None, None
        for media, value in _json_first(body.get("content") or {}):
            del media
            if not isinstance(value, dict):
                continue
            example = value.get("example")
            if example is None and isinstance(value.get("examples"), dict):
                for item in value["examples"].values():
                    item = self.source.deref(item)
                    if isinstance(item, dict) and "value" in item:
                        example = item["value"]
                        break
            schema = value.get("schema")
            if example is None:
                resolved = self.source.deref(schema or {})
                if isinstance(resolved, dict):
                    example = resolved.get("example")
            return schema, example
        return None, None


def _int(code: str) -> int | str:
    return int(code) if code.isdigit() else code


def _json_first(content: dict[str, JSON]) -> list[tuple[str, JSON]]:
    """Media types, JSON ones first (``application/json``, ``*+json``, ``*/*``)."""

    def rank(media: str) -> int:
        media = media.lower()
        if media.startswith("application/json"):
            return 0
        if "json" in media:
            return 1
        return 2 if media in ("*/*", "application/*") else 3

    return [(m, content[m]) for m in sorted(content, key=rank) if rank(m) < 3]
