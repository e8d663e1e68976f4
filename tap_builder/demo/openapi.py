"""Builders for the OpenAPI documents the emulated APIs serve about themselves.

Each API in :mod:`tap_builder.demo.apis` serves ``GET <prefix>/openapi.json``
(no credentials needed), describing its real-world counterpart's base URL,
security scheme, parameters and response schemas, so that
``tap-builder import openapi`` can be tested end to end against it. The functions
here keep those documents short; they build plain OpenAPI 3 data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tap_builder.demo.routing import ApiRequest, Payload, Route, route

Doc = dict[str, Any]


def document_route(build: Callable[[], Doc]) -> Route:
    """``GET /openapi.json``, served without authentication."""

    def serve(request: ApiRequest) -> Payload:
        del request
        return build()

    return route("GET", "/openapi.json", serve, public=True)


def integer(**extra: object) -> Doc:
    """An integer schema."""
    return {"type": "integer", **extra}


def string(**extra: object) -> Doc:
    """A string schema."""
    return {"type": "string", **extra}


def date_time(**extra: object) -> Doc:
    """An ISO-8601 date-time string schema."""
    return {"type": "string", "format": "date-time", **extra}


def obj(properties: Doc, **extra: object) -> Doc:
    """An object schema."""
    return {"type": "object", "properties": properties, **extra}


def array(items: Doc) -> Doc:
    """A list schema."""
    return {"type": "array", "items": items}


def ref(name: str) -> Doc:
    """A reference to ``#/components/schemas/<name>``."""
    return {"$ref": f"#/components/schemas/{name}"}


def param(
    name: str, where: str, schema: Doc, description: str = "", **extra: object
) -> Doc:
    """A parameter object."""
    out: Doc = {"name": name, "in": where, "schema": schema, **extra}
    if description:
        out["description"] = description
    return out


def json_response(schema: Doc, description: str = "OK", **extra: object) -> Doc:
    """A ``200`` response with a JSON body."""
    return {
        "200": {
            "description": description,
            "content": {"application/json": {"schema": schema}},
            **extra,
        }
    }


def operation(
    operation_id: str,
    summary: str,
    responses: Doc,
    parameters: list[Doc] | None = None,
    **extra: object,
) -> Doc:
    """An operation object."""
    out: Doc = {"operationId": operation_id, "summary": summary, "responses": responses}
    if parameters:
        out["parameters"] = parameters
    out.update(extra)
    return out


def document(
    title: str,
    server: str,
    paths: Doc,
    *,
    schemas: Doc | None = None,
    security: Doc | None = None,
    variables: Doc | None = None,
    version: str = "3.0.3",
) -> Doc:
    """A whole OpenAPI 3 document with one server and (optionally) one scheme."""
    server_object: Doc = {"url": server}
    if variables:
        server_object["variables"] = variables
    out: Doc = {
        "openapi": version,
        "info": {"title": title, "version": "1.0.0"},
        "servers": [server_object],
        "paths": paths,
        "components": {"schemas": schemas or {}},
    }
    if security:
        out["components"]["securitySchemes"] = security
        out["security"] = [{name: []} for name in security]
    return out
