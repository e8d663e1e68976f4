"""Response formats: CSV, XML, gzip/zip bodies and downloads.

Unit tests of the run-time readers (typing by schema, the XML mapping, bounds
on unpacking), validation of the spec keys, what is generated only when used,
and end to end (slow): sample_specs/features/lab_formats.yaml generated,
pip-installed and synced against the demo API.
"""

from __future__ import annotations

import decimal
import gzip
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tap_builder import load_spec, render_package, validate_spec
from tap_builder.commands.preview import run_stream
from tap_builder.demo import DemoServer, demo_config
from tap_builder.demo.apis.lab_formats import csv_text
from tap_builder.demo.lab import LAB_ITEMS
from tap_builder.runtime.compression import unpack
from tap_builder.runtime.csvio import read_csv
from tap_builder.runtime.http import ResponseTooLargeError
from tap_builder.runtime.typedtext import compile_record_caster
from tap_builder.runtime.xmlio import xml_document
from tests.e2e import SAMPLES, InstalledTap, Run, install_tap
from tests.test_validation import find, issues_of

SPEC = SAMPLES / "features" / "lab_formats.yaml"
GOOD_STREAMS = ("csv_items", "xml_items", "gzip_file", "export", "signed_export")


# --------------------------------------------------------------------------- #
# Types from the schema
# --------------------------------------------------------------------------- #

SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "amount": {"type": ["number", "null"]},
        "flag": {"type": "boolean"},
        "name": {"type": ["string", "null"]},
        "tags": {"type": "array", "items": {"type": "integer"}},
        "meta": {"type": "object", "properties": {"n": {"type": "integer"}}},
    },
}


@pytest.mark.parametrize(
    ("field", "text", "expected"),
    [
        ("id", " 42 ", 42),
        ("id", "-7", -7),
        ("id", "4.2", "4.2"),  # fits no type: stays text
        ("amount", "10.50", decimal.Decimal("10.50")),
        ("amount", "1e3", decimal.Decimal("1e3")),
        ("amount", "", None),
        ("amount", "NaN", "NaN"),
        ("flag", "Yes", True),
        ("flag", "0", False),
        ("flag", "maybe", "maybe"),
        ("name", "", ""),  # a string field keeps its empty text
        ("tags", "3", [3]),  # one value of an array field: a one-item list
        ("tags", ["1", "2"], [1, 2]),
        ("meta", {"n": "5"}, {"n": 5}),
    ],
)
def test_text_is_typed_by_the_schema(field: str, text: Any, expected: Any) -> None:
    """CSV/XML text becomes the schema's type, or stays text when it fits none."""
    record = compile_record_caster(SCHEMA)({field: text})
    assert record == {field: expected}
    assert type(record[field]) is type(expected)


# --------------------------------------------------------------------------- #
# CSV
# --------------------------------------------------------------------------- #


def _csv(text: str, **options: Any) -> list[dict[str, str]]:
    return list(read_csv(io.BytesIO(text.encode("utf-8")), options))


def test_csv_reads_quotes_delimiters_and_a_title_row() -> None:
    """Quoted fields keep delimiters, quotes and line breaks; skip_rows skips."""
    text = 'Export\r\nid;note\r\n1;"a; ""b""\nc"\r\n\r\n2;plain\r\n'
    rows = _csv(text, delimiter=";", skip_rows=1)
    assert rows == [{"id": "1", "note": 'a; "b"\nc'}, {"id": "2", "note": "plain"}]


def test_csv_without_header_uses_columns_and_ignores_a_bom() -> None:
    """header: false takes the names from columns; a UTF-8 BOM is not data."""
    assert _csv("\ufeff1,x\n2\n", header=False, columns=["id", "name"]) == [
        {"id": "1", "name": "x"},
        {"id": "2"},
    ]
    assert _csv("\ufeffid\n7\n") == [{"id": "7"}]


@pytest.mark.parametrize(
    ("text", "options", "message"),
    [
        ("id\n1,2\n", {}, "line 2 has 2 values, but there are 1 columns"),
        ('id\n"open\n', {}, "line 2: unexpected end of data"),
        ("a,b\n1,2\n", {"columns": ["x"]}, "the header row has 2 columns"),
        ("id\n\xe9\n", {"encoding": "ascii"}, "is not ascii text"),
    ],
)
def test_csv_errors_name_the_line(
    text: str, options: dict[str, Any], message: str
) -> None:
    """A broken row is one ValueError naming its line."""
    with pytest.raises(ValueError, match=message):
        _csv(text, **options)


