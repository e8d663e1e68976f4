"""``tap-builder import openapi``: accuracy on real documents, the CLI, ``--verify``.

The four real documents and their truth files are read in place from
``../shared/openapi/``; the demo APIs serve their own documents on 127.0.0.1.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tap_builder import load_spec, validate_spec
from tap_builder.cli import main
from tap_builder.demo import DemoServer
from tap_builder.openapi import import_openapi, render_spec
from tap_builder.openapi.incremental import example_format
from tap_builder.openapi.schemas import Schemas
from tap_builder.openapi.source import DocumentError, Source
from tests import openapi_accuracy

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"


@pytest.fixture(scope="module")
def accuracy_rows() -> list[openapi_accuracy.Row]:
    return openapi_accuracy.all_rows()


def test_truth_accuracy_meets_the_target(
    accuracy_rows: list[openapi_accuracy.Row],
) -> None:
    """At least 90% of the truth endpoints are right, over all four documents."""
    assert len(accuracy_rows) == 41
    right = sum(row.right for row in accuracy_rows)
    wrong = [f"{r.document} {r.path}: {r.detail}" for r in accuracy_rows if not r.right]
    assert right / len(accuracy_rows) >= 0.9, wrong
    for document in openapi_accuracy.DOCUMENTS:
        assert any(r.document == document for r in accuracy_rows)


def test_readme_shows_the_accuracy_table(
    accuracy_rows: list[openapi_accuracy.Row],
) -> None:
    """The README's table is what the accuracy script prints now."""
    assert openapi_accuracy.table(accuracy_rows) in README.read_text(encoding="utf-8")


@pytest.mark.parametrize("document", openapi_accuracy.DOCUMENTS)
def test_real_document_spec_validates(document: str, tmp_path: Path) -> None:
    """The spec written from each real document passes tap-builder validate."""
    plan = import_openapi(str(openapi_accuracy.SHARED / document))
    for name, text in render_spec(plan, "spec.yaml").items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    connector = validate_spec(load_spec(tmp_path / "spec.yaml"))
    assert len(connector.spec.streams) == len(plan.streams) > 5
    text = (tmp_path / "spec.yaml").read_text(encoding="utf-8")
    assert "# Not mapped (" in text
    assert text.count("[sure]") > len(plan.streams)


def _served(server: DemoServer, prefix: str) -> str:
    return f"{server.url}{prefix}/openapi.json"


