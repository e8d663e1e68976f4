"""Dynamic streams: one stream per item of a config list or of an API answer.

The spec's stream is a template (``for_each``). At discovery (``--discover``
and every sync), :meth:`DynamicStream.instances` reads the items, from a list
setting or from one request to a discovery endpoint, and makes one stream per
item, named from it. The item is the ``{item}`` / ``{item.NAME}`` variable of
the stream's path, parameters, headers, body and added fields. Catalogs and
state are keyed by these names, as for any stream.
"""

from __future__ import annotations

import decimal
import itertools
import re
import typing as t
from urllib.parse import quote

from .http import APIError
from .jsonio import select_records
from .streams import BuilderStream
from .variables import MissingValueError, render_text

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from singer_sdk import Tap


_Stream = t.TypeVar("_Stream", bound=BuilderStream)
#: What a stream id may hold; anything else becomes ``_``.
_NOT_ID = re.compile(r"[^a-z0-9_]+")


def stream_id_of(text: str) -> str:
    """A valid stream id from rendered text: lowercase, ``_`` for other characters.

    ``Sales Report`` -> ``sales_report``, ``2024`` -> ``_2024``; "" stays "".
    """
    name = _NOT_ID.sub("_", text.lower()).strip("_")
    return "_" + name if name[:1].isdigit() else name


def named_uniquely(streams: list[_Stream]) -> list[_Stream]:
    """The tap's streams, after checking that no two have one name.

    Raises:
        APIError: naming the streams that collide (one clear line).
    """
    seen: dict[str, _Stream] = {}
    for stream in streams:
        other = seen.get(stream.name)
        if other is not None:
            msg = (
                f"two streams are named {stream.name!r} ({_origin(other)} and "
                f"{_origin(stream)}); change for_each.stream_id or the items so "
                "that every stream id is unique"
            )
            raise APIError(msg)
        seen[stream.name] = stream
    return streams


def _origin(stream: BuilderStream) -> str:
    template = getattr(stream, "template_name", None)
    if template is None:
        return f"the spec's stream {stream.name!r}"
    return f"an item of stream {template!r}"


def infer_properties(records: Iterable[Mapping[str, t.Any]]) -> dict[str, t.Any]:
    """Property schemas for the fields of sample records (every one nullable)."""
    found: dict[str, set[str]] = {}
    for record in records:
        for key, value in record.items():
            found.setdefault(key, set()).add(_json_type(value))
    properties: dict[str, t.Any] = {}
    for key, types in found.items():
        if {"integer", "number"} <= types:
            types.discard("integer")
        kinds = sorted(types - {"null"}) or ["string"]
        properties[key] = {"type": [*kinds, "null"]}
    return properties


#: JSON Schema types of decoded JSON values, most specific first (a bool is an int).
_JSON_TYPES: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (type(None), "null"),
    (bool, "boolean"),
    (int, "integer"),
    ((float, decimal.Decimal), "number"),
    (dict, "object"),
    (list, "array"),
)


def _json_type(value: object) -> str:
    return next(
        (name for kind, name in _JSON_TYPES if isinstance(value, kind)), "string"
    )