def test_demo_csv_round_trips() -> None:
    """The demo API's CSV reads back as its records, typed."""
    rows = _csv(csv_text(LAB_ITEMS[:5]))
    typed = [compile_record_caster(_csv_schema())(row) for row in rows]
    assert [r["id"] for r in typed] == [1, 2, 3, 4, 5]
    assert typed[4]["amount"] is None
    assert typed[3]["active"] is False


def _csv_schema() -> dict[str, Any]:
    spec = validate_spec(load_spec(SPEC)).spec
    stream = spec.stream("csv_items")
    assert stream is not None
    assert stream.json_schema is not None
    return stream.json_schema


# --------------------------------------------------------------------------- #
# XML
# --------------------------------------------------------------------------- #


def test_xml_maps_attributes_repeats_text_and_namespaces() -> None:
    """The documented rule: @attributes, lists for repeated tags, #text."""
    doc = xml_document(
        b'<r xmlns="urn:x" xmlns:o="urn:o"><i o:id="1"><t>a</t><t>b</t>'
        b"<e/><w>  </w></i><i id='2'>hi<t>c</t></i><!-- c --></r>"
    )
    assert doc == {
        "r": {
            "i": [
                {"@id": "1", "t": ["a", "b"], "e": None, "w": None},
                {"@id": "2", "t": "c", "#text": "hi"},
            ]
        }
    }


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b'<!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><r>&b;</r>',
            "declares entities",
        ),
        (
            b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
            "declares entities",
        ),
        (b"<r><unclosed></r>", "mismatched tag"),
        (b"<a>" * 5000 + b"</a>" * 5000, "nested too deeply"),
    ],
    ids=["entity-expansion", "external-entity", "broken", "deep"],
)
def test_xml_refuses_entities_and_broken_documents(data: bytes, message: str) -> None:
    """Entity expansion, XXE, broken and absurdly deep documents: one ValueError."""
    with pytest.raises(ValueError, match=message):
        xml_document(data)


# --------------------------------------------------------------------------- #
# Compression: bounded whatever the file claims
# --------------------------------------------------------------------------- #


def _too_large() -> str:
    return "unpacks to too much"


def _zip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize(
    ("compression", "packed"),
    [
        ("gzip", gzip.compress(b"0" * 2_000_000)),
        ("zip", _zip({"big.csv": b"0" * 2_000_000})),
    ],
)
def test_bombs_stop_at_the_limit(compression: str, packed: bytes) -> None:
    """A few KB that unpack to 2 MB stop at a 1 MB limit, with the message."""
    assert len(packed) < 10_000
    file = unpack(io.BytesIO(packed), compression, 1_000_000, _too_large)
    with pytest.raises(ResponseTooLargeError, match="unpacks to too much"):
        file.read()


@pytest.mark.parametrize(
    ("compression", "packed", "message"),
    [
        ("gzip", b"plain text", "cannot be unpacked"),
        ("zip", b"plain text", "not a readable zip file"),
        ("zip", _zip({"a.csv": b"1", "b.csv": b"2"}), "exactly one file"),
    ],
)
def test_files_that_are_not_as_declared(
    compression: str, packed: bytes, message: str
) -> None:
    """Not gzip, not zip, or a zip of several files: one ValueError."""
    with pytest.raises(ValueError, match=message):
        unpack(io.BytesIO(packed), compression, 1_000_000, _too_large).read()


# --------------------------------------------------------------------------- #
# Spec keys
# --------------------------------------------------------------------------- #

HEAD = """\
name: F
tap_id: f
base_url: https://api.example.com
streams:
  - name: S
    id: s
    path: /s
    schema: {type: object, properties: {id: {type: integer}}}
"""


