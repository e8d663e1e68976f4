"""The spec format's JSON Schema, generated from the pydantic models.

``tap-builder schema`` prints it, so editors can complete and check spec files
(``# yaml-language-server: $schema=spec.schema.json`` on a spec's first line).
It is generated at run time from :class:`~tap_builder.spec.models.Spec`, so it
always matches the installed tap-builder.

The schema checks the spec's *shape*: keys, types, enums, patterns. Rules that
span fields (declared variables, parent links, schema fields, JSONPaths,
durations, header names, ranges checked after parsing) are checked only by
``tap-builder validate``; a spec the schema accepts can still be invalid, but a
spec ``validate`` accepts always fits the schema.

Two adjustments to what pydantic generates:

- **Dialect:** draft-07 (``definitions``, no ``$ref`` siblings), the draft editor
  language servers support and the one Singer schemas use.
- **Shorthands:** some fields accept a shorter form that a ``mode="before"``
  validator turns into the canonical one (``primary_key: id`` for ``[id]``,
  ``method: get``, ``child_context: [id]``, ``null`` for an empty value).
  pydantic's schema describes only the canonical form, so :data:`SHORTHANDS`
  adds each accepted form. ``tests/test_spec_docs.py`` fails when a model gains
  a ``before`` validator that is not listed here.
"""

from __future__ import annotations

import copy
import json
import typing as t

from tap_builder.spec.models import CONTEXT_KEY_PATTERN, RESPONSE_FORMATS, Spec

#: The JSON Schema dialect of the generated schema.
DIALECT = "http://json-schema.org/draft-07/schema#"
#: A stable identifier (not a URL: the schema is printed, not downloaded).
SCHEMA_ID = "urn:tap-builder:spec"
TITLE = "tap-builder connector spec"
DESCRIPTION = (
    "A REST API described for tap-builder: basic details, authentication, "
    "parameters (config settings) and streams. Generated from tap-builder's "
    "models by `tap-builder schema`; `tap-builder validate` also checks the rules "
    "that span fields. Reference: docs/spec.md in tap-builder's source."
)

_NULL: dict[str, t.Any] = {"type": "null"}

#: Other forms a field accepts, by (model, key): what its ``before`` validator
#: turns into the canonical form that pydantic's schema describes.
SHORTHANDS: dict[tuple[str, str], tuple[dict[str, t.Any], ...]] = {
    ("Spec", "authentication"): (_NULL,),
    ("Spec", "parameters"): (_NULL,),
    ("Spec", "allowed_hosts"): (_NULL,),
    ("BasicAuth", "password"): (_NULL,),
    ("Stream", "primary_key"): ({"type": "string"}, _NULL),
    ("Stream", "method"): (
        {"type": "string", "pattern": "^(?:[Gg][Ee][Tt]|[Pp][Oo][Ss][Tt])$"},
    ),
    ("Stream", "child_context"): (
        {"type": "array", "items": {"type": "string"}},
        _NULL,
    ),
    ("Stream", "record_filter"): ({"$ref": "#/definitions/Condition"},),
}

#: Keywords describing a property that stay on it when its schema is wrapped.
_ANNOTATIONS = ("title", "description", "default", "examples")


def spec_json_schema() -> dict[str, t.Any]:
    """The JSON Schema (draft-07) of a spec file, from the pydantic models."""
    generated = Spec.model_json_schema(
        by_alias=True, ref_template="#/definitions/{model}"
    )
    definitions: dict[str, t.Any] = generated.pop("$defs", {})
    # The top level is the Spec model: adjusted like the others, through this name.
    definitions["Spec"] = generated
    stream = definitions["Stream"]["properties"]
    # What field validators check on a plain string (editors then offer the
    # values), and the key pattern of child_context (pydantic leaves other keys).
    stream["response_format"]["enum"] = list(RESPONSE_FORMATS)
    stream["child_context"]["propertyNames"] = {"pattern": CONTEXT_KEY_PATTERN}
    for (model, key), forms in SHORTHANDS.items():
        properties = definitions[model]["properties"]
        properties[key] = _also(properties[key], forms)
    body = {key: value for key, value in generated.items() if key not in _HEAD}
    schema: dict[str, t.Any] = {
        "$schema": DIALECT,
        "$id": SCHEMA_ID,
        "title": TITLE,
        "description": DESCRIPTION,
        **body,
        "definitions": {k: v for k, v in definitions.items() if k != "Spec"},
    }
    return t.cast("dict[str, t.Any]", _draft7(schema))


def spec_json_schema_text() -> str:
    """The schema as indented JSON: what ``tap-builder schema`` prints."""
    return json.dumps(spec_json_schema(), indent=2, ensure_ascii=False)


_HEAD = ("$schema", "$id", "title", "description")


def _also(
    prop: dict[str, t.Any], forms: tuple[dict[str, t.Any], ...]
) -> dict[str, t.Any]:
    """``prop`` that also accepts ``forms``; its annotations stay outside."""
    inner = {k: v for k, v in prop.items() if k not in _ANNOTATIONS}
    options = inner["anyOf"] if set(inner) == {"anyOf"} else [inner]
    options = options + [f for f in forms if f not in options]
    outer = {k: v for k, v in prop.items() if k in _ANNOTATIONS}
    return {**outer, "anyOf": copy.deepcopy(options)}


def _draft7(node: object) -> object:
    """Draft-07 ignores keywords next to ``$ref``: move the reference into allOf."""
    if isinstance(node, list):
        return [_draft7(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, t.Any] = {key: _draft7(value) for key, value in node.items()}
    if "$ref" in out and len(out) > 1:
        out["allOf"] = [{"$ref": out.pop("$ref")}, *out.get("allOf", [])]
    return out
