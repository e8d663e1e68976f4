"""XML answers: the document as JSON, records by ``records_selector``.

The mapping, the same for every document:

- The document is ``{root tag: root element}``.
- An element with neither attributes nor child elements is its text (None
  when empty or only whitespace).
- Any other element is an object: each attribute as ``"@name"``, each child
  element under its tag, and its text (if not only whitespace) as ``"#text"``.
  A tag that occurs more than once becomes a list, in document order.
- Namespaces are dropped from tags and attribute names (``{uri}item`` ->
  ``item``); comments, processing instructions and text between child
  elements are ignored.

Records are then typed by the schema (see :mod:`typedtext`): text becomes
integers, numbers or booleans, and a field the schema declares as an array
is always a list (one element gives a one-item list).

Parsing goes through defusedxml: a document that declares entities or refers
to external ones is refused (no "billion laughs", no file or URL read).
"""

from __future__ import annotations

import typing as t
from functools import cached_property

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from .streams import BuilderStream
from .typedtext import Caster, compile_record_caster

if t.TYPE_CHECKING:
    from collections.abc import Iterable
    from xml.etree.ElementTree import Element

    import requests


def _name(tag: str) -> str:
    return tag.rpartition("}")[2]


def _text(text: str | None) -> str | None:
    return text if text and text.strip() else None


def element_value(element: Element) -> t.Any:  # noqa: ANN401
    """One element as JSON, by the module's mapping."""
    children = list(element)
    if not children and not element.attrib:
        return _text(element.text)
    node: dict[str, t.Any] = {
        f"@{_name(key)}": value for key, value in element.attrib.items()
    }
    repeated: set[str] = set()
    for child in children:
        key, value = _name(child.tag), element_value(child)
        if key in repeated:
            node[key].append(value)
        elif key in node:
            node[key] = [node[key], value]
            repeated.add(key)
        else:
            node[key] = value
    if (text := _text(element.text)) is not None:
        node["#text"] = text
    return node


def xml_document(data: bytes) -> dict[str, t.Any]:
    """An XML document as JSON (``{root tag: ...}``).

    Raises:
        ValueError: when it is not XML, declares entities, or nests too deeply.
    """
    try:
        root = fromstring(data)
    except DefusedXmlException as exc:
        msg = (
            f"it declares entities or refers to external ones ({type(exc).__name__});"
            " refused"
        )
        raise ValueError(msg) from None
    except ParseError as exc:
        raise ValueError(str(exc)) from None
    try:
        return {_name(root.tag): element_value(root)}
    except RecursionError:
        msg = "it is nested too deeply to read"
        raise ValueError(msg) from None


class XmlStream(BuilderStream):
    """A stream whose answers are XML."""

    format_name = "XML"

    @cached_property
    def record_caster(self) -> Caster:
        """Types the fields of a record by the schema (built once)."""
        return compile_record_caster(self.schema)

    def parse_body(self, data: bytes) -> t.Any:  # noqa: ANN401
        """The XML document as JSON."""
        return xml_document(data)

    def parse_response(self, response: requests.Response) -> Iterable[dict[str, t.Any]]:
        """The selected records, typed by the schema."""
        cast = self.record_caster
        for record in super().parse_response(response):
            yield cast(record)
