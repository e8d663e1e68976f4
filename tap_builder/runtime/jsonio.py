"""JSON in and out, fast.

Decoding with exact decimals, records by selector, a conformer compiled from
the schema, and a buffered Singer writer.
"""

from __future__ import annotations

import atexit
import decimal
import re
import sys
import typing as t

import msgspec
import singer_sdk.singerlib as singer
from singer_sdk.helpers.jsonpath import extract_jsonpath
from singer_sdk.io_base import GenericSingerWriter

if t.TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Mapping


_DECODER = msgspec.json.Decoder(float_hook=decimal.Decimal)
_ENCODER = msgspec.json.Encoder(decimal_format="number")
_SIMPLE_SELECTOR = re.compile(r"^\$((?:\.[A-Za-z_][A-Za-z0-9_]*)*)\[\*\]$")


TOO_DEEP = "JSON nested too deeply to read"


def decode_json(data: bytes | str) -> t.Any:  # noqa: ANN401
    """Decode JSON keeping decimals exact.

    Raises:
        ValueError: when ``data`` is not JSON.
    """
    try:
        return _DECODER.decode(data)
    except msgspec.DecodeError as exc:
        raise ValueError(str(exc)) from None
    except RecursionError:
        raise ValueError(TOO_DEEP) from None


def selector_keys(selector: str) -> tuple[str, ...] | None:
    """``$.data.items[*]`` -> ``("data", "items")``; None for other JSONPaths."""
    match = _SIMPLE_SELECTOR.match(selector)
    if match is None:
        return None
    return tuple(part for part in match.group(1).split(".") if part)


def select_records(body: t.Any, selector: str) -> list[t.Any]:  # noqa: ANN401
    """The records ``selector`` picks out of ``body``.

    Simple paths (``$[*]``, ``$.a.b[*]``) are plain key lookups; anything else
    goes through the SDK's JSONPath engine.
    """
    keys = selector_keys(selector)
    if keys is None:
        return list(extract_jsonpath(selector, input=body))
    node = body
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    if isinstance(node, list):
        return node
    return [] if node is None else [node]


def first_match(selector: str, body: t.Any) -> t.Any:  # noqa: ANN401
    """The first value ``selector`` (JSONPath) finds in ``body``, or None."""
    return next(iter(extract_jsonpath(selector, input=body)), None)


Conformer = t.Callable[[dict[str, t.Any]], dict[str, t.Any]]


def compile_conformer(
    schema: Mapping[str, t.Any], on_drop: t.Callable[[set[str]], None]
) -> Conformer:
    """A function that makes a record fit ``schema``, built once per stream.

    It does what the SDK's generic conformance does to JSON input, and no more:
    drops properties the schema does not declare (``on_drop`` hears of them) unless
    it allows additional properties, turns 0/1 into booleans for boolean-only
    fields, and recurses only into nested objects (and arrays of objects) that
    declare properties.
    """
    properties: Mapping[str, t.Any] = schema.get("properties", {})
    allowed = frozenset(properties)
    keep_extra = bool(schema.get("additionalProperties"))
    nested = tuple(
        (name, fn)
        for name, prop in properties.items()
        if (fn := _nested(prop, on_drop))
    )
    booleans = tuple(
        name
        for name, prop in properties.items()
        if _types(prop) <= {"boolean", "null"} and "boolean" in _types(prop)
    )

    def conform(record: dict[str, t.Any]) -> dict[str, t.Any]:
        if type(record) is not dict:  # a nested value that is not an object
            return record
        if not keep_extra and not record.keys() <= allowed:
            on_drop(set(record) - allowed)
            record = {key: value for key, value in record.items() if key in allowed}
        for name, fn in nested:
            value = record.get(name)
            if value is not None:
                record[name] = fn(value)
        for name in booleans:
            value = record.get(name)
            if type(value) is int and value in (0, 1):
                record[name] = bool(value)
        return record

    return conform


def _types(prop: Mapping[str, t.Any]) -> set[str]:
    types = prop.get("type", [])
    return {types} if isinstance(types, str) else set(types)


def _nested(
    prop: Mapping[str, t.Any], on_drop: t.Callable[[set[str]], None]
) -> t.Callable[[t.Any], t.Any] | None:
    if "object" in _types(prop) and prop.get("properties"):
        return compile_conformer(prop, on_drop)
    items = prop.get("items")
    if "array" in _types(prop) and isinstance(items, dict):
        each = _nested(items, on_drop)
        if each is not None:
            return lambda value: (
                [each(v) for v in value] if isinstance(value, list) else value
            )
    return None


class BufferedWriter(GenericSingerWriter[bytes, t.Any]):
    """Singer messages as JSON lines on stdout, buffered.

    RECORD messages are encoded straight into a buffer (msgspec), which is written
    out when it passes 64 KiB, before and with every STATE message, and at exit;
    so a STATE line never reaches stdout before the records it covers.
    """

    _LIMIT = 1 << 16

    def __init__(self) -> None:
        """Write to standard output, through a buffer."""
        self._buffer = bytearray()
        self._prefixes: dict[str, bytes] = {}
        self._stamp: tuple[object, bytes] | None = None
        self._schemas: dict[str, bytes] = {}
        atexit.register(self.flush)

    def serialize_message(self, message: t.Any) -> bytes:  # noqa: ANN401
        """One message as JSON bytes (no newline)."""
        return _ENCODER.encode(message.to_dict())

    def write_message(self, message: t.Any) -> None:  # noqa: ANN401
        """Buffer a message; STATE messages go out at once, after what came before.

        A SCHEMA message that repeats the stream's previous one is dropped: the
        SDK writes one each time a child stream syncs for a parent record.
        """
        buffer = self._buffer
        if type(message) is singer.SchemaMessage:
            encoded = self.serialize_message(message)
            if self._schemas.get(message.stream) != encoded:
                self._schemas[message.stream] = encoded
                buffer += encoded + b"\n"
            return
        if type(message) is singer.RecordMessage and message.version is None:
            buffer += self._prefix(message.stream)
            _ENCODER.encode_into(message.record, buffer, -1)
            buffer += self._time(message.time_extracted)
        else:
            buffer += self.serialize_message(message)
            buffer += b"\n"
            if message.type == singer.SingerMessageType.STATE:
                self.flush()
                return
        if len(buffer) > self._LIMIT:
            self.flush()

    def _prefix(self, stream: str) -> bytes:
        prefix = self._prefixes.get(stream)
        if prefix is None:
            prefix = (
                b'{"type":"RECORD","stream":' + _ENCODER.encode(stream) + b',"record":'
            )
            self._prefixes[stream] = prefix
        return prefix

    def _time(self, extracted: dt.datetime | None) -> bytes:
        if extracted is None:
            return b"}\n"
        if self._stamp is None or self._stamp[0] is not extracted:
            text = _ENCODER.encode(extracted.isoformat())
            self._stamp = (extracted, b',"time_extracted":' + text + b"}\n")
        return self._stamp[1]

    def flush(self) -> None:
        """Write out everything buffered."""
        if self._buffer:
            sys.stdout.flush()
            sys.stdout.buffer.write(self._buffer)
            self._buffer.clear()
        sys.stdout.flush()