def test_import_command_writes_a_commented_spec(
    demo_server: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The clinic document: table on stdout, spec with comments, parents linked."""
    spec = tmp_path / "clinic.yaml"
    code = main(
        ["import", "openapi", _served(demo_server, "/clinic/v1"), "-o", str(spec)]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "medical_forms  GET /clients/{client_id}/medical-forms" in out
    assert "updated_at via X-Updated-Since" in out
    text = spec.read_text(encoding="utf-8")
    assert "X-Clinic <- clients.clinic.code (link in the" in text
    assert "headers: {X-Clinic: '{clinic_code}'}" in text
    assert "child_context: {client_id: id, clinic_code: $.clinic.code}" in text
    assert "date_format: '%Y-%m-%dT%H:%M:%S'" in text
    assert main(["validate", str(spec)]) == 0


def test_existing_spec_is_not_overwritten(
    demo_server: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --force an existing file stays as it was."""
    spec = tmp_path / "spec.yaml"
    spec.write_text("mine\n", encoding="utf-8")
    code = main(
        ["import", "openapi", _served(demo_server, "/aircall/v1"), "-o", str(spec)]
    )
    assert code == 1
    assert (
        capsys.readouterr().err
        == f"error: {spec} exists; use --force to overwrite it\n"
    )
    assert spec.read_text(encoding="utf-8") == "mine\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1, 2]", "is not an OpenAPI 3 or Swagger 2.0 document"),
        ("openapi: 3.0.0\ninfo: {title: x}\n", "has no paths"),
        ("a: [", "is neither JSON nor YAML"),
    ],
)
def test_bad_documents_fail_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    """A document that is not OpenAPI: exit 1, one line, nothing written."""
    source = tmp_path / "doc.yaml"
    source.write_text(text, encoding="utf-8")
    out = tmp_path / "out.yaml"
    assert main(["import", "openapi", str(source), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert message in err
    assert not out.exists()


def test_verify_needs_a_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--verify without --config is refused before anything is read."""
    code = main(["import", "openapi", "missing.yaml", "--verify"])
    assert code == 1
    assert "--verify needs --config CONFIG" in capsys.readouterr().err


def test_remote_refs_are_not_fetched(tmp_path: Path) -> None:
    """A $ref to another host fails unless --remote-refs (no request is made)."""
    doc = {
        "openapi": "3.0.0",
        "info": {"title": "T", "version": "1"},
        "paths": {
            "/things": {
                "get": {
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "http://192.0.2.1/x.json#/Thing"}
                                }
                            },
                        }
                    }
                }
            }
        },
    }
    source = tmp_path / "doc.json"
    source.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(DocumentError, match="fetched only with --remote-refs"):
        import_openapi(str(source))


def test_verify_reports_corrections_for_a_wrong_document(
    demo_server: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The lab document misdescribes /tags; --verify fixes selector and paging."""
    config = tmp_path / "config.json"
    api = f"{demo_server.url}/lab/v1"
    config.write_text(json.dumps({"access_token": "lab-demo-token", "api_url": api}))
    spec = tmp_path / "lab.yaml"
    args = ["import", "openapi", f"{api}/openapi.json", "-o", str(spec)]
    assert main([*args, "--config", str(config), "--verify"]) == 0
    out = capsys.readouterr().out
    assert (
        "corrected tags: records_selector $.data[*] -> $.tags[*] "
        "(the response holds the records there)"
    ) in out
    assert (
        "corrected tags: pagination none -> link_header (the response sends "
        'Link: rel="next", which the document does not mention)'
    ) in out
    assert re.search(
        r"tags +GET /tags +link_header +- +corrected: 6 records, 2 pages", out
    )
    assert re.search(
        r"events .* yes: 4 records, 2 pages, key unique, next page differs", out
    )
    text = spec.read_text(encoding="utf-8")
    assert "# corrected by --verify: records_selector $.data[*] -> $.tags[*]" in text
    connector = validate_spec(load_spec(spec))
    tags = connector.spec.stream("tags")
    assert tags is not None
    assert tags.records_selector == "$.tags[*]"


def _source(data: dict[str, object]) -> Source:
    return Source(data=data, uri="file:///doc.json")


def test_schema_conversion_handles_nullable_oneof_allof_and_cycles() -> None:
    """3.0 nullable, oneOf unions, allOf merges and recursive refs."""
    doc = {
        "components": {
            "schemas": {
                "Node": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "child": {"$ref": "#/components/schemas/Node"},
                    },
                },
                "Base": {"type": "object", "properties": {"id": {"type": "string"}}},
            }
        }
    }
    schemas = Schemas(_source(doc))
    assert schemas.convert(
        {"type": "string", "nullable": True, "format": "date-time"}
    ) == {
        "type": ["string", "null"],
        "format": "date-time",
    }
    assert schemas.convert({"oneOf": [{"type": "string"}, {"type": "integer"}]}) == {
        "type": ["string", "integer"]
    }
    merged = schemas.convert(
        {
            "allOf": [
                {"$ref": "#/components/schemas/Base"},
                {"properties": {"n": {"type": "number"}}},
            ]
        }
    )
    assert merged["properties"] == {"id": {"type": "string"}, "n": {"type": "number"}}
    node = schemas.record_schema({"$ref": "#/components/schemas/Node"})
    assert node["properties"]["child"] == {}


@pytest.mark.parametrize(
    ("example", "fmt"),
    [
        ("2024-01-31T13:45:00Z", "%Y-%m-%dT%H:%M:%SZ"),
        ("2024-01-31 13:45:00", "%Y-%m-%d %H:%M:%S"),
        ("2024-01-31", "%Y-%m-%d"),
        ("yesterday", None),
    ],
)
def test_date_format_from_an_example(example: str, fmt: str | None) -> None:
    """The filter's value format is read off its documented example."""
    assert example_format(example) == fmt


def test_select_keeps_the_parents_of_selected_streams() -> None:
    """--select on a child brings its parent, and lists the rest as not selected."""
    netlify = str(openapi_accuracy.SHARED / "netlify.yml")
    plan = import_openapi(netlify, select=["*/deploys"])
    assert [s.id for s in plan.streams] == ["sites", "deploys"]
    deploys = plan.stream("deploys")
    assert deploys is not None
    assert deploys.parent == "sites"
    assert deploys.path == "/sites/{site_id}/deploys"
    assert plan.streams[0].child_context == {"site_id": "id"}
    assert any(s.reason == "not selected (--select)" for s in plan.skipped)