@pytest.mark.parametrize(
    ("lines", "path", "fragment"),
    [
        ("csv: {delimiter: ';'}", "streams[0].csv", "need response_format: text/csv"),
        (
            "response_format: text/csv\n    csv: {delimiter: '||'}",
            "streams[0].csv.delimiter",
            "is not one character",
        ),
        (
            "response_format: text/csv\n    csv: {quotechar: ','}",
            "streams[0].csv.quotechar",
            "must differ from the delimiter",
        ),
        (
            "response_format: text/csv\n    csv: {header: false}",
            "streams[0].csv.columns",
            "give the column names",
        ),
        (
            "response_format: text/csv\n    csv: {encoding: klingon}",
            "streams[0].csv.encoding",
            "not a known text encoding",
        ),
        (
            "response_format: text/csv\n    records_selector: '$.rows[*]'",
            "streams[0].records_selector",
            "records of a CSV answer are its rows",
        ),
        (
            "response_format: application/xml\n    download: {url: $.f}",
            "streams[0].download",
            "a download is a CSV or JSON Lines file",
        ),
        (
            "response_format: text/csv\n    download: {url: f}",
            "streams[0].download.url",
            "is not a JSONPath",
        ),
        ("compression: rar", "streams[0].compression", "Use one of: none, gzip, zip"),
        ("response_format: text/html", "streams[0].response_format", "text/csv"),
    ],
)
def test_format_keys_are_checked_with_field_paths(
    tmp_path: Path, lines: str, path: str, fragment: str
) -> None:
    """Each broken rule of the format keys is an issue at its field path."""
    find(issues_of(HEAD + "    " + lines + "\n", tmp_path), path, fragment)


def _rendered(tmp_path: Path, lines: str) -> dict[str, str]:
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(HEAD + "    " + lines + "\n", encoding="utf-8")
    files = render_package(validate_spec(load_spec(spec_file)))
    return {str(path): text for path, text in files.items() if isinstance(text, str)}


@pytest.mark.parametrize(
    ("lines", "modules"),
    [
        ("records_selector: $[*]", set()),
        ("response_format: text/csv", {"csvio.py", "typedtext.py"}),
        ("response_format: application/xml", {"xmlio.py", "typedtext.py"}),
        ("compression: gzip", {"compression.py"}),
        (
            "response_format: application/jsonl\n    download: {url: $.u}",
            {"downloads.py", "csvio.py", "typedtext.py", "compression.py"},
        ),
    ],
)
def test_format_code_is_generated_only_when_used(
    tmp_path: Path, lines: str, modules: set[str]
) -> None:
    """A format's run-time modules (and defusedxml) only in taps that use it."""
    files = _rendered(tmp_path, lines)
    formats = {"csvio.py", "xmlio.py", "typedtext.py", "compression.py", "downloads.py"}
    present = {name for name in formats if f"tap_f/runtime/{name}" in files}
    assert present == modules
    assert ("defusedxml" in files["pyproject.toml"]) == ("xmlio.py" in modules)


# --------------------------------------------------------------------------- #
# End to end
# --------------------------------------------------------------------------- #


@pytest.fixture(scope="module")
def formats_tap(
    tap_venv: Path, tmp_path_factory: pytest.TempPathFactory
) -> InstalledTap:
    """The lab_formats tap, generated and pip-installed (non-editable) once."""
    return install_tap(SPEC, tmp_path_factory.mktemp("formats") / "tap", tap_venv)


def _catalog(tap: InstalledTap, workdir: Path, streams: tuple[str, ...]) -> Any:
    discovered = tap.run("--discover", config={"token": "x"}, workdir=workdir)
    assert discovered.returncode == 0, discovered.stderr[-2000:]
    catalog = json.loads(discovered.stdout)
    for entry in catalog["streams"]:
        for metadata in entry["metadata"]:
            if metadata["breadcrumb"] == []:
                metadata["metadata"]["selected"] = entry["tap_stream_id"] in streams
    return catalog


@pytest.fixture(scope="module")
def formats_run(
    formats_tap: InstalledTap, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Run, list[Any]]:
    """One sync of the well-formed streams, with the server's request log."""
    workdir = tmp_path_factory.mktemp("formats-run")
    catalog = _catalog(formats_tap, workdir, GOOD_STREAMS)
    with DemoServer() as server:
        run = formats_tap.run(
            config=demo_config("lab", server.url), catalog=catalog, workdir=workdir
        )
        requests = server.requests
    assert run.returncode == 0, run.stderr[-3000:]
    return run, requests


def _csv_record(item: dict[str, Any]) -> dict[str, Any]:
    n = item["id"]
    return {
        "id": n,
        "name": item["name"],
        "kind": item["kind"],
        "amount": None if n == 5 else item["amount"],
        "active": item["status"] == "active",
        "note": f'says "hi"; n={n}',
    }


CSV_RECORDS = [_csv_record(item) for item in LAB_ITEMS]


