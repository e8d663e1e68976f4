"""The studio's server side without a browser: edits, analysis, config, publish."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from tap_builder.studio.app import publish_commands
from tap_builder.studio.document import EditError, analyse, apply_ops, template_parts
from tap_builder.studio.worker import auth_hint
from tap_builder.studio.workspace import StudioError, Workspace, schema_diff
from tap_builder.write.package import MANIFEST
from tests.e2e import SAMPLES


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    shutil.copytree(SAMPLES, tmp_path, dirs_exist_ok=True)
    ws = Workspace(tmp_path.resolve())
    ws.open("aircall.yaml")
    return ws


def _changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    old, new = before.splitlines(), after.splitlines()
    assert len(old) == len(new)
    return [(a, b) for a, b in zip(old, new, strict=True) if a != b]


def test_a_form_edit_keeps_comments_quotes_and_order() -> None:
    """Setting one field of a sample spec changes exactly that line."""
    text = (SAMPLES / "aircall.yaml").read_text()
    ops = [{"op": "set", "path": ["authentication", "username"], "value": "{config.x}"}]
    after = apply_ops(text, ops, json_format=False)
    assert _changed_lines(text, after) == [
        ('  username: "{config.api_id}"', '  username: "{config.x}"')
    ]


def test_every_sample_spec_survives_a_round_trip_unchanged() -> None:
    """No operation: the text comes back byte for byte (comments, folding, flow)."""
    for path in sorted(SAMPLES.glob("*.yaml")):
        text = path.read_text()
        assert apply_ops(text, [], json_format=False) == text, path.name


def test_insert_move_delete_on_streams() -> None:
    """List operations: insert at an index, move, delete."""
    text = (SAMPLES / "aircall.yaml").read_text()
    stream = {"name": "Teams", "id": "teams", "path": "/teams"}
    after = apply_ops(
        text,
        [
            {"op": "insert", "path": ["streams"], "index": 0, "value": stream},
            {"op": "move", "path": ["streams"], "from": 0, "to": 2},
            {"op": "delete", "path": ["streams", 0]},
        ],
        json_format=False,
    )
    data = analyse(after, SAMPLES / "aircall.yaml").data
    assert data is not None
    assert [s["id"] for s in data["streams"]] == ["users", "teams"]


def test_json_specs_keep_key_order() -> None:
    """A JSON spec is edited as JSON, keys in their order."""
    text = json.dumps({"name": "X", "tap_id": "x", "base_url": "https://a"})
    after = apply_ops(
        text, [{"op": "set", "path": ["tap_id"], "value": "y"}], json_format=True
    )
    assert list(json.loads(after)) == ["name", "tap_id", "base_url"]
    assert json.loads(after)["tap_id"] == "y"


@pytest.mark.parametrize(
    ("op", "message"),
    [
        ({"op": "set", "path": ["name", "x"], "value": 1}, "cannot set name.x"),
        ({"op": "move", "path": ["streams"], "from": 0, "to": 9}, "from and to"),
        ({"op": "rename", "path": ["name"]}, "unknown operation 'rename'"),
        ({"op": "delete", "path": ["streams", 7]}, "no field streams[7]"),
    ],
)
def test_bad_operations_are_refused_with_a_reason(
    op: dict[str, object], message: str
) -> None:
    """An operation that does not fit the spec says why; nothing changes."""
    text = (SAMPLES / "aircall.yaml").read_text()
    with pytest.raises(EditError, match=message.replace("[", r"\[")):
        apply_ops(text, [op], json_format=False)


def test_analysis_gives_the_cli_lines_with_field_paths() -> None:
    """Problems are SpecIssue lines: file:line path: message."""
    text = (SAMPLES / "aircall.yaml").read_text().replace("/v1", "/{v1", 1)
    result = analyse(text, Path("aircall.yaml"))
    assert result.connector is None
    issue = next(i for i in result.issues if i["path"] == "base_url")
    assert issue["text"].startswith("aircall.yaml:10 base_url: lone '{'")


def test_variables_are_marked_declared_or_not() -> None:
    """Base URL parts: literal text, declared and undeclared variables."""
    parts = template_parts("https://{config.site}.x.com/{{v}}/{config.api_url}", ["x"])
    assert parts == [
        {"text": "https://"},
        {"text": "{config.site}", "variable": "site", "declared": False},
        {"text": ".x.com/{{v}}/"},
        {"text": "{config.api_url}", "variable": "api_url", "declared": True},
    ]


def test_secret_settings_never_go_back_to_the_page(workspace: Workspace) -> None:
    """The config view shows secrets (and auth settings) only as set."""
    workspace.set_config({"api_id": "the-id", "api_token": "s3cret", "api_url": "u"})
    view = workspace.config_view()
    assert view == {
        "api_id": {"set": True},  # used by the authentication block
        "api_token": {"set": True},
        "api_url": {"value": "u"},
    }
    assert "s3cret" not in workspace.current().text


def test_files_outside_the_workspace_are_refused(workspace: Workspace) -> None:
    """Open, create and publish stay inside the studio's folder."""
    with pytest.raises(StudioError, match="outside the studio's folder"):
        workspace.open("../elsewhere.yaml")
    with pytest.raises(StudioError, match="absolute path"):
        workspace.publish("/tmp/tap-x", force=False)


def test_save_writes_the_current_text_atomically(workspace: Workspace) -> None:
    """Save replaces the file with the edited text, keeping its mode."""
    path = workspace.current().path
    path.chmod(0o640)
    workspace.edit([{"op": "set", "path": ["domain"], "value": "example.com"}])
    workspace.save()
    assert "domain: example.com" in path.read_text()
    assert path.stat().st_mode & 0o777 == 0o640


def test_publish_writes_the_package_and_the_zip_holds_the_same(
    workspace: Workspace,
) -> None:
    """Publish writes the package; the zip holds the same files under tap-x/."""
    connector, target, count = workspace.publish("out/tap-aircall", force=False)
    written = sorted(
        str(p.relative_to(target)) for p in target.rglob("*") if p.is_file()
    )
    name, data = workspace.package_zip()
    assert name == "tap-aircall.zip"
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert sorted(n.removeprefix("tap-aircall/") for n in names) == [
        w for w in written if w != MANIFEST
    ]
    assert count == len(names)
    commands = publish_commands(connector, "out/tap-aircall")
    assert "pip install ./out/tap-aircall" in commands[0]["text"]
    assert "meltano config set tap-aircall api_token '<value>'" in commands[2]["text"]


def test_schema_diff_lists_added_removed_changed() -> None:
    """The diff shown before an inferred schema is applied."""
    old = {"properties": {"a": {"type": "string"}, "b": {"type": "integer"}}}
    new = {"properties": {"a": {"type": "integer"}, "c": {"type": "string"}}}
    diff = schema_diff(old, new)
    assert (diff["added"], diff["removed"], diff["changed"]) == (["c"], ["b"], ["a"])
    assert '+    "c": {' in diff["text"].splitlines()


def test_auth_failures_name_the_settings() -> None:
    """A 401 or 403 names the settings to check; other errors are left alone."""
    hinted = auth_hint("401 Client Error: Unauthorized for path: /calls", ["a", "b"])
    assert "check the authentication settings (a, b)" in hinted
    assert auth_hint("500 Server Error", ["a"]) == "500 Server Error"
