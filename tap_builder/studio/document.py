"""The spec being edited: its text, edits that keep comments, and live analysis.

The studio never holds builder logic of its own. An edit from a form is an
*operation* on the spec text (set, delete, insert, move at a field path),
applied with ruamel.yaml's round-trip mode so comments, key order and quoting
stay as the user wrote them (JSON specs keep their key order). Every analysis
runs the same ``parse_spec_text`` and ``validate_spec`` the command line runs,
so each problem is the CLI's own line, with its field path.
"""

from __future__ import annotations

import copy
import io
import json
import typing as t
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from tap_builder.commands.init import slug
from tap_builder.runtime.variables import TemplateError, Variable, parse_template
from tap_builder.spec import SpecError, parse_spec_text
from tap_builder.spec.validation import Connector, validate_spec

Key = str | int
Path_ = list[Key]

#: Parameters every generated tap has besides the declared ones.
BUILT_IN_SETTINGS = ("api_url", "start_date")

#: Where a logo comes from when the spec gives only a domain (as the README does).
FAVICON_URL = "https://www.google.com/s2/favicons?sz=128&domain="


class EditError(ValueError):
    """An operation cannot be applied to the spec text; the message says why."""


def _yaml() -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def is_json(path: Path) -> bool:
    """Whether the spec at ``path`` is JSON (else YAML), as the loader decides."""
    return path.suffix.lower() == ".json"


# --------------------------------------------------------------------------- #
# Operations
# --------------------------------------------------------------------------- #


def apply_ops(text: str, ops: list[dict[str, t.Any]], *, json_format: bool) -> str:
    """``text`` with every operation applied, in order.

    Raises:
        EditError: the text cannot be read as a mapping, or an operation does
            not fit it (a path through a scalar, an index out of range).
    """
    try:
        document = json.loads(text) if json_format else _yaml().load(text)
    except (ValueError, YAMLError) as exc:
        msg = f"the spec text cannot be edited until it parses: {exc}"
        raise EditError(msg) from None
    if document is None:
        document = {} if json_format else CommentedMap()
    if not isinstance(document, dict):
        msg = "the spec text must be a mapping of keys to edit it with the forms"
        raise EditError(msg)
    for op in ops:
        _apply(document, op)
    if json_format:
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    buffer = io.StringIO()
    _yaml().dump(document, buffer)
    return buffer.getvalue()


def _apply(document: dict[str, t.Any], op: dict[str, t.Any]) -> None:
    kind = op.get("op")
    path = op.get("path")
    if not isinstance(path, list) or not all(isinstance(p, str | int) for p in path):
        msg = f"operation {kind!r}: the path must be a list of keys and indexes"
        raise EditError(msg)
    handlers: dict[str, t.Callable[[dict[str, t.Any], Path_, dict[str, t.Any]], None]]
    handlers = {"set": _set, "delete": _delete, "insert": _insert, "move": _move}
    handler = handlers.get(str(kind))
    if handler is None:
        msg = f"unknown operation {kind!r}; use one of: {', '.join(handlers)}"
        raise EditError(msg)
    handler(document, path, op)


def _container(document: t.Any, path: Path_, *, create: bool) -> t.Any:  # noqa: ANN401
    node = document
    for depth, key in enumerate(path):
        if isinstance(node, dict) and isinstance(key, str):
            if key not in node or node[key] is None:
                if not create:
                    msg = f"no field {_shown(path[: depth + 1])}"
                    raise EditError(msg)
                following = path[depth + 1] if depth + 1 < len(path) else ""
                node[key] = CommentedSeq() if isinstance(following, int) else {}
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            node = node[key]
        else:
            msg = f"no field {_shown(path[: depth + 1])}"
            raise EditError(msg)
    return node