@pytest.mark.slow
def test_csv_pages_are_typed_records(formats_run: tuple[Run, list[Any]]) -> None:
    """A gzip-encoded, ';'-separated CSV with a title row: exact typed records."""
    run, requests = formats_run
    assert run.records("csv_items") == CSV_RECORDS
    pages = [r.query.get("page") for r in requests if r.path == "/lab/v1/items.csv"]
    assert pages == [["1"], ["2"], ["3"], ["4"]]  # the empty 4th page ends paging
    assert all(
        "gzip" in r.headers.get("accept-encoding", "")
        for r in requests
        if r.path == "/lab/v1/items.csv"
    )
    assert run.assert_records_fit_schemas() > 0


@pytest.mark.slow
def test_xml_records_follow_the_mapping(formats_run: tuple[Run, list[Any]]) -> None:
    """Attributes as @keys, repeated tags as lists (one tag too), typed values."""
    run, requests = formats_run
    expected = [
        {
            "@id": item["id"],
            "@kind": item["kind"],
            "name": item["name"],
            "amount": item["amount"],
            "tag": [f"t{k}" for k in range(1, item["id"] % 3 + 2)],
            "meta": {"@updated": item["updated_at"]},
        }
        for item in LAB_ITEMS
    ]
    assert run.records("xml_items") == expected
    cursors = [r.query.get("cursor") for r in requests if r.path == "/lab/v1/items.xml"]
    assert cursors == [None, ["cur-4"], ["cur-8"]]


@pytest.mark.slow
def test_gzip_file_and_downloads(formats_run: tuple[Run, list[Any]]) -> None:
    """A gzip body, two linked gzip CSV parts, and a zip of JSON Lines."""
    run, requests = formats_run
    assert run.records("gzip_file") == CSV_RECORDS
    assert run.records("export") == CSV_RECORDS
    assert run.records("signed_export") == [dict(i) for i in LAB_ITEMS[:3]]
    files = [r for r in requests if r.path.startswith("/lab/v1/files/")]
    assert [r.path for r in files] == [
        "/lab/v1/files/part-1.csv.gz",
        "/lab/v1/files/part-2.csv.gz",
    ]
    assert all(r.headers["authorization"] == "Bearer lab-demo-token" for r in files)
    (signed,) = [r for r in requests if r.path == "/lab/v1/signed/export.zip"]
    assert signed.headers["host"].startswith("localhost:")
    assert "authorization" not in signed.headers  # another host: no credentials
    assert "lab-demo-token" not in run.stdout + run.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("stream", "message"),
    [
        (
            "bomb",
            "stream 'bomb': the gzip answer unpacks to more than 1 MB "
            "(the max_response_mb setting); reading stopped",
        ),
        (
            "zip_bomb",
            "stream 'zip_bomb': the file from {url}/files/bomb.zip unpacks to more "
            "than 1 MB (the max_response_mb setting); reading stopped",
        ),
        (
            "evil_xml",
            "stream 'evil_xml': the response from {url}/evil.xml is not XML (it "
            "declares entities or refers to external ones (EntitiesForbidden); "
            "refused)",
        ),
    ],
)
def test_bombs_and_entities_are_one_clear_error(
    formats_tap: InstalledTap,
    demo_server: DemoServer,
    tmp_path: Path,
    stream: str,
    message: str,
) -> None:
    """Gzip and zip bombs, and entity expansion: exit 1, one error, no records."""
    config = {
        **demo_config("lab", demo_server.url),
        "max_response_mb": 1,
        "max_attempts": 1,
    }
    catalog = _catalog(formats_tap, tmp_path, (stream,))
    run = formats_tap.run(config=config, catalog=catalog, workdir=tmp_path)
    assert run.returncode == 1
    assert run.records(stream) == []
    url = config["api_url"]
    assert message.format(url=url) in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.slow
@pytest.mark.parametrize("stream", GOOD_STREAMS)
def test_preview_shows_the_same_records(
    stream: str, formats_run: tuple[Run, list[Any]], demo_server: DemoServer
) -> None:
    """preview runs each format through the generated code: the same records."""
    connector = validate_spec(load_spec(SPEC))
    config = demo_config("lab", demo_server.url)
    result = run_stream(connector, stream, config, limit=None)
    run, _ = formats_run
    assert json.loads(json.dumps(result.records, default=float)) == run.records(stream)
    assert result.mismatches == []
