"""Every private place of the SDK (and of requests) the runtime touches, pinned.

Each has its own test here, so an upgrade that moves one fails by name:

- ``Stream._generate_record_messages``: overridden (it skips a per-record
  field-selection walk and clock call); the SDK's source is fingerprinted, so a
  change makes the runtime's copy be reviewed against the new code;
- ``singer_sdk.helpers._catalog.pop_deselected_record_properties`` and
  ``Stream._stream_version``: used by that override, as the SDK's method uses them;
- the ``progress_markers`` key of stream state: dropped when a date window is
  committed, so the final bookmark is the window's end;
- ``requests.Response._content``: set by the guarded session after it has read a
  body within its size and time limits (it is what ``Response.content`` returns);
- ``RESTStream._request``: the SDK's one-attempt send, wrapped in
  ``request_decorator`` exactly as the SDK's own paging loop wraps it, by the
  run-time modules that send requests outside that loop (pages sent ahead by
  concurrent streams, report-job polls and downloads, dynamic-stream discovery);
- ``singer_sdk.plugin_base._ConfigInput``: the type of ``Tap.invoke``'s
  ``config`` argument, which ``ParallelStreamsTap.invoke`` overrides.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import typing as t

from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.io_base import SingerWriter

from tap_builder.runtime.jsonio import BufferedWriter
from tap_builder.runtime.streams import BuilderStream

#: sha256 of the SDK's ``Stream._generate_record_messages`` source (0.54.x).
SDK_FINGERPRINT = "9b5f9fbcdedb7a1aec5673a44f51fd9bd88840f19f0fb29cba9953b9d9095bfe"


def test_sdk_method_is_the_one_reviewed() -> None:
    """Fails loudly when the SDK's method changes."""
    source = inspect.getsource(Stream._generate_record_messages)
    assert hashlib.sha256(source.encode()).hexdigest() == SDK_FINGERPRINT


class _Items(BuilderStream):
    name = "items"
    path = "/items"
    base_url = "https://x.test"
    schema: t.ClassVar[dict[str, t.Any]] = th.PropertiesList(
        th.Property("id", th.IntegerType),
        th.Property("name", th.StringType),
        th.Property("nested", th.ObjectType(th.Property("a", th.IntegerType))),
    ).to_dict()


class _Tap(Tap):
    name = "tap-contract"
    config_jsonschema: t.ClassVar[dict[str, t.Any]] = th.PropertiesList().to_dict()

    def discover_streams(self) -> list[_Items]:
        return [_Items(self)]


def _messages(
    catalog: dict[str, t.Any] | None, record: dict[str, t.Any]
) -> list[t.Any]:
    tap = _Tap(config={}, catalog=catalog, setup_mapper=True)
    stream = tap.streams["items"]
    ours = list(stream._generate_record_messages(dict(record)))
    theirs = list(Stream._generate_record_messages(stream, dict(record)))
    return [ours, theirs]


def test_override_matches_the_sdk_output() -> None:
    """Same messages as the SDK's method (conformed records), all selected."""
    ours, theirs = _messages(None, {"id": 1, "name": "a", "nested": {"a": 2}})
    assert [m.record for m in ours] == [m.record for m in theirs]
    assert [m.stream for m in ours] == [m.stream for m in theirs]


def test_override_drops_deselected_properties() -> None:
    """A property deselected in the catalog is dropped, as the SDK does."""
    catalog = _Tap(config={}).catalog_dict
    for metadata in catalog["streams"][0]["metadata"]:
        if metadata["breadcrumb"] == ["properties", "name"]:
            metadata["metadata"]["selected"] = False
    ours, theirs = _messages(catalog, {"id": 1, "name": "a", "nested": {"a": 2}})
    assert ours[0].record == theirs[0].record == {"id": 1, "nested": {"a": 2}}


def test_buffered_writer_writes_what_the_sdk_writer_writes(capfdbinary: t.Any) -> None:
    """The buffered writer's lines parse to the SDK writer's, STATE after records."""
    tap = _Tap(config={})
    stream = tap.streams["items"]
    messages = list(
        stream._generate_record_messages({"id": 1, "name": "é", "nested": None})
    )
    import singer_sdk.singerlib as singer

    messages.append(singer.StateMessage(value={"bookmarks": {}}))
    writer = BufferedWriter()
    for message in messages:
        writer.write_message(message)
    ours = [json.loads(line) for line in capfdbinary.readouterr().out.splitlines()]
    sdk = SingerWriter()
    theirs = [json.loads(sdk.serialize_message(m)) for m in messages]
    assert ours == theirs


def test_pop_deselected_record_properties_keeps_its_signature() -> None:
    """The override calls it as the SDK's method does: (record, schema, mask)."""
    from singer_sdk.helpers import _catalog

    parameters = inspect.signature(_catalog.pop_deselected_record_properties).parameters
    assert list(parameters)[:3] == ["record", "schema", "mask"]


def test_stream_version_is_the_attribute_the_sdk_sets() -> None:
    """``_stream_version`` starts as None and is what the SDK's sync assigns."""
    stream = _Tap(config={}).streams["items"]
    assert stream._stream_version is None
    assert "self._stream_version =" in inspect.getsource(Stream.sync)


def test_progress_markers_key_of_stream_state() -> None:
    """The SDK keeps unsorted progress under ``progress_markers`` and finalizes it."""
    from singer_sdk.helpers import _state

    assert _state.PROGRESS_MARKERS == "progress_markers"
    state = {"progress_markers": {"replication_key": "k", "replication_key_value": 1}}
    _state.finalize_state_progress_markers(state)
    assert state == {"replication_key": "k", "replication_key_value": 1}


def test_response_content_is_what_the_session_sets() -> None:
    """``Response.content``, ``.text`` and ``.json()`` read ``_content``."""
    import requests

    response = requests.Response()
    response._content = b'{"a": 1}'
    response.encoding = "utf-8"
    assert response.content == b'{"a": 1}'
    assert response.text == '{"a": 1}'
    assert response.json() == {"a": 1}


def test_request_is_the_one_attempt_send_the_sdk_decorates() -> None:
    """``_request(prepared_request, context) -> Response``, and the SDK's paging
    loop sends through ``self.request_decorator(self._request)``, as the run-time
    modules that send outside it do."""
    from singer_sdk.streams.rest import RESTStream

    parameters = list(inspect.signature(RESTStream._request).parameters)
    assert parameters == ["self", "prepared_request", "context"]
    assert "self.request_decorator(self._request)" in inspect.getsource(
        RESTStream.request_records
    )


def test_config_input_is_the_type_of_invoke_config() -> None:
    """``ParallelStreamsTap.invoke`` takes ``config`` as ``Tap.invoke`` does."""
    from singer_sdk import plugin_base

    assert isinstance(plugin_base._ConfigInput, type)
    parameters = inspect.signature(Tap.invoke).parameters
    assert list(parameters) == ["about", "about_format", "config", "state", "catalog"]
    assert "_ConfigInput" in str(parameters["config"].annotation)