def _shown(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _styled(old: object, new: object) -> object:
    """``new`` in the quoting style of ``old`` (a string stays quoted)."""
    if isinstance(old, str) and isinstance(new, str) and type(old) is not str:
        try:
            return type(old)(new)
        except TypeError:  # pragma: no cover - a style class with extra arguments
            return new
    return new


def _set(document: dict[str, t.Any], path: Path_, op: dict[str, t.Any]) -> None:
    if not path:
        msg = "set needs a field path"
        raise EditError(msg)
    parent = _container(document, path[:-1], create=True)
    key = path[-1]
    value = copy.deepcopy(op.get("value"))
    if isinstance(parent, dict) and isinstance(key, str):
        parent[key] = _styled(parent.get(key), value)
    elif isinstance(parent, list) and isinstance(key, int) and 0 <= key < len(parent):
        parent[key] = _styled(parent[key], value)
    elif isinstance(parent, list) and isinstance(key, int) and key == len(parent):
        parent.append(value)
    else:
        msg = f"cannot set {_shown(path)}"
        raise EditError(msg)


def _delete(document: dict[str, t.Any], path: Path_, op: dict[str, t.Any]) -> None:
    del op
    if not path:
        msg = "delete needs a field path"
        raise EditError(msg)
    parent = _container(document, path[:-1], create=False)
    key = path[-1]
    if isinstance(parent, dict) and isinstance(key, str):
        parent.pop(key, None)
    elif isinstance(parent, list) and isinstance(key, int) and 0 <= key < len(parent):
        del parent[key]
    else:
        msg = f"no field {_shown(path)}"
        raise EditError(msg)


def _insert(document: dict[str, t.Any], path: Path_, op: dict[str, t.Any]) -> None:
    target = _container(document, path, create=True)
    if not isinstance(target, list):
        msg = f"{_shown(path)} is not a list"
        raise EditError(msg)
    index = op.get("index", len(target))
    if not isinstance(index, int) or not 0 <= index <= len(target):
        msg = f"index {index!r} is outside {_shown(path)} (0 to {len(target)})"
        raise EditError(msg)
    target.insert(index, copy.deepcopy(op.get("value")))


def _move(document: dict[str, t.Any], path: Path_, op: dict[str, t.Any]) -> None:
    target = _container(document, path, create=False)
    source, dest = op.get("from"), op.get("to")
    if not isinstance(target, list):
        msg = f"{_shown(path)} is not a list"
        raise EditError(msg)
    size = len(target)
    if not (isinstance(source, int) and isinstance(dest, int)) or not (
        0 <= source < size and 0 <= dest < size
    ):
        msg = f"move: from and to must be indexes of {_shown(path)} (0 to {size - 1})"
        raise EditError(msg)
    target.insert(dest, target.pop(source))


# --------------------------------------------------------------------------- #
# Analysis: what the forms show next to the fields
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Analysis:
    """The result of parsing and validating the spec text."""

    data: dict[str, t.Any] | None
    issues: list[dict[str, t.Any]]
    connector: Connector | None
    hints: dict[str, t.Any]

    def to_json(self) -> dict[str, t.Any]:
        """What the page receives (no connector: it is rebuilt on demand)."""
        return {
            "data": self.data,
            "issues": self.issues,
            "valid": self.connector is not None,
            "hints": self.hints,
        }


def analyse(text: str, path: Path) -> Analysis:
    """Parse and validate ``text`` as the spec file at ``path`` would be."""
    source = path.name
    try:
        loaded = parse_spec_text(text, path)
    except SpecError as exc:
        return Analysis(None, _issue_rows(exc, source), None, {})
    data = loaded.data
    connector: Connector | None = None
    issues: list[dict[str, t.Any]] = []
    try:
        connector = validate_spec(loaded)
    except SpecError as exc:
        issues = _issue_rows(exc, source)
    return Analysis(data, issues, connector, hints(data, connector))


def _issue_rows(exc: SpecError, source: str) -> list[dict[str, t.Any]]:
    return [
        {
            "path": issue.path,
            "message": issue.message,
            "line": issue.line,
            "text": issue.format(source),
        }
        for issue in exc.issues
    ]


def hints(data: dict[str, t.Any], connector: Connector | None) -> dict[str, t.Any]:
    """What custom widgets show: variables, the suggested id, logo, schema fields."""
    declared = [
        p["name"]
        for p in data.get("parameters") or []
        if isinstance(p, dict) and isinstance(p.get("name"), str)
    ]
    name = data.get("name")
    return {
        "declared": declared,
        "built_in_settings": list(BUILT_IN_SETTINGS),
        "suggested_tap_id": slug(name, "-") if isinstance(name, str) else "",
        "base_url_parts": template_parts(data.get("base_url"), declared),
        "logo_src": logo_src(data),
        "schema_fields": schema_fields(data, connector),
        "stream_ids": [
            s.get("id") for s in data.get("streams") or [] if isinstance(s, dict)
        ],
    }


def template_parts(text: object, declared: list[str]) -> list[dict[str, t.Any]]:
    """``text`` split into literal text and variables, each variable checked.

    A variable is ``declared`` when it names a declared or built-in setting;
    a malformed brace gives one ``error`` part holding the whole text.
    """
    if not isinstance(text, str):
        return []
    try:
        parts = parse_template(text)
    except TemplateError as exc:
        return [{"text": text, "error": str(exc)}]
    known = set(declared) | set(BUILT_IN_SETTINGS)
    out: list[dict[str, t.Any]] = []
    for part in parts:
        if isinstance(part, Variable):
            ok = not part.from_config or part.name in known
            out.append({"text": str(part), "variable": part.name, "declared": ok})
        else:
            out.append({"text": part.replace("{", "{{").replace("}", "}}")})
    return out


def logo_src(data: dict[str, t.Any]) -> str | None:
    """The logo to preview: an http(s) URL as given, else one from the domain."""
    logo, domain = data.get("logo"), data.get("domain")
    if isinstance(logo, str) and logo.startswith(("https://", "http://")):
        return logo
    if isinstance(domain, str) and domain and not logo:
        from urllib.parse import quote

        return FAVICON_URL + quote(domain, safe="")
    return None


def schema_fields(
    data: dict[str, t.Any], connector: Connector | None
) -> dict[str, list[str]]:
    """Each stream's fields a child can take context from: names and JSONPaths."""
    found: dict[str, list[str]] = {}
    for stream in data.get("streams") or []:
        if not isinstance(stream, dict) or not isinstance(stream.get("id"), str):
            continue
        schema = stream.get("schema")
        if connector is not None:
            schema = connector.schemas.get(stream["id"], schema)
        found[stream["id"]] = _field_paths(schema)
    return found


def _field_paths(schema: object, prefix: str = "") -> list[str]:
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        return []
    out: list[str] = []
    for name, sub in schema["properties"].items():
        dotted = f"{prefix}.{name}" if prefix else name
        out.append(dotted if not prefix else f"$.{dotted}")
        out += _field_paths(sub, dotted)
    return out
