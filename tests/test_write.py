"""write_package: atomic, confined to its folder, and owning only what it wrote."""

from __future__ import annotations

import hashlib
import json
import typing as t
from pathlib import Path, PurePosixPath

import pytest

from tap_builder.write import MANIFEST, WriteError, write_package

FILES = {
    PurePosixPath("pyproject.toml"): "[project]\n",
    PurePosixPath("tap_x/__init__.py"): "",
    PurePosixPath("tap_x/schemas/a.json"): "{}\n",
    PurePosixPath("tap_x/schemas/b.json"): "{}\n",
    PurePosixPath("README.md"): "# x\n",
}


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under root: file bytes, or None for a folder."""
    return {
        str(p.relative_to(root)): p.read_bytes() if p.is_file() else None
        for p in sorted(root.rglob("*"))
    }


def fail_on_call(monkeypatch: pytest.MonkeyPatch, number: int) -> None:
    """Make the ``number``-th Path.write_text call raise OSError."""
    real = Path.write_text
    calls = 0

    def write_text(self: Path, *args: t.Any, **kwargs: t.Any) -> int:
        nonlocal calls
        calls += 1
        if calls == number:
            msg = "disk full"
            raise OSError(28, msg)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", write_text)


def manifest_of(out: Path) -> dict[str, t.Any]:
    return json.loads((out / MANIFEST).read_text("utf-8"))


def test_writes_files_and_returns_paths(tmp_path: Path) -> None:
    """Every file is written with its text; the relative paths are returned."""
    out = tmp_path / "out"
    written = write_package(FILES, out)
    assert sorted(written) == sorted(FILES)
    for relative, text in FILES.items():
        assert (out / relative).read_text("utf-8") == text


def test_manifest_lists_files_and_metadata(tmp_path: Path) -> None:
    """The manifest holds the metadata, the sorted files, their hashes and folders."""
    out = tmp_path / "out"
    write_package(FILES, out, metadata={"generator": "test", "spec": "x"})
    assert manifest_of(out) == {
        "generator": "test",
        "spec": "x",
        "files": sorted(str(p) for p in FILES),
        "sha256": {
            str(p): hashlib.sha256(text.encode()).hexdigest()
            for p, text in sorted(FILES.items())
        },
        "dirs": ["tap_x", "tap_x/schemas"],
    }


def test_writes_lf_line_endings(tmp_path: Path) -> None:
    """Files are written with \\n line endings whatever the platform."""
    out = tmp_path / "out"
    write_package({PurePosixPath("a.txt"): "one\ntwo\n"}, out)
    assert (out / "a.txt").read_bytes() == b"one\ntwo\n"


def test_failure_mid_write_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failing third write leaves no out_dir and no staging folder."""
    out = tmp_path / "out"
    (tmp_path / "keep.txt").write_text("k", "utf-8")
    before = snapshot(tmp_path)
    fail_on_call(monkeypatch, 3)
    with pytest.raises(WriteError, match=r"cannot write the package: .*disk full"):
        write_package(FILES, out)
    assert not out.exists()
    assert snapshot(tmp_path) == before


def test_failure_mid_write_leaves_existing_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With --force, a failed write leaves the earlier generation byte for byte."""
    out = tmp_path / "out"
    write_package(FILES, out)
    (out / "notes.txt").write_text("mine", "utf-8")
    before = snapshot(tmp_path)
    changed = {path: text + "changed\n" for path, text in FILES.items()}
    fail_on_call(monkeypatch, 3)
    with pytest.raises(WriteError):
        write_package(changed, out, force=True)
    assert snapshot(tmp_path) == before


def test_failure_writing_manifest_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even the last write (the manifest) failing leaves nothing behind."""
    out = tmp_path / "out"
    fail_on_call(monkeypatch, len(FILES) + 1)
    with pytest.raises(WriteError):
        write_package(FILES, out)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "bad",
    ["../escape.txt", "pkg/../../escape.txt", "/tmp/escape.txt"],
    ids=["parent", "nested-parent", "absolute"],
)
def test_refuses_paths_outside(tmp_path: Path, bad: str) -> None:
    """A path with .. or an absolute path is refused before anything is written."""
    out = tmp_path / "gen" / "out"
    files = {**FILES, PurePosixPath(bad): "x"}
    with pytest.raises(WriteError, match="refusing to write outside"):
        write_package(files, out)
    assert list(tmp_path.iterdir()) == []


def test_refuses_a_file_as_out_dir(tmp_path: Path) -> None:
    """out_dir that is a file is refused, even with force, and kept."""
    out = tmp_path / "out"
    out.write_text("x", "utf-8")
    with pytest.raises(WriteError, match="is not a folder"):
        write_package(FILES, out, force=True)
    assert out.read_text("utf-8") == "x"


