"""OpenAPI schemas: walking them, and turning them into the spec's JSON Schema.

OpenAPI 3.0 and Swagger 2.0 schemas are a JSON Schema dialect (``nullable``,
``x-nullable``, no type arrays); OpenAPI 3.1 schemas are JSON Schema 2020-12.
:func:`record_schema` converts any of them into the draft-07 subset the spec
takes: ``$ref`` s inlined (a recursive reference becomes ``{}``, any value),
``allOf`` merged, ``oneOf``/``anyOf`` folded into one schema (objects: the union
of their properties; scalars: a type list), ``nullable`` as a ``"null"`` type,
formats kept only for dates and times (what the tap acts on).
"""

from __future__ import annotations

import typing as t

if t.TYPE_CHECKING:
    from tap_builder.openapi.source import Source

JSON = t.Any
Schema = dict[str, t.Any]

#: Formats the record schema keeps (the tap formats and compares these).
_KEPT_FORMATS = frozenset({"date-time", "date"})
#: Deepest nesting converted; below it a value is ``{}`` (any).
_MAX_DEPTH = 12
_SCALARS = ("string", "integer", "number", "boolean")


class Schemas:
    """Schema functions bound to one document's ``$ref`` resolver."""

    def __init__(self, source: Source) -> None:
        """Bind to ``source``."""
        self.source = source

    # ------------------------------------------------------------------ #
    # Walking (for discovery and detection)
    # ------------------------------------------------------------------ #

    def variants(self, schema: JSON, depth: int = 0) -> list[Schema]:  # noqa: C901 (oneOf, anyOf and allOf in one walk)
        """The concrete alternatives of ``schema``: refs followed, allOf merged."""
        node = self.source.deref(schema)
        if not isinstance(node, dict) or depth > _MAX_DEPTH:
            return [{}]
        for combinator in ("oneOf", "anyOf"):
            if isinstance(node.get(combinator), list):
                out = [v for s in node[combinator] for v in self.variants(s, depth + 1)]
                rest = {k: v for k, v in node.items() if k != combinator}
                if rest.get("properties") or rest.get("allOf"):
                    out.extend(self.variants(rest, depth + 1))
                return out
        if isinstance(node.get("allOf"), list):
            merged: Schema = {
                k: v for k, v in node.items() if k not in ("allOf", "properties")
            }
            props = dict(node.get("properties") or {})
            for part in node["allOf"]:
                for variant in self.variants(part, depth + 1):
                    props.update(variant.get("properties") or {})
                    for key in ("items", "type", "description", "required"):
                        if key in variant and key not in merged:
                            merged[key] = variant[key]
            if props:
                merged["properties"] = props
            return [merged]
        return [node]

    def properties(self, schema: JSON) -> dict[str, JSON]:
        """Every property any variant of ``schema`` declares (raw sub-schemas)."""
        out: dict[str, JSON] = {}
        for variant in self.variants(schema):
            props = variant.get("properties")
            if isinstance(props, dict):
                out.update(props)
        return out

    def types(self, schema: JSON) -> set[str]:
        """The JSON types ``schema`` allows (guessed from its keys when untyped)."""
        found: set[str] = set()
        for variant in self.variants(schema):
            kind = variant.get("type")
            if isinstance(kind, list):
                found.update(str(k) for k in kind)
            elif isinstance(kind, str):
                found.add(kind)
            elif "properties" in variant:
                found.add("object")
            elif "items" in variant:
                found.add("array")
        return found

    def is_array(self, schema: JSON) -> bool:
        """Whether ``schema`` is (only) a list."""
        return self.types(schema) - {"null"} == {"array"}

    def items(self, schema: JSON) -> JSON:
        """The item schema of a list schema ({} when undeclared)."""
        for variant in self.variants(schema):
            if "items" in variant:
                return variant["items"]
        return {}

    def is_object(self, schema: JSON) -> bool:
        """Whether ``schema`` is an object with declared properties."""
        return "object" in self.types(schema) and bool(self.properties(schema))

    def field(self, schema: JSON, dotted: str) -> JSON | None:
        """The sub-schema at a dotted property path, None when undeclared."""
        node = schema
        for part in dotted.split("."):
            props = self.properties(node)
            if part not in props:
                return None
            node = props[part]
        return node

    def scalar_fields(self, schema: JSON, depth: int = 3) -> dict[str, Schema]:
        """Dotted paths of the scalar (and boolean) fields outside any list."""
        out: dict[str, Schema] = {}

        def walk(node: JSON, prefix: str, level: int) -> None:
            for name, sub in self.properties(node).items():
                path = f"{prefix}{name}"
                kinds = self.types(sub) - {"null"}
                if kinds & {"object"} and level < depth and self.properties(sub):
                    walk(sub, path + ".", level + 1)
                elif not kinds & {"array", "object"}:
                    flat: Schema = {}
                    for variant in self.variants(sub):
                        flat.update(variant)
                    flat["type"] = sorted(kinds)
                    out[path] = flat

        walk(schema, "", 1)
        return out

    # ------------------------------------------------------------------ #
    # Conversion (for the written spec)
    # ------------------------------------------------------------------ #

    def record_schema(self, schema: JSON) -> Schema:
        """A record's JSON Schema: ``type: object`` with ``properties``."""
        converted = self.convert(schema)
        props = converted.get("properties") or {}
        kinds = converted.get("type", "object")
        if isinstance(kinds, list) and "object" in kinds:
            kinds = "object"
        out: Schema = {"type": "object", "properties": props}
        if kinds != "object":
            out["properties"] = {}
        return out

    def convert(
        self, schema: JSON, depth: int = 0, seen: frozenset[str] = frozenset()
    ) -> Schema:
        """``schema`` in the spec's draft-07 subset (see the module docstring)."""
        if schema is True or schema is None:
            return {}
        if not isinstance(schema, dict) or depth > _MAX_DEPTH:
            return {}
        ref = schema.get("$ref")
        if isinstance(ref, str):
            if ref in seen:
                return {}  # recursive: any value
            return self.convert(self.source.lookup(ref), depth + 1, seen | {ref})
        parts = [self._convert_one(schema, depth, seen)]
        for combinator in ("oneOf", "anyOf"):
            if isinstance(schema.get(combinator), list):
                parts = [self.convert(s, depth + 1, seen) for s in schema[combinator]]
                own = self._convert_one(schema, depth, seen)
                if own.get("properties"):
                    parts.append(own)
                return _union(parts, nullable=_nullable(schema))
        if isinstance(schema.get("allOf"), list):
            parts += [self.convert(s, depth + 1, seen) for s in schema["allOf"]]
            return _intersection(parts)
        return parts[0]

    def _convert_one(self, schema: Schema, depth: int, seen: frozenset[str]) -> Schema:
        kinds = _type_list(schema)
        out: Schema = {}
        props = schema.get("properties")
        if isinstance(props, dict):
            out["properties"] = {
                str(name): self.convert(sub, depth + 1, seen)
                for name, sub in props.items()
                if sub is not False
            }
            if not kinds:
                kinds = ["object"]
        if "items" in schema:
            items = schema["items"]
            if isinstance(items, list):  # 2019 tuple form: any of them
                out["items"] = _union([self.convert(i, depth + 1, seen) for i in items])
            else:
                out["items"] = self.convert(items, depth + 1, seen)
            if not kinds:
                kinds = ["array"]
        if kinds:
            if _nullable(schema) and "null" not in kinds:
                kinds.append("null")
            out = {"type": kinds[0] if len(kinds) == 1 else kinds, **out}
        fmt = schema.get("format")
        if fmt in _KEPT_FORMATS and "string" in kinds:
            out["format"] = fmt
        return out


