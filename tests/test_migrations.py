"""Spec versions: validate reads every version, says when one is old, and
``tap-builder migrate`` rewrites a spec keeping its comments and order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tap_builder import SpecError, load_spec, parse_spec_text, validate_spec
from tap_builder.cli import main
from tap_builder.commands.migrate import migrate_spec
from tap_builder.spec.migrations import SPEC_VERSION, STEPS, version_of
from tests.e2e import SAMPLES

SPECS = sorted(SAMPLES.glob("*.yaml")) + sorted((SAMPLES / "features").glob("*.yaml"))


def _as_version_1(text: str) -> str:
    """A current sample spec as it was written for spec_version 1."""
    assert "spec_version: 2\n" in text
    return text.replace("spec_version: 2\n", "", 1).replace(
        "page_param: ", "attribute: "
    )


def test_one_step_per_version() -> None:
    """Every version before the current one has its step."""
    assert sorted(STEPS) == list(range(1, SPEC_VERSION))


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_migrate_round_trips_every_sample(spec: Path, tmp_path: Path) -> None:
    """The version-1 form of each sample migrates back to the sample, byte for
    byte (comments, order, quoting and flow style kept), and both forms
    validate to the same spec."""
    for extra in spec.parent.glob("*.json"):
        (tmp_path / extra.name).write_bytes(extra.read_bytes())
    if (spec.parent / "schemas").is_dir():
        (tmp_path / "schemas").mkdir()
        for extra in (spec.parent / "schemas").iterdir():
            (tmp_path / "schemas" / extra.name).write_bytes(extra.read_bytes())
    old = tmp_path / spec.name
    old.write_text(_as_version_1(spec.read_text(encoding="utf-8")), encoding="utf-8")
    assert version_of(load_spec(old).data) == 1
    before = validate_spec(load_spec(old)).spec
    migrated = migrate_spec(old)
    assert migrated.migration.from_version == 1
    assert old.read_text(encoding="utf-8") == spec.read_text(encoding="utf-8")
    assert validate_spec(load_spec(old)).spec == before


def test_validate_names_an_old_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A version-1 spec is valid, and validate says how to upgrade it."""
    old = tmp_path / "aircall.yaml"
    text = (SAMPLES / "aircall.yaml").read_text(encoding="utf-8")
    old.write_text(_as_version_1(text), encoding="utf-8")
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "aircall_users.json").write_bytes(
        (SAMPLES / "schemas" / "aircall_users.json").read_bytes()
    )
    assert main(["validate", str(old)]) == 0
    captured = capsys.readouterr()
    assert "valid (2 streams" in captured.out
    assert captured.err == (
        f"{old}: spec_version 1, the current format is 2; tap-builder migrate "
        f"{old} upgrades it\n"
    )


def test_old_key_in_a_current_spec_is_an_error(tmp_path: Path) -> None:
    """spec_version 2 with attribute: the line and the new name."""
    text = (SAMPLES / "helpdesk.yaml").read_text(encoding="utf-8")
    spec = tmp_path / "helpdesk.yaml"
    spec.write_text(text.replace("page_param: ", "attribute: "), encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        validate_spec(load_spec(spec))
    (issue,) = caught.value.issues
    assert issue.path == "streams[0].pagination.attribute"
    assert issue.message == (
        "'attribute' is called 'page_param' since spec_version 2; rename it"
    )
    line = spec.read_text(encoding="utf-8").splitlines()[(issue.line or 0) - 1]
    assert "attribute:" in line


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("3", "spec_version 3 is newer than this tap-builder reads (up to 2)"),
        ("'two'", "spec_version must be a whole number from 1 to 2"),
        ("0", "spec_version must be a whole number from 1 to 2"),
    ],
)
def test_unknown_version_is_refused(value: str, message: str) -> None:
    """A version this tap-builder does not know: one line at spec_version."""
    text = (SAMPLES / "clinic.yaml").read_text(encoding="utf-8")
    loaded = parse_spec_text(text.replace("spec_version: 2", f"spec_version: {value}"))
    with pytest.raises(SpecError) as caught:
        validate_spec(loaded)
    assert [(i.path, i.message) for i in caught.value.issues] == [
        ("spec_version", message if value != "3" else message + "; upgrade tap-builder")
    ]


