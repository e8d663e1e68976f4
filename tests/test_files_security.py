"""Files the spec names, schema write-back and --force regeneration stay confined.

- ``schema_file`` and ``logo`` must be regular files inside the spec's folder
  (symbolic links resolved), bounded in size, and never block on a pipe;
- ``infer-schema --write`` writes a schema file only inside the spec's folder,
  never through a link leading out of it, and atomically;
- ``generate --force`` replaces or removes only files its manifest lists with the
  hash they still have, never follows links, never removes folders it did not
  make, never writes into a foreign folder, and checks everything first.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import stat
import threading
import types
import typing as t
from pathlib import Path, PurePosixPath

import pytest
import yaml

from tap_builder import load_spec, validate_spec
from tap_builder.cli import main
from tap_builder.commands.spec_edit import write_schema
from tap_builder.spec import SpecError, models
from tap_builder.spec.files import SpecFileError
from tap_builder.write import MANIFEST, write_package

SCHEMA = {"type": "object", "properties": {"id": {"type": "integer"}}}


def stream(sid: str, **extra: t.Any) -> dict[str, t.Any]:
    return {
        "name": sid.title(),
        "id": sid,
        "path": f"/{sid}",
        "primary_key": "id",
        "schema": SCHEMA,
        **extra,
    }


SPEC: dict[str, t.Any] = {
    "name": "Widgets",
    "tap_id": "widgets",
    "base_url": "https://api.widgets.example.com",
    "authentication": {"type": "none"},
    "streams": [stream("widgets"), stream("gadgets"), stream("gizmos")],
}


def write_spec(folder: Path, data: dict[str, t.Any] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    spec_file = folder / "widgets.yaml"
    spec_file.write_text(yaml.safe_dump(data or SPEC, sort_keys=False), "utf-8")
    return spec_file


def with_schema_file(name: str, index: int = 2) -> dict[str, t.Any]:
    data = copy.deepcopy(SPEC)
    del data["streams"][index]["schema"]
    data["streams"][index]["schema_file"] = name
    return data


def issues(spec_file: Path) -> list[str]:
    with pytest.raises(SpecError) as caught:
        validate_spec(load_spec(spec_file))
    return [f"{i.path}: {i.message}" for i in caught.value.issues]


def tree(root: Path) -> dict[str, tuple[str, bytes | str | None, int]]:
    """Every path under root, never following links: kind, content, mode."""
    found: dict[str, tuple[str, bytes | str | None, int]] = {}
    for folder, dirs, files in os.walk(root, followlinks=False):
        for name in [*dirs, *files]:
            path = Path(folder, name)
            info = path.lstat()
            mode = stat.S_IMODE(info.st_mode)
            key = str(path.relative_to(root))
            if stat.S_ISLNK(info.st_mode):
                found[key] = ("link", os.readlink(path), mode)
            elif stat.S_ISDIR(info.st_mode):
                found[key] = ("dir", None, mode)
            else:
                found[key] = ("file", path.read_bytes(), mode)
    return found


def digest(root: Path) -> str:
    """One hash of the whole tree under root (names, kinds, bytes, links, modes)."""
    return hashlib.sha256(repr(sorted(tree(root).items())).encode()).hexdigest()


# --------------------------------------------------------------------------- #
# 1. schema_file and logo: inside the spec's folder, regular, bounded
# --------------------------------------------------------------------------- #

ALLOWED = "schema_file must be a relative path to a file inside the spec's folder"


@pytest.mark.parametrize("how", ["parent", "absolute", "symlink", "nested-link"])
def test_schema_file_outside_the_spec_folder_is_refused(
    tmp_path: Path, how: str
) -> None:
    """../x, /abs/x and links leading out are one error on the field; not read."""
    outside = tmp_path / "outside.json"
    outside.write_text(json.dumps(SCHEMA), "utf-8")
    specs = tmp_path / "specs"
    specs.mkdir()
    name = {
        "parent": "../outside.json",
        "absolute": str(outside),
        "symlink": "link.json",
        "nested-link": "sub/outside.json",
    }[how]
    if how == "symlink":
        (specs / "link.json").symlink_to(outside)
    if how == "nested-link":
        (specs / "sub").symlink_to(tmp_path)
    found = issues(write_spec(specs, with_schema_file(name)))
    assert len(found) == 1
    assert found[0].startswith("streams[2].schema_file: ")
    assert ALLOWED in found[0]
    assert ("absolute path" if how == "absolute" else "leads outside") in found[0]


def test_generate_does_not_copy_an_outside_schema_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The CLI refuses with one line per problem and writes no package."""
    secret = {**SCHEMA, "description": "secret-from-outside"}
    (tmp_path / "outside.json").write_text(json.dumps(secret), "utf-8")
    spec_file = write_spec(tmp_path / "specs", with_schema_file("../outside.json"))
    out = tmp_path / "out"
    assert main(["generate", str(spec_file), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "streams[2].schema_file: ../outside.json leads outside" in err
    assert "1 problem found." in err
    assert "Traceback" not in err
    assert not out.exists()


def test_schema_file_link_inside_the_folder_is_allowed(tmp_path: Path) -> None:
    """A link that stays inside the spec's folder is fine."""
    specs = tmp_path / "specs"
    (specs / "schemas").mkdir(parents=True)
    (specs / "schemas" / "real.json").write_text(json.dumps(SCHEMA), "utf-8")
    (specs / "alias.json").symlink_to(specs / "schemas" / "real.json")
    connector = validate_spec(
        load_spec(write_spec(specs, with_schema_file("alias.json")))
    )
    assert connector.schemas["gizmos"] == SCHEMA


def validate_in_thread(spec_file: Path, release: Path) -> list[str]:
    """Validate in a thread; fail (after unblocking it) if it blocks."""
    result: list[str] = []

    def run() -> None:
        try:
            validate_spec(load_spec(spec_file))
        except SpecError as exc:
            result.extend(f"{i.path}: {i.message}" for i in exc.issues)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=10)
    if worker.is_alive():
        with release.open("wb"):  # a writer lets the blocked reader see EOF
            pass
        worker.join(timeout=10)
        pytest.fail("validation blocked on a named pipe")
    return result


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_schema_file_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    """A named pipe as schema_file is an error at once, never opened."""
    specs = tmp_path / "specs"
    specs.mkdir()
    os.mkfifo(specs / "pipe.json")
    found = validate_in_thread(
        write_spec(specs, with_schema_file("pipe.json")), specs / "pipe.json"
    )
    assert len(found) == 1
    assert found[0].startswith("streams[2].schema_file: ")
    assert "is a named pipe (FIFO); schema_file must name a regular file" in found[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_logo_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    """A named pipe as logo is an error at once, never opened."""
    specs = tmp_path / "specs"
    specs.mkdir()
    os.mkfifo(specs / "logo.png")
    found = validate_in_thread(
        write_spec(specs, {**SPEC, "logo": "logo.png"}), specs / "logo.png"
    )
    assert found == [
        f"logo: {(specs / 'logo.png').resolve()} is a named pipe (FIFO); "
        "logo must name a regular file"
    ]


def test_dev_zero_is_refused(tmp_path: Path) -> None:
    """/dev/zero (absolute, or reached through ..) is refused, never read."""
    specs = tmp_path / "specs"
    up = "../" * len(specs.resolve().parts)
    for name in ("/dev/zero", f"{up}dev/zero"):
        found = issues(write_spec(specs, with_schema_file(name)))
        assert len(found) == 1
        assert found[0].startswith("streams[2].schema_file: ")
        assert ALLOWED in found[0]


def test_folder_as_schema_file_is_refused(tmp_path: Path) -> None:
    """A folder is not a regular file."""
    specs = tmp_path / "specs"
    (specs / "schemas").mkdir(parents=True)
    found = issues(write_spec(specs, with_schema_file("schemas")))
    assert len(found) == 1
    assert "is a folder; schema_file must name a regular file" in found[0]


def test_large_schema_file_is_refused(tmp_path: Path) -> None:
    """A schema file over 5 MB is refused before it is read."""
    specs = tmp_path / "specs"
    specs.mkdir()
    with (specs / "big.json").open("wb") as handle:
        handle.truncate(5_000_001)
    found = issues(write_spec(specs, with_schema_file("big.json")))
    assert len(found) == 1
    assert found[0].startswith("streams[2].schema_file: ")
    assert "is larger than 5 MB; schema_file may be at most that" in found[0]


@pytest.mark.parametrize("how", ["parent", "absolute", "symlink"])
def test_logo_outside_the_spec_folder_is_refused(tmp_path: Path, how: str) -> None:
    """A logo outside the spec's folder is one error on logo, and not copied."""
    outside = tmp_path / "logo.png"
    outside.write_bytes(b"\x89PNG outside")
    specs = tmp_path / "specs"
    specs.mkdir()
    name = {"parent": "../logo.png", "absolute": str(outside), "symlink": "l.png"}[how]
    if how == "symlink":
        (specs / "l.png").symlink_to(outside)
    spec_file = write_spec(specs, {**SPEC, "logo": name})
    found = issues(spec_file)
    assert len(found) == 1
    assert found[0].startswith("logo: ")
    assert (
        "logo must be a relative path to a file inside the spec's folder" in (found[0])
    )


def test_logo_inside_the_folder_is_copied(tmp_path: Path) -> None:
    """A logo beside the spec is read as before."""
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "logo.png").write_bytes(b"\x89PNG inside")
    connector = validate_spec(
        load_spec(write_spec(specs, {**SPEC, "logo": "logo.png"}))
    )
    assert connector.logo_file == (b"\x89PNG inside", ".png")


def test_large_logo_is_refused(tmp_path: Path) -> None:
    """A logo over 1 MB is refused."""
    specs = tmp_path / "specs"
    specs.mkdir()
    with (specs / "logo.png").open("wb") as handle:
        handle.truncate(1_000_001)
    found = issues(write_spec(specs, {**SPEC, "logo": "logo.png"}))
    assert len(found) == 1
    assert "is larger than 1 MB; logo may be at most that" in found[0]


# --------------------------------------------------------------------------- #
# 2. infer-schema --write: inside the spec's folder, atomically
# --------------------------------------------------------------------------- #

INFERRED = {"type": "object", "properties": {"id": {"type": "integer"}, "n": {}}}


def gizmos(schema_file: str) -> models.Stream:
    return models.Stream.model_validate(
        {**stream("gizmos"), "schema": None, "schema_file": schema_file}
    )


@pytest.mark.parametrize("how", ["parent", "absolute", "symlink-out"])
def test_write_schema_refuses_outside(tmp_path: Path, how: str) -> None:
    """write_schema never writes outside the spec's folder, even through a link."""
    outside = tmp_path / "outside.json"
    outside.write_text("keep", "utf-8")
    spec_file = write_spec(tmp_path / "specs")
    name = {
        "parent": "../outside.json",
        "absolute": str(outside),
        "symlink-out": "s.json",
    }[how]
    if how == "symlink-out":
        (tmp_path / "specs" / "s.json").symlink_to(outside)
    before = digest(tmp_path)
    with pytest.raises(SpecFileError, match=r"streams\[2\]\.schema_file must be"):
        write_schema(spec_file, gizmos(name), 2, INFERRED)
    assert outside.read_text("utf-8") == "keep"
    assert digest(tmp_path) == before


def test_write_schema_through_an_inside_link_keeps_the_link(tmp_path: Path) -> None:
    """A link to a file inside the folder is written through; the link stays."""
    specs = tmp_path / "specs"
    (specs / "schemas").mkdir(parents=True)
    real = specs / "schemas" / "gizmos.json"
    real.write_text(json.dumps(SCHEMA), "utf-8")
    real.chmod(0o640)
    (specs / "g.json").symlink_to(Path("schemas") / "gizmos.json")
    spec_file = write_spec(specs, with_schema_file("g.json"))
    write_schema(spec_file, gizmos("g.json"), 2, INFERRED)
    assert (specs / "g.json").is_symlink()
    assert json.loads(real.read_text("utf-8")) == INFERRED
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert sorted(p.name for p in (specs / "schemas").iterdir()) == ["gizmos.json"]


def test_write_schema_is_atomic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure while replacing the file leaves the old one and no temporary file."""
    specs = tmp_path / "specs"
    spec_file = write_spec(specs, with_schema_file("g.json"))
    (specs / "g.json").write_text("old", "utf-8")
    before = digest(tmp_path)

    def fail(*args: t.Any, **kwargs: t.Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(SpecFileError, match="No space left on device; it was left"):
        write_schema(spec_file, gizmos("g.json"), 2, INFERRED)
    monkeypatch.undo()
    assert digest(tmp_path) == before


def fake_run_stream(
    monkeypatch: pytest.MonkeyPatch, before_return: t.Callable[[], None] = lambda: None
) -> None:
    """Replace the live API call with two records (and a hook run before returning)."""

    def run_stream(*args: t.Any, **kwargs: t.Any) -> types.SimpleNamespace:
        before_return()
        request = types.SimpleNamespace(stream="gizmos")
        return types.SimpleNamespace(
            raw_records=[{"id": 1, "n": "a"}, {"id": 2, "n": "b"}], requests=[request]
        )

    monkeypatch.setattr("tap_builder.commands.preview.run_stream", run_stream)


def infer_write(spec_file: Path, config: Path) -> int:
    return main(
        [
            "infer-schema",
            "--spec",
            str(spec_file),
            "--stream",
            "gizmos",
            "--config",
            str(config),
            "--write",
        ]
    )


def test_infer_write_refuses_a_schema_file_outside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """schema_file: ../x.json is refused (exit 1, one line); nothing is written."""
    outside = tmp_path / "outside.json"
    outside.write_text(json.dumps(SCHEMA), "utf-8")
    spec_file = write_spec(tmp_path / "specs", with_schema_file("../outside.json"))
    config = tmp_path / "config.json"
    config.write_text("{}", "utf-8")
    fake_run_stream(monkeypatch)
    before = digest(tmp_path)
    assert infer_write(spec_file, config) == 1
    err = capsys.readouterr().err
    assert "streams[2].schema_file: ../outside.json leads outside" in err
    assert "Traceback" not in err
    assert digest(tmp_path) == before


def test_infer_write_refuses_a_link_swapped_in_after_validation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A schema file replaced by a link leading out is not written through."""
    outside = tmp_path / "outside.json"
    outside.write_text("victim", "utf-8")
    specs = tmp_path / "specs"
    spec_file = write_spec(specs, with_schema_file("g.json"))
    (specs / "g.json").write_text(json.dumps(SCHEMA), "utf-8")
    config = tmp_path / "config.json"
    config.write_text("{}", "utf-8")

    def swap() -> None:
        (specs / "g.json").unlink()
        (specs / "g.json").symlink_to(outside)

    fake_run_stream(monkeypatch, swap)
    assert infer_write(spec_file, config) == 1
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert errors[0].startswith("error: nothing written for stream 'gizmos': ")
    assert "leads outside the spec's folder" in errors[0]
    assert outside.read_text("utf-8") == "victim"
    assert (specs / "g.json").is_symlink()


def test_infer_write_updates_an_inside_schema_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ordinary case still works: the schema file gets the inferred schema."""
    specs = tmp_path / "specs"
    spec_file = write_spec(specs, with_schema_file("g.json"))
    (specs / "g.json").write_text(json.dumps(SCHEMA), "utf-8")
    spec_before = spec_file.read_bytes()
    config = tmp_path / "config.json"
    config.write_text("{}", "utf-8")
    fake_run_stream(monkeypatch)
    assert infer_write(spec_file, config) == 0
    written = json.loads((specs / "g.json").read_text("utf-8"))
    assert set(written["properties"]) == {"id", "n"}
    assert spec_file.read_bytes() == spec_before
    assert sorted(p.name for p in specs.iterdir()) == ["g.json", "widgets.yaml"]


# --------------------------------------------------------------------------- #
# 3. generate --force: only what the generator wrote, as it wrote it
# --------------------------------------------------------------------------- #

TWO = {**SPEC, "streams": SPEC["streams"][:2]}
ONE = {**SPEC, "streams": SPEC["streams"][:1]}


@pytest.fixture
def package(tmp_path: Path) -> Path:
    """A package generated from the two-stream spec at tmp_path/out."""
    out = tmp_path / "out"
    assert (
        main(["generate", str(write_spec(tmp_path / "spec", TWO)), "-o", str(out)]) == 0
    )
    return out


def regenerate(tmp_path: Path, data: dict[str, t.Any], out: Path) -> int:
    spec_file = write_spec(tmp_path / "spec", data)
    return main(["generate", str(spec_file), "-o", str(out), "--force"])


def manifest_of(out: Path) -> dict[str, t.Any]:
    return json.loads((out / MANIFEST).read_text("utf-8"))


def plant(out: Path, entries: list[str], hashes: dict[str, str] | None = None) -> None:
    manifest = manifest_of(out)
    manifest["files"] += entries
    manifest.setdefault("sha256", {}).update(hashes or {})
    (out / MANIFEST).write_text(json.dumps(manifest), "utf-8")


def error_lines(err: str) -> list[str]:
    assert "Traceback" not in err
    return [line for line in err.splitlines() if line.startswith("error: ")]


def test_manifest_records_hashes_and_folders(package: Path) -> None:
    """Every written file's sha256 is recorded, and the folders made."""
    manifest = manifest_of(package)
    assert manifest["sha256"] == {
        name: hashlib.sha256((package / name).read_bytes()).hexdigest()
        for name in manifest["files"]
    }
    assert manifest["dirs"] == [
        "tap_widgets",
        "tap_widgets/runtime",
        "tap_widgets/schemas",
        "tests",
    ]


@pytest.mark.parametrize("recorded", ["none", "wrong"], ids=["no-hash", "wrong-hash"])
def test_planted_manifest_entries_are_not_deleted(
    tmp_path: Path, package: Path, capsys: pytest.CaptureFixture[str], recorded: str
) -> None:
    """src/app.py and .git/config listed in the manifest survive --force."""
    (package / "src").mkdir()
    (package / "src" / "app.py").write_text("print('mine')\n", "utf-8")
    (package / ".git").mkdir()
    (package / ".git" / "config").write_text("[core]\n", "utf-8")
    planted = ["src/app.py", ".git/config"]
    plant(
        package, planted, {p: "0" * 64 for p in planted} if recorded == "wrong" else {}
    )
    capsys.readouterr()
    assert regenerate(tmp_path, TWO, package) == 0
    assert (package / "src" / "app.py").read_text("utf-8") == "print('mine')\n"
    assert (package / ".git" / "config").read_text("utf-8") == "[core]\n"
    err = capsys.readouterr().err
    for name in planted:
        assert any(line.startswith(f"kept {name}: ") for line in err.splitlines())
    assert not set(planted) & set(manifest_of(package)["files"])


@pytest.mark.parametrize("where", ["folder", "file"])
def test_symlink_inside_out_is_refused_before_writing(
    tmp_path: Path,
    package: Path,
    capsys: pytest.CaptureFixture[str],
    where: str,
) -> None:
    """A link in a path to write or delete refuses; nothing outside is touched."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    schemas = package / "tap_widgets" / "schemas"
    if where == "folder":  # the generator would delete gadgets.json through it
        for item in schemas.iterdir():
            (elsewhere / item.name).write_bytes(item.read_bytes())
        for item in schemas.iterdir():
            item.unlink()
        schemas.rmdir()
        schemas.symlink_to(elsewhere)
        link = "tap_widgets/schemas"
    else:
        (elsewhere / "README.md").write_text("outside", "utf-8")
        (package / "README.md").unlink()
        (package / "README.md").symlink_to(elsewhere / "README.md")
        link = "README.md"
    before, outside = digest(package), digest(elsewhere)
    capsys.readouterr()
    assert regenerate(tmp_path, ONE, package) == 1
    errors = error_lines(capsys.readouterr().err)
    assert errors[0] == (
        f"error: {link}: is a symbolic link; tap-builder writes and deletes nothing "
        "through links"
    )
    assert errors[-1].startswith(f"error: nothing was written to {package.resolve()}")
    assert len(errors) == 2
    assert digest(package) == before
    assert digest(elsewhere) == outside


def test_no_manifest_refuses_even_with_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A user's README, pyproject and a folder named like a generated file stay."""
    out = tmp_path / "mine"
    out.mkdir()
    (out / "README.md").write_text("my readme", "utf-8")
    (out / "pyproject.toml").write_text("[project]\nname='mine'\n", "utf-8")
    (out / "meltano.yml").mkdir()
    (out / "meltano.yml" / "notes.txt").write_text("keep", "utf-8")
    before = digest(out)
    assert regenerate(tmp_path, TWO, out) == 1
    errors = error_lines(capsys.readouterr().err)
    assert errors == [
        f"error: {out.resolve()} is not empty and has no {MANIFEST}, so tap-builder "
        "did not generate it; even with --force it writes only into a folder it "
        "generated: give a new or empty folder with -o"
    ]
    assert digest(out) == before


def test_edited_files_refuse_the_generation(
    tmp_path: Path, package: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each edited file is one line; nothing is written; the tree is unchanged."""
    (package / "README.md").write_text("my notes\n", "utf-8")
    streams = package / "tap_widgets" / "streams.py"
    streams.write_text(streams.read_text("utf-8") + "# mine\n", "utf-8")
    before = digest(package)
    capsys.readouterr()
    assert regenerate(tmp_path, ONE, package) == 1
    errors = error_lines(capsys.readouterr().err)
    assert errors[:2] == [
        "error: kept README.md: edited since generation",
        "error: kept tap_widgets/streams.py: edited since generation",
    ]
    assert errors[2].startswith(
        f"error: nothing was written to {package.resolve()} because of the 2 problems"
    )
    assert len(errors) == 3
    assert digest(package) == before


def test_user_file_where_a_new_file_goes_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file the generator never wrote is not overwritten by a new stream's file."""
    out = tmp_path / "out"
    assert regenerate(tmp_path, ONE, out) == 0
    mine = out / "tap_widgets" / "schemas" / "gadgets.json"
    mine.write_text('{"mine": true}', "utf-8")
    before = digest(out)
    capsys.readouterr()
    assert regenerate(tmp_path, TWO, out) == 1
    errors = error_lines(capsys.readouterr().err)
    assert errors[0] == (
        "error: tap_widgets/schemas/gadgets.json: exists but was not written by "
        "tap-builder"
    )
    assert digest(out) == before


def test_folder_where_a_generated_file_goes_is_not_removed(
    tmp_path: Path, package: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A folder in the place of a generated file is refused, not removed."""
    (package / "README.md").unlink()
    (package / "README.md").mkdir()
    (package / "README.md" / "draft.md").write_text("mine", "utf-8")
    before = digest(package)
    capsys.readouterr()
    assert regenerate(tmp_path, TWO, package) == 1
    errors = error_lines(capsys.readouterr().err)
    assert errors[0] == (
        "error: README.md: is a folder, where the package has a file; tap-builder "
        "replaces only files it wrote"
    )
    assert digest(package) == before


def test_edited_stale_file_is_kept_and_reported(
    tmp_path: Path, package: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file no longer generated but edited stays; unedited stale files go."""
    gadgets = package / "tap_widgets" / "schemas" / "gadgets.json"
    gadgets.write_text('{"edited": true}', "utf-8")
    capsys.readouterr()
    assert regenerate(tmp_path, ONE, package) == 0
    assert gadgets.read_text("utf-8") == '{"edited": true}'
    assert "kept tap_widgets/schemas/gadgets.json: edited since generation" in (
        capsys.readouterr().err.splitlines()
    )
    assert "tap_widgets/schemas/gadgets.json" not in manifest_of(package)["files"]


def test_manifest_entries_outside_are_ignored_and_reported(
    tmp_path: Path, package: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Absolute and .. entries are ignored (one line each); their targets stay."""
    victim = tmp_path / "victim.txt"
    victim.write_text("v", "utf-8")
    entries = ["../victim.txt", str(victim), "tap_widgets/../../victim.txt"]
    hashes = dict.fromkeys(entries, hashlib.sha256(b"v").hexdigest())
    plant(package, entries, hashes)
    capsys.readouterr()
    assert regenerate(tmp_path, ONE, package) == 0
    assert victim.read_text("utf-8") == "v"
    err = capsys.readouterr().err.splitlines()
    for entry in entries:
        assert f"ignored manifest entry {entry!r}: outside the output folder" in err


def test_force_twice_changes_nothing(tmp_path: Path, package: Path) -> None:
    """Regenerating the same spec twice leaves every byte and timestamp alone."""
    assert regenerate(tmp_path, TWO, package) == 0
    before = digest(package)
    times = {p: p.lstat().st_mtime_ns for p in package.rglob("*")}
    assert regenerate(tmp_path, TWO, package) == 0
    assert regenerate(tmp_path, TWO, package) == 0
    assert digest(package) == before
    assert {p: p.lstat().st_mtime_ns for p in package.rglob("*")} == times


def test_recorded_fixtures_are_untouched(tmp_path: Path, package: Path) -> None:
    """tests/fixtures/http.json (written by record) survives regeneration."""
    fixtures = package / "tests" / "fixtures" / "http.json"
    fixtures.parent.mkdir()
    fixtures.write_text('{"exchanges": []}\n', "utf-8")
    assert regenerate(tmp_path, ONE, package) == 0
    assert regenerate(tmp_path, TWO, package) == 0
    assert fixtures.read_text("utf-8") == '{"exchanges": []}\n'


def test_stale_removal_prunes_only_folders_it_made(tmp_path: Path) -> None:
    """An emptied folder goes only if the generator made it."""
    out = tmp_path / "out"
    assert regenerate(tmp_path, ONE, out) == 0
    files = {
        PurePosixPath(p): (out / p).read_bytes() for p in manifest_of(out)["files"]
    }
    (out / "extra").mkdir()  # the user's folder, before the generator uses it
    extra = {PurePosixPath("extra/x.txt"): "x", PurePosixPath("made/y.txt"): "y"}
    write_package({**files, **extra}, out, force=True)
    assert "made" in manifest_of(out)["dirs"]
    assert "extra" not in manifest_of(out)["dirs"]
    write_package(files, out, force=True)
    assert not (out / "extra" / "x.txt").exists()
    assert not (out / "made").exists()  # made by the generator, emptied: pruned
    assert (out / "extra").is_dir()  # made by the user: kept, even empty


def legacy(out: Path) -> None:
    """Turn the manifest into an earlier version's (files only)."""
    manifest = manifest_of(out)
    del manifest["sha256"], manifest["dirs"]
    (out / MANIFEST).write_text(json.dumps(manifest), "utf-8")


def test_legacy_manifest_same_content_upgrades(tmp_path: Path, package: Path) -> None:
    """A folder from an earlier version regenerates when its files are current."""
    legacy(package)
    assert regenerate(tmp_path, TWO, package) == 0
    assert set(manifest_of(package)["sha256"]) == set(manifest_of(package)["files"])


def test_legacy_manifest_differing_file_is_refused(
    tmp_path: Path, package: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without a recorded hash, a file that would change is named, not replaced."""
    (package / "README.md").write_text("maybe edited\n", "utf-8")
    legacy(package)
    before = digest(package)
    capsys.readouterr()
    assert regenerate(tmp_path, ONE, package) == 1
    errors = error_lines(capsys.readouterr().err)
    assert (
        "error: README.md: written by an earlier tap-builder version that recorded "
        "no checksum, and differs from the new version (delete it if you never "
        "edited it)"
    ) in errors
    assert digest(package) == before


def test_legacy_manifest_stale_file_is_kept(tmp_path: Path) -> None:
    """Without a recorded hash, a file no longer generated is kept and reported."""
    out = tmp_path / "out"
    files = {PurePosixPath("a.txt"): "a\n", PurePosixPath("old/b.txt"): "b\n"}
    write_package(files, out)
    legacy(out)
    written = write_package({PurePosixPath("a.txt"): "a\n"}, out, force=True)
    assert (out / "old" / "b.txt").read_text("utf-8") == "b\n"
    assert written.notices == [
        "kept old/b.txt: no longer generated, and the earlier tap-builder version "
        "that wrote it recorded no checksum"
    ]
    assert manifest_of(out)["files"] == ["a.txt"]
