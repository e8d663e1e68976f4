"""tap-builder update: spec changes merged into an edited tap, custom.py kept,
conflicts marked, deletions kept, tool template changes merged; the manifest's
snapshot renders the package again. (The installed, synced scenario is in
tests/test_update_e2e.py.)"""

from __future__ import annotations

import importlib
import json
import shutil
import typing as t
from pathlib import Path

import pytest

from tap_builder import generate, load_spec, render_package, validate_spec
from tap_builder import render as render_module
from tap_builder.cli import main
from tap_builder.write.manifest import Snapshot
from tap_builder.write.merge import END, MIDDLE, START, has_markers, merge_text
from tap_builder.write.package import MANIFEST, content_hash
from tests.e2e import SAMPLES
from tests.update_scenario import (
    CUSTOM,
    EDITED_LINE,
    NEW_SPEC,
    OLD_SPEC,
    edit_stream_file,
    write_spec,
)

REPO = Path(__file__).resolve().parent.parent
#: The module (tap_builder.render re-exports a function of the same name).
environment_module = importlib.import_module("tap_builder.render.environment")


def _manifest(package: Path) -> dict[str, t.Any]:
    return json.loads((package / MANIFEST).read_text(encoding="utf-8"))


def _tree(package: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(package)): p.read_bytes()
        for p in sorted(package.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def edited(tmp_path: Path) -> tuple[Path, Path]:
    """A generated tap with an edited streams.py and the user's custom.py."""
    spec = write_spec(tmp_path, OLD_SPEC)
    package = tmp_path / "tap-phones"
    generate(spec, package)
    edit_stream_file(package)
    (package / "tap_phones" / "custom.py").write_text(CUSTOM, encoding="utf-8")
    return spec, package


# -- the merge ---------------------------------------------------------------- #


def test_merge_keeps_both_sides_changes() -> None:
    """The user's line and the new render's line, both, without markers."""
    merged = merge_text("a\nb\nc\nd\n", "a\nB\nc\nd\n", "a\nb\nc\nD\n")
    assert merged.text == "a\nB\nc\nD\n"
    assert merged.conflicts == 0


def test_merge_marks_a_conflict() -> None:
    """The same line changed two ways: both, between standard markers."""
    merged = merge_text("a\nb\nc\n", "a\nmine\nc\n", "a\ntheirs\nc\n")
    assert merged.conflicts == 1
    assert merged.text == f"a\n{START}\nmine\n{MIDDLE}\ntheirs\n{END}\nc\n"
    assert has_markers(merged.text)
    assert not has_markers("a\n=======\nb\n")


def test_inexact_base_turns_the_users_regions_into_conflicts() -> None:
    """When the base is not what was generated, no region is decided silently."""
    merged = merge_text("a\nb\nc\nd\n", "a\nB\nc\nd\n", "a\nb\nc\nD\n", exact=False)
    assert merged.text == f"a\n{START}\nB\n{MIDDLE}\nb\n{END}\nc\nD\n"


# -- the snapshot ------------------------------------------------------------- #


@pytest.mark.parametrize(
    "spec",
    sorted(SAMPLES.glob("*.yaml")) + sorted((SAMPLES / "features").glob("*.yaml")),
    ids=lambda p: p.stem,
)
def test_snapshot_renders_the_same_package(spec: Path) -> None:
    """Rendered again from the manifest's snapshot alone (no spec folder, no
    schema files), every sample renders byte for byte the same text files."""
    loaded = load_spec(spec)
    connector = validate_spec(loaded)
    stored = json.loads(json.dumps(Snapshot.of(loaded, connector).to_json()))
    again = Snapshot.from_json(stored).connector()
    first, second = render_package(connector), render_package(again)
    assert sorted(first) == sorted(second)
    assert {p: v for p, v in first.items() if isinstance(v, str)} == {
        p: v for p, v in second.items() if isinstance(v, str)
    }


def test_snapshot_holds_the_spec_and_no_config_value(tmp_path: Path) -> None:
    """The manifest holds the spec as data: settings only as {config.NAME}."""
    spec = write_spec(tmp_path, OLD_SPEC)
    generate(spec, tmp_path / "out")
    manifest = _manifest(tmp_path / "out")
    assert manifest["spec_version"] == 2
    snapshot = manifest["snapshot"]
    assert snapshot["spec"]["authentication"]["password"] == "{config.api_token}"
    assert set(snapshot["schemas"]) == {"users"}
    assert manifest["user_files"] == ["tap_phones/custom.py"]
    assert "tap_phones/custom.py" not in manifest["files"]


# -- update ------------------------------------------------------------------- #


def test_update_merges_spec_change_into_edited_tap(
    edited: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """The edit, custom.py and the spec change (new stream, new query parameter,
    changed pagination) are all there after update, which exits 0."""
    spec, package = edited
    write_spec(spec.parent, NEW_SPEC)
    assert main(["update", str(spec), str(package)]) == 0
    out = capsys.readouterr().out
    assert "merged   tap_phones/streams.py" in out
    assert "added    tap_phones/schemas/calls.json" in out
    streams = (package / "tap_phones" / "streams.py").read_text(encoding="utf-8")
    assert EDITED_LINE in streams
    assert '{"per_page": 5, "order": "asc"}' in streams
    assert 'total_records="$.meta.total"' in streams.replace("'", '"') or (
        "$.meta.total" in streams
    )
    assert "class CallsStream(" in streams
    assert "from tap_phones.custom import NextLinkPaginator" in streams
    assert (package / "tap_phones" / "custom.py").read_text(encoding="utf-8") == CUSTOM
    manifest = _manifest(package)
    assert set(manifest["snapshot"]["schemas"]) == {"users", "calls"}
    assert manifest["conflicts"] == []
    # the manifest records the new render, not the merged file
    assert manifest["sha256"]["tap_phones/streams.py"] != content_hash(streams.encode())
    assert main(["update", str(spec), str(package)]) == 0
    assert "is up to date" in capsys.readouterr().out


def test_dry_run_prints_the_diff_and_writes_nothing(
    edited: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """--dry-run: a unified diff on stdout, the package unchanged."""
    spec, package = edited
    before = _tree(package)
    write_spec(spec.parent, NEW_SPEC)
    assert main(["update", str(spec), str(package), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "--- a/tap_phones/streams.py\n+++ b/tap_phones/streams.py\n" in out
    assert "+++ b/tap_phones/schemas/calls.json" in out
    assert "dry run: nothing written" in out
    assert _tree(package) == before


def test_conflict_is_marked_and_exits_1_until_resolved(
    edited: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """An edit of the lines the spec changes: markers, exit 1, listed; update
    refuses while the markers are there; once they are gone it exits 0."""
    spec, package = edited
    streams = package / "tap_phones" / "streams.py"
    text = streams.read_text(encoding="utf-8")
    streams.write_text(text.replace('{"per_page": 5}', '{"per_page": 6}'), "utf-8")
    write_spec(spec.parent, NEW_SPEC)
    assert main(["update", str(spec), str(package)]) == 1
    captured = capsys.readouterr()
    assert "conflict tap_phones/streams.py" in captured.out
    assert "1 file has conflicts: tap_phones/streams.py" in captured.err
    merged = streams.read_text(encoding="utf-8")
    block = merged[merged.index(START) : merged.index(END) + len(END)]
    assert '{"per_page": 6}' in block.split(MIDDLE)[0]
    assert '"order": "asc"' in block.split(MIDDLE)[1]
    assert EDITED_LINE in merged  # the clean part of the merge is applied
    assert _manifest(package)["conflicts"] == ["tap_phones/streams.py"]

    before = _tree(package)
    assert main(["update", str(spec), str(package)]) == 1
    assert "still has the conflict markers" in capsys.readouterr().err
    assert _tree(package) == before

    ours = block.split(MIDDLE)[1].removesuffix(END).lstrip("\n")
    streams.write_text(merged.replace(block + "\n", ours), "utf-8")
    assert main(["update", str(spec), str(package)]) == 0
    assert _manifest(package)["conflicts"] == []
    assert '"order": "asc"' in streams.read_text(encoding="utf-8")


def test_deleted_file_stays_deleted(
    edited: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """A generated file the user deleted is not written again, update after
    update (generate --force would bring it back)."""
    spec, package = edited
    (package / "tests" / "test_core.py").unlink()
    write_spec(spec.parent, NEW_SPEC)
    assert main(["update", str(spec), str(package)]) == 0
    assert "kept deleted tests/test_core.py" in capsys.readouterr().out
    assert not (package / "tests" / "test_core.py").exists()
    assert _manifest(package)["deleted"] == ["tests/test_core.py"]
    write_spec(spec.parent, OLD_SPEC)
    assert main(["update", str(spec), str(package)]) == 0
    assert not (package / "tests" / "test_core.py").exists()


def test_files_outside_the_manifest_are_left_alone(
    edited: tuple[Path, Path], tmp_path: Path
) -> None:
    """A file of the user's is never read or written; a link where a generated
    file was refuses the update before anything is written."""
    spec, package = edited
    notes = package / "NOTES.md"
    notes.write_text("mine\n", encoding="utf-8")
    write_spec(spec.parent, NEW_SPEC)
    outside = tmp_path / "outside.py"
    outside.write_text("x = 1\n", encoding="utf-8")
    tap_py = package / "tap_phones" / "tap.py"
    saved = tap_py.read_bytes()
    tap_py.unlink()
    tap_py.symlink_to(outside)
    before = _tree(package)
    assert main(["update", str(spec), str(package)]) == 1
    assert _tree(package) == before
    assert outside.read_text(encoding="utf-8") == "x = 1\n"
    tap_py.unlink()
    tap_py.write_bytes(saved)
    assert main(["update", str(spec), str(package)]) == 0
    assert notes.read_text(encoding="utf-8") == "mine\n"


def test_a_folder_without_snapshot_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A package from a tap-builder that recorded no spec: one clear line."""
    spec = write_spec(tmp_path, OLD_SPEC)
    package = tmp_path / "tap-phones"
    generate(spec, package)
    manifest = _manifest(package)
    del manifest["snapshot"]
    (package / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    assert main(["update", str(spec), str(package)]) == 1
    err = capsys.readouterr().err
    assert "did not record the spec it rendered" in err
    assert "Traceback" not in err


def test_generate_force_keeps_custom_py(edited: tuple[Path, Path]) -> None:
    """custom.py is the user's: generate --force neither refuses nor replaces it."""
    spec, package = edited
    (package / "tap_phones" / "streams.py").unlink()
    generate(spec, package, force=True)
    assert (package / "tap_phones" / "custom.py").read_text(encoding="utf-8") == CUSTOM


def test_update_names_custom_classes_custom_py_lacks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A spec that names a class custom.py does not define says so."""
    spec = write_spec(tmp_path, OLD_SPEC)
    package = tmp_path / "tap-phones"
    generate(spec, package)
    write_spec(tmp_path, NEW_SPEC)
    assert main(["update", str(spec), str(package)]) == 0
    assert "define NextLinkPaginator in" in capsys.readouterr().out


# -- a tool template change ------------------------------------------------- #


Switch = t.Callable[[bool], None]


@pytest.fixture
def older_templates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> t.Iterator[Switch]:
    """Switches the renderer to a patched copy of the templates (as an older
    tap-builder's had) and back."""
    copy = tmp_path / "old-templates"
    current = environment_module.templates_dir
    shutil.copytree(current(), copy)
    package = copy / "tap" / "{{package}}"
    client = package / "client.py.jinja"
    text = client.read_text(encoding="utf-8")
    old = "    base_url: t.ClassVar[str]"
    client.write_text(text.replace(old, "    # old\n" + old), encoding="utf-8")
    streams = package / "streams.py.jinja"
    text = streams.read_text(encoding="utf-8")
    text = text.replace("\nSCHEMAS = ", "\n# old template\nSCHEMAS = ")
    streams.write_text(text, encoding="utf-8")

    def switch(older: bool) -> None:
        folder = (lambda: copy) if older else current
        monkeypatch.setattr(environment_module, "templates_dir", folder)
        monkeypatch.setattr(render_module, "templates_dir", folder)
        environment_module.environment.cache_clear()

    yield switch
    switch(False)
    environment_module.environment.cache_clear()


def test_update_across_a_tool_template_change(
    tmp_path: Path, older_templates: Switch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Generated by an "older tool" (patched templates): update brings the
    current templates' code into unedited files, merges the spec change into an
    edited file whose template did not change, and shows the user's edits in an
    edited file whose template changed as conflicts (nothing decided silently)."""
    spec = write_spec(tmp_path, OLD_SPEC)
    package = tmp_path / "tap-phones"
    older_templates(True)
    generate(spec, package)
    older_templates(False)
    client = package / "tap_phones" / "client.py"
    assert "# old\n" in client.read_text(encoding="utf-8")
    edit_stream_file(package)  # streams.py: its template changed too
    write_spec(tmp_path, NEW_SPEC)
    assert main(["update", str(spec), str(package)]) == 1
    out = capsys.readouterr().out
    assert "updated  tap_phones/client.py" in out
    assert "# old\n" not in client.read_text(encoding="utf-8")
    assert "templates changed it since it was generated" in out
    streams = (package / "tap_phones" / "streams.py").read_text(encoding="utf-8")
    assert f"{START}\n# old template\n{MIDDLE}\n{END}\n" in streams
    assert f"{START}\n{EDITED_LINE}{MIDDLE}\n" in streams
    assert "class CallsStream(" in streams  # the spec change, merged


def test_update_of_a_version_1_spec(tmp_path: Path) -> None:
    """A package generated from a version-1 spec updates from its migrated
    form: the snapshot holds the upgraded spec."""
    spec = write_spec(
        tmp_path,
        OLD_SPEC.replace("spec_version: 2\n", "").replace("page_param", "attribute"),
    )
    package = tmp_path / "tap-phones"
    generate(spec, package)
    assert _manifest(package)["snapshot"]["spec"]["spec_version"] == 2
    edit_stream_file(package)
    write_spec(tmp_path, NEW_SPEC)
    assert main(["update", str(spec), str(package)]) == 0
    streams = (package / "tap_phones" / "streams.py").read_text(encoding="utf-8")
    assert EDITED_LINE in streams
    assert "class CallsStream(" in streams


def test_custom_py_link_is_never_followed(tmp_path: Path) -> None:
    """custom.py replaced by a link to a file outside: generate --force and
    update leave both the link and the file it points to as they are."""
    spec = write_spec(tmp_path, OLD_SPEC)
    package = tmp_path / "tap-phones"
    generate(spec, package)
    outside = tmp_path / "outside.py"
    outside.write_text("kept = True\n", encoding="utf-8")
    custom = package / "tap_phones" / "custom.py"
    custom.unlink()
    custom.symlink_to(outside)
    generate(spec, package, force=True)
    write_spec(tmp_path, NEW_SPEC)
    assert main(["update", str(spec), str(package)]) == 0
    assert custom.is_symlink()
    assert outside.read_text(encoding="utf-8") == "kept = True\n"