class DynamicStream(BuilderStream):
    """A stream template (the spec's ``for_each``), instantiated per item."""

    #: The list setting whose items make the streams, or the discovery path
    #: and the JSONPath to the items in its answer.
    for_each_config: t.ClassVar[str | None] = None
    for_each_path: t.ClassVar[str | None] = None
    for_each_records: t.ClassVar[str] = "$[*]"
    #: Each stream's id, from its item (``report_{item}``).
    for_each_stream_id: t.ClassVar[str] = "{item}"
    #: At most this many streams; more items is an error.
    for_each_max_items: t.ClassVar[int] = 100
    #: At discovery, read up to this many records per stream to add the fields
    #: they hold to the declared schema (0: the declared schema only).
    for_each_sample: t.ClassVar[int] = 0

    #: This stream's item, and the spec's stream it comes from (None: the
    #: template itself, used for discovery).
    item: t.Any = None
    template_name: str | None = None

    @classmethod
    def instances(cls, tap: Tap) -> list[t.Self]:
        """One stream per item, named from it (discovery: ``--discover``, syncs).

        Raises:
            APIError: an item without a usable id, or too many items.
        """
        template = cls(tap)
        items = template.discovered_items()
        origin = template.name
        streams: list[t.Self] = []
        for index, item in enumerate(items):
            try:
                text = render_text(cls.for_each_stream_id, {}, {"item": item})
            except MissingValueError as exc:
                msg = (
                    f"stream {origin!r}: item {index + 1} has no id: {exc}, but "
                    f"for_each.stream_id {cls.for_each_stream_id!r} needs it"
                )
                raise APIError(msg) from None
            name = stream_id_of(text)
            if not name:
                msg = (
                    f"stream {origin!r}: item {index + 1} gives the stream id "
                    f"{text!r}, which has no letter or digit"
                )
                raise APIError(msg)
            stream = cls(tap, name=name)
            stream.item, stream.template_name = item, origin
            if cls.for_each_sample:
                stream.add_sampled_fields()
            streams.append(stream)
        return streams

    def discovered_items(self) -> list[t.Any]:
        """The items: the list setting's, or the discovery endpoint's records."""
        if self.for_each_config is not None:
            items = self.config.get(self.for_each_config) or []
            if not isinstance(items, list):
                msg = (
                    f"the setting {self.for_each_config!r} must be a list (of "
                    "strings or objects), one item per stream"
                )
                raise APIError(msg)
        else:
            items = self._items_from_endpoint()
        if len(items) > self.for_each_max_items:
            msg = (
                f"stream {self.name!r}: {len(items)} items, more than "
                f"for_each.max_items ({self.for_each_max_items}); raise it in the spec"
            )
            raise APIError(msg)
        return items

    def _items_from_endpoint(self) -> list[t.Any]:
        path = render_text(
            self.for_each_path or "",
            self.config,
            None,
            encode_config=lambda v: quote(v, safe="/"),
        )
        prepared = self.build_prepared_request(
            method="GET", url=self.url_base + path, headers=self.http_headers
        )
        response = self.request_decorator(self._request)(prepared, None)
        return select_records(self.decode_body(response), self.for_each_records)

    def add_sampled_fields(self) -> None:
        """Add the fields of this stream's first records to its declared schema.

        Reads at most ``for_each_sample`` records (declared fields win).
        """
        records = list(
            itertools.islice(self.request_records(None), self.for_each_sample)
        )
        schema = dict(self.schema)
        declared = dict(schema.get("properties", {}))
        sampled = infer_properties(records)
        schema["properties"] = {**sampled, **declared}
        vars(self)["schema"] = schema  # this stream's own schema

    # -- the item as a variable ---------------------------------------------- #

    def _with_item(self, context: Mapping[str, t.Any] | None) -> dict[str, t.Any]:
        return {**(context or {}), "item": self.item}

    def get_url(self, context: Mapping[str, t.Any] | None) -> str:
        """The URL, with ``{item}`` variables in the path."""
        return super().get_url(self._with_item(context))

    def render_text(self, template: str, context: Mapping[str, t.Any] | None) -> str:
        """Render a spec string; ``{item}`` variables too."""
        return super().render_text(template, self._with_item(context))

    def render_fields(
        self, fields: Mapping[str, object], context: Mapping[str, t.Any] | None
    ) -> dict[str, str]:
        """Render query parameters or headers; ``{item}`` variables too."""
        return super().render_fields(fields, self._with_item(context))

    def render_data(
        self, template: object, context: Mapping[str, t.Any] | None
    ) -> t.Any:  # noqa: ANN401
        """Render a body or added fields; ``{item}`` variables too."""
        return super().render_data(template, self._with_item(context))