def test_version_1_problems_point_at_the_lines_as_written(tmp_path: Path) -> None:
    """A problem under a renamed key names the new key at the old key's line."""
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "name: S\ntap_id: s\nbase_url: https://x.test\nstreams:\n"
        "  - name: A\n    id: a\n    path: /a\n    schema: {type: object}\n"
        "    pagination:\n      type: page_increment\n      attribute: ''\n",
        encoding="utf-8",
    )
    with pytest.raises(SpecError) as caught:
        validate_spec(load_spec(spec))
    (issue,) = caught.value.issues
    assert issue.path == "streams[0].pagination.page_param"
    assert issue.line == 11


def test_migrate_cli_json_dry_run_and_current(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """JSON keeps its key order; --dry-run writes nothing; a current spec is
    left alone."""
    data = {
        "name": "S",
        "tap_id": "s",
        "base_url": "https://x.test",
        "streams": [
            {
                "name": "A",
                "id": "a",
                "path": "/a",
                "pagination": {"type": "page_increment", "attribute": "p"},
                "schema": {"type": "object"},
            }
        ],
    }
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps(data, indent=2), encoding="utf-8")
    assert main(["migrate", str(spec), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert '-        "attribute": "p"' in out
    assert json.loads(spec.read_text(encoding="utf-8")) == data
    assert main(["migrate", str(spec)]) == 0
    assert capsys.readouterr().out == (
        f"migrated {spec} from spec_version 1 to 2:\n"
        "  renamed streams[0].pagination.attribute to page_param\n"
        "  set spec_version: 2\n"
    )
    migrated = json.loads(spec.read_text(encoding="utf-8"))
    assert list(migrated) == ["spec_version", *data]
    assert list(migrated["streams"][0]["pagination"]) == ["type", "page_param"]
    before = spec.read_bytes()
    assert main(["migrate", str(spec)]) == 0
    assert capsys.readouterr().out == f"{spec}: already spec_version 2\n"
    assert spec.read_bytes() == before


@pytest.mark.parametrize(
    ("edit", "path", "fragment"),
    [
        (
            "    custom: {paginator: Mine}\n",
            "streams[0]",
            "give pagination or custom.paginator, not both",
        ),
        (
            "    custom: {paginator: class}\n",
            "streams[0].custom.paginator",
            "'class' is a Python keyword",
        ),
        (
            "    custom: {paginator: my-pager}\n",
            "streams[0].custom.paginator",
            "it must match",
        ),
    ],
)
def test_custom_keys_are_checked(edit: str, path: str, fragment: str) -> None:
    """custom.* names a Python class, and replaces the spec's own block."""
    text = (SAMPLES / "helpdesk.yaml").read_text(encoding="utf-8")
    anchor = "    pagination:"
    with pytest.raises(SpecError) as caught:
        validate_spec(parse_spec_text(text.replace(anchor, edit + anchor, 1)))
    found = [(i.path, i.message) for i in caught.value.issues]
    assert any(p == path and fragment in m for p, m in found), found


def test_custom_authenticator_replaces_authentication() -> None:
    """custom.authenticator with an authentication block is refused."""
    text = (SAMPLES / "helpdesk.yaml").read_text(encoding="utf-8")
    text = text.replace("streams:\n", "custom: {authenticator: Mine}\nstreams:\n", 1)
    with pytest.raises(SpecError) as caught:
        validate_spec(parse_spec_text(text))
    assert any(
        "give authentication or custom.authenticator, not both" in i.message
        for i in caught.value.issues
    )