def test_refuses_non_empty_out_dir_without_force(tmp_path: Path) -> None:
    """A non-empty out_dir needs force; the message says --force."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine", "utf-8")
    with pytest.raises(WriteError, match="--force"):
        write_package(FILES, out)
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_empty_out_dir_needs_no_force(tmp_path: Path) -> None:
    """An existing empty out_dir is written into without force."""
    out = tmp_path / "out"
    out.mkdir()
    write_package(FILES, out)
    assert (out / MANIFEST).is_file()


def test_creates_missing_parents(tmp_path: Path) -> None:
    """Missing parent folders of out_dir are created."""
    out = tmp_path / "a" / "b" / "out"
    write_package(FILES, out)
    assert (out / "README.md").is_file()


def test_force_removes_stale_and_keeps_user_files(tmp_path: Path) -> None:
    """force drops files the last generation wrote and this one does not."""
    out = tmp_path / "out"
    write_package({**FILES, PurePosixPath("old/only.py"): "x"}, out)
    (out / "notes.txt").write_text("mine", "utf-8")
    (out / "tap_x" / "schemas" / "mine.json").write_text("{}", "utf-8")
    smaller = dict(FILES)
    del smaller[PurePosixPath("tap_x/schemas/b.json")]
    write_package(smaller, out, force=True)
    assert not (out / "tap_x" / "schemas" / "b.json").exists()
    assert not (out / "old").exists()  # emptied folders go too
    assert (out / "notes.txt").read_text("utf-8") == "mine"
    assert (out / "tap_x" / "schemas" / "mine.json").is_file()
    assert manifest_of(out)["files"] == sorted(str(p) for p in smaller)
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_force_overwrites_changed_files(tmp_path: Path) -> None:
    """force replaces the text of files that are generated again."""
    out = tmp_path / "out"
    write_package(FILES, out)
    write_package({PurePosixPath("README.md"): "# new\n"}, out, force=True)
    assert (out / "README.md").read_text("utf-8") == "# new\n"


def test_force_without_manifest_writes_nothing(tmp_path: Path) -> None:
    """A non-empty folder without a manifest is refused, even with force."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "setup.py").write_text("x", "utf-8")
    with pytest.raises(WriteError, match=r"has no \.tap-builder\.json"):
        write_package(FILES, out, force=True)
    assert snapshot(out) == {"setup.py": b"x"}


@pytest.mark.parametrize(
    "manifest",
    ["not json", "[]", '{"files": "README.md"}', '{"files": [], "sha256": []}'],
    ids=["not-json", "list", "files-string", "sha256-list"],
)
def test_force_with_broken_manifest_writes_nothing(
    tmp_path: Path, manifest: str
) -> None:
    """An unusable manifest owns nothing: the folder is refused, left as it was."""
    out = tmp_path / "out"
    out.mkdir()
    (out / MANIFEST).write_text(manifest, "utf-8")
    (out / "README.md").write_text("mine", "utf-8")
    before = snapshot(out)
    with pytest.raises(WriteError, match="not a manifest tap-builder can use"):
        write_package({PurePosixPath("a.txt"): "a"}, out, force=True)
    assert snapshot(out) == before


def test_force_ignores_manifest_entries_that_are_not_paths(tmp_path: Path) -> None:
    """Entries that are not strings are ignored; user files stay."""
    out = tmp_path / "out"
    out.mkdir()
    (out / MANIFEST).write_text('{"files": [1, null]}', "utf-8")
    (out / "README.md").write_text("mine", "utf-8")
    written = write_package({PurePosixPath("a.txt"): "a"}, out, force=True)
    assert (out / "README.md").read_text("utf-8") == "mine"
    assert manifest_of(out)["files"] == ["a.txt"]
    assert written.notices == [
        "ignored manifest entry 1: not a path",
        "ignored manifest entry None: not a path",
    ]


@pytest.mark.parametrize(
    "entry", ["../victim.txt", "", "."], ids=["parent", "empty", "dot"]
)
def test_force_ignores_manifest_entries_outside(tmp_path: Path, entry: str) -> None:
    """A hand-edited manifest cannot make force touch anything outside out_dir."""
    out = tmp_path / "out"
    write_package(FILES, out)
    victim = tmp_path / "victim.txt"
    victim.write_text("v", "utf-8")
    manifest = manifest_of(out)
    manifest["files"].append(entry)
    (out / MANIFEST).write_text(json.dumps(manifest), "utf-8")
    write_package(FILES, out, force=True)
    assert victim.read_text("utf-8") == "v"
    assert set(snapshot(out)) >= {str(p) for p in FILES}
