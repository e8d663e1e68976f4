"""Read an OpenAPI or Swagger document from a file or URL and resolve its ``$ref``s.

Parsing is JSON or YAML (YAML 1.1 dates stay strings, so every value is JSON);
``$ref`` resolution goes through :mod:`referencing` (the resolver behind
``jsonschema``), with one registry per import. References inside the document and
to files next to a local document are followed; references to other hosts are
fetched only with ``remote_refs=True``, with the same size and time bounds as a
document given by URL. Structural validation is openapi-spec-validator's; its
findings are reported as warnings, since real documents often break a rule or two
and still describe their API well.
"""

from __future__ import annotations

import json
import typing as t
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

import requests
import yaml
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource, Unresolvable

if t.TYPE_CHECKING:
    from referencing._core import Resolver

JSON = t.Any

#: Largest document (or referenced file) read, in bytes.
MAX_DOCUMENT_BYTES = 25_000_000
#: Seconds a URL may take to answer and to send its body.
FETCH_TIMEOUT = 30.0
#: Validation findings shown at most.
MAX_WARNINGS = 10


class DocumentError(Exception):
    """The document cannot be imported; the message is one line for the user."""


class _Loader(yaml.SafeLoader):
    """A safe loader that keeps dates and times as strings (JSON has none)."""


_Loader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_text(text: str, where: str) -> JSON:
    """Parse a JSON or YAML document (JSON first, it is the faster parser)."""
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            pass  # YAML flow style may start with a brace too
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not JSON or YAML"
        msg = f"{where} is neither JSON nor YAML: {problem}{line}"
        raise DocumentError(msg) from None


def is_url(source: str) -> bool:
    """Whether ``source`` is an http(s) URL rather than a file name."""
    return urlsplit(source).scheme in ("http", "https")


def fetch_url(url: str) -> str:
    """GET ``url`` within :data:`MAX_DOCUMENT_BYTES` and :data:`FETCH_TIMEOUT`."""
    try:
        with requests.get(url, timeout=FETCH_TIMEOUT, stream=True) as response:
            if response.status_code >= 400:
                msg = f"{url} answered HTTP {response.status_code}"
                raise DocumentError(msg)
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_content(65536):
                size += len(chunk)
                if size > MAX_DOCUMENT_BYTES:
                    msg = f"{url} is larger than {MAX_DOCUMENT_BYTES:,} bytes"
                    raise DocumentError(msg)
                chunks.append(chunk)
    except requests.RequestException as exc:
        msg = f"cannot fetch {url}: {type(exc).__name__}"
        raise DocumentError(msg) from None
    return b"".join(chunks).decode("utf-8", "replace")


def read_file(path: Path) -> str:
    """Read a local document within :data:`MAX_DOCUMENT_BYTES`."""
    try:
        size = path.stat().st_size
        if size > MAX_DOCUMENT_BYTES:
            msg = f"{path} is larger than {MAX_DOCUMENT_BYTES:,} bytes"
            raise DocumentError(msg)
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        msg = f"cannot read {path}: {exc.strerror or exc}"
        raise DocumentError(msg) from None
    except UnicodeDecodeError:
        msg = f"{path} is not UTF-8 text"
        raise DocumentError(msg) from None