def _nullable(schema: Schema) -> bool:
    return bool(schema.get("nullable") or schema.get("x-nullable"))


def _type_list(schema: Schema) -> list[str]:
    kind = schema.get("type")
    if isinstance(kind, str):
        return [kind]
    if isinstance(kind, list):
        return [str(k) for k in kind]
    return []


def _kinds(schema: Schema) -> list[str]:
    kind = schema.get("type")
    if isinstance(kind, list):
        return [str(k) for k in kind]
    return [kind] if isinstance(kind, str) else []


def _union(parts: list[Schema], *, nullable: bool = False) -> Schema:  # noqa: C901 (one pass over every variant)
    """One schema any of ``parts`` fits: union of types and of properties."""
    kinds: list[str] = []
    props: dict[str, Schema] = {}
    items: list[Schema] = []
    formats: set[str] = set()
    untyped = False
    for part in parts:
        part_kinds = _kinds(part)
        if not part_kinds and not part.get("properties"):
            untyped = True
        for kind in part_kinds or (["object"] if part.get("properties") else []):
            if kind not in kinds:
                kinds.append(kind)
        for name, sub in (part.get("properties") or {}).items():
            props[name] = _union([props[name], sub]) if name in props else sub
        if "items" in part:
            items.append(part["items"])
        formats.add(part.get("format", ""))
    if untyped:
        return {}
    if nullable and "null" not in kinds:
        kinds.append("null")
    out: Schema = {"type": kinds[0] if len(kinds) == 1 else kinds}
    if props:
        out["properties"] = props
    if items:
        out["items"] = _union(items)
    if len(formats) == 1 and (fmt := formats.pop()):
        out["format"] = fmt
    return out


def _intersection(parts: list[Schema]) -> Schema:
    """allOf: the first declared type, every part's properties."""
    out: Schema = {}
    props: dict[str, Schema] = {}
    for part in parts:
        for key, value in part.items():
            if key == "properties":
                props.update(value)
            elif key not in out:
                out[key] = value
    if props:
        out["properties"] = props
        out.setdefault("type", "object")
    return out


def scalar_type(schemas: Schemas, schema: JSON) -> str:
    """The main scalar type of a parameter or field (``string`` when unsure)."""
    kinds = schemas.types(schema) - {"null"}
    for kind in _SCALARS:
        if kind in kinds:
            return kind
    return "string"