@dataclass
class Source:
    """A parsed document, where it came from, and its ``$ref`` resolver."""

    data: dict[str, JSON]
    uri: str
    remote_refs: bool = False
    warnings: list[str] = field(default_factory=list)
    _resolver: Resolver[JSON] | None = None

    @property
    def version(self) -> str:
        """``2.0``, ``3.0`` or ``3.1`` (from ``swagger``/``openapi``)."""
        if "swagger" in self.data:
            return "2.0"
        return ".".join(str(self.data.get("openapi", "3.0")).split(".")[:2])

    @property
    def resolver(self) -> Resolver[JSON]:
        """The resolver rooted at this document (built on first use)."""
        if self._resolver is None:
            registry: Registry[JSON] = Registry(retrieve=self._retrieve)  # type: ignore[call-arg]
            registry = registry.with_resource(self.uri, Resource.opaque(self.data))
            self._resolver = registry.resolver(base_uri=self.uri)
        return self._resolver

    def _retrieve(self, uri: str) -> Resource[JSON]:
        """Fetch a referenced document: local files near a local one, URLs if asked."""
        if is_url(uri):
            if not self.remote_refs:
                raise NoSuchResource(ref=uri)  # type: ignore[call-arg]
            return Resource.opaque(parse_text(fetch_url(uri), uri))
        if uri.startswith("file://") and self.uri.startswith("file://"):
            path = Path(urlsplit(uri).path)
            home = Path(urlsplit(self.uri).path).parent
            if path.resolve().is_relative_to(home.resolve()):
                return Resource.opaque(parse_text(read_file(path), str(path)))
        raise NoSuchResource(ref=uri)  # type: ignore[call-arg]

    def deref(self, node: JSON, depth: int = 0) -> JSON:
        """``node`` with its own ``$ref`` chain followed (nested refs stay)."""
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            if depth > 50:
                msg = f"$ref chain too long at {node['$ref']}"
                raise DocumentError(msg)
            node = self.lookup(node["$ref"])
            depth += 1
        return node

    def lookup(self, ref: str) -> JSON:
        """The value a ``$ref`` points to; unresolvable refs raise DocumentError."""
        try:
            return self.resolver.lookup(ref).contents
        except (Unresolvable, NoSuchResource):
            where = urldefrag(ref).url
            why = (
                "remote references are fetched only with --remote-refs"
                if is_url(where) and not self.remote_refs
                else "it cannot be resolved"
            )
            msg = f"$ref {ref!r}: {why}"
            raise DocumentError(msg) from None


def load_source(source: str, *, remote_refs: bool = False) -> Source:
    """Read, parse and check a document given as a file name or an http(s) URL.

    Raises:
        DocumentError: when it cannot be read, parsed, or is not OpenAPI/Swagger.
    """
    if is_url(source):
        text, uri = fetch_url(source), source
    else:
        path = Path(source)
        text, uri = read_file(path), path.resolve().as_uri()
    data = parse_text(text, source)
    if not isinstance(data, dict) or not (
        "openapi" in data or str(data.get("swagger", "")).startswith("2")
    ):
        msg = (
            f"{source} is not an OpenAPI 3 or Swagger 2.0 document "
            "(no openapi/swagger key)"
        )
        raise DocumentError(msg)
    if not isinstance(data.get("paths"), dict):
        msg = f"{source} has no paths"
        raise DocumentError(msg)
    found = Source(data=data, uri=uri, remote_refs=remote_refs)
    if not remote_refs and any(is_url(urljoin(uri, ref)) for ref in _refs(data)):
        # The validator would fetch them: it runs only when that is allowed.
        found.warnings.append(
            "document: not validated, it refers to other hosts (see --remote-refs)"
        )
    else:
        found.warnings.extend(validation_warnings(data, uri))
    return found


def _refs(node: JSON) -> t.Iterator[str]:
    """Every ``$ref`` value in the document that points outside it."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str) and not ref.startswith("#"):
                yield ref
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def validation_warnings(data: dict[str, JSON], uri: str) -> list[str]:
    """openapi-spec-validator's findings, at most :data:`MAX_WARNINGS` lines."""
    from openapi_spec_validator.shortcuts import get_validator_cls

    try:
        validator = get_validator_cls(data)(data, base_uri=uri)
        errors = []
        for error in validator.iter_errors():
            errors.append(error)
            if len(errors) > MAX_WARNINGS:
                break
    except Exception as exc:
        return [f"the document could not be fully validated ({type(exc).__name__})"]
    lines = []
    for error in errors[:MAX_WARNINGS]:
        where = "/".join(str(p) for p in getattr(error, "absolute_path", ()))
        message = str(getattr(error, "message", error)).splitlines()[0][:200]
        lines.append(f"document: {where or '(root)'}: {message}")
    if len(errors) > MAX_WARNINGS:
        lines.append("document: more validation findings not shown")
    return lines


def join_url(base: str, ref: str) -> str:
    """``ref`` resolved against ``base`` (for relative server URLs)."""
    return urljoin(base, ref)
