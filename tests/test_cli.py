"""The tap-builder command line, driven in-process through ``cli.main``."""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

import pytest
import yaml

from tap_builder import __version__
from tap_builder.cli import main
from tap_builder.write import MANIFEST

SAMPLE_SPECS = Path(__file__).resolve().parent.parent / "sample_specs"

SPEC: dict[str, t.Any] = {
    "spec_version": 2,
    "name": "Widgets",
    "tap_id": "widgets",
    "base_url": "https://api.widgets.example.com",
    "authentication": {
        "type": "api_key",
        "location": "header",
        "name": "X-Api-Key",
        "value": "{config.api_key}",
    },
    "parameters": [{"name": "api_key", "secret": True}],
    "streams": [
        {
            "name": "Widgets",
            "id": "widgets",
            "path": "/widgets",
            "primary_key": "id",
            "schema": {"type": "object", "properties": {"id": {"type": "integer"}}},
        },
        {
            "name": "Gadgets",
            "id": "gadgets",
            "path": "/gadgets",
            "primary_key": "id",
            "schema": {"type": "object", "properties": {"id": {"type": "string"}}},
        },
    ],
}


def write_spec(folder: Path, data: dict[str, t.Any] | None = None) -> Path:
    spec_file = folder / "widgets.yaml"
    spec_file.write_text(yaml.safe_dump(data or SPEC, sort_keys=False), "utf-8")
    return spec_file


def broken_spec(folder: Path) -> Path:
    """A spec with three independent problems."""
    data = json.loads(json.dumps(SPEC))
    data["authentication"]["value"] = "{config.token}"
    data["streams"][0]["primary_key"] = "uid"
    data["streams"][1]["body"] = {"a": 1}
    return write_spec(folder, data)


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# --------------------------------------------------------------------------- #
# validate
# --------------------------------------------------------------------------- #


def test_validate_valid_spec(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A valid spec exits 0 and names its streams."""
    assert main(["validate", str(write_spec(tmp_path))]) == 0
    out, err = capsys.readouterr()
    assert "valid (2 streams: widgets, gadgets)" in out
    assert err == ""


@pytest.mark.parametrize("sample", sorted(SAMPLE_SPECS.glob("*.yaml")), ids=str)
def test_validate_sample_specs(
    sample: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every sample spec passes ``validate``."""
    assert main(["validate", str(sample)]) == 0
    assert capsys.readouterr().err == ""


def test_validate_invalid_spec(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An invalid spec exits 1 with one stderr line per problem, no traceback."""
    spec_file = broken_spec(tmp_path)
    assert main(["validate", str(spec_file)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert lines[-1] == "3 problems found."
    problems = lines[:-1]
    assert len(problems) == 3
    for path in (
        "authentication.value",
        "streams[0].primary_key[0]",
        "streams[1].body",
    ):
        assert sum(f" {path}: " in line for line in problems) == 1
    assert all(line.startswith(f"{spec_file}:") for line in problems)
    assert "Traceback" not in err


def test_validate_yaml_syntax_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A YAML syntax error is one line with the file and line number."""
    spec_file = tmp_path / "bad.yaml"
    spec_file.write_text("name: X\ntap_id: [x\n", "utf-8")
    assert main(["validate", str(spec_file)]) == 1
    first, summary = capsys.readouterr().err.splitlines()
    assert first.startswith(f"{spec_file}:3 not valid YAML: ")
    assert "expected ',' or ']'" in first
    assert summary == "1 problem found."


def test_validate_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A spec file that does not exist is a clear one-line error, exit 1."""
    missing = tmp_path / "nope.yaml"
    assert main(["validate", str(missing)]) == 1
    err = capsys.readouterr().err
    assert f"{missing}: cannot read the spec: No such file or directory" in err
    assert "Traceback" not in err


def test_validate_folder_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A folder given as the spec is a clear error, not a traceback."""
    assert main(["validate", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "cannot read the spec" in err
    assert "Traceback" not in err


# --------------------------------------------------------------------------- #
# generate
# --------------------------------------------------------------------------- #

EXPECTED_FILES = [
    "pyproject.toml",
    "README.md",
    "meltano.yml",
    "tap_widgets/__init__.py",
    "tap_widgets/streams.py",
    "tap_widgets/schemas/widgets.json",
    "tap_widgets/schemas/gadgets.json",
    "tests/test_core.py",
    MANIFEST,
]


def test_generate_writes_package(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """generate -o OUT writes the whole package with its root at OUT."""
    out = tmp_path / "out"
    assert main(["generate", str(write_spec(tmp_path)), "-o", str(out)]) == 0
    for name in EXPECTED_FILES:
        assert (out / name).is_file(), name
    schema = json.loads((out / "tap_widgets/schemas/gadgets.json").read_text("utf-8"))
    assert schema["properties"]["id"]["type"] == "string"
    stdout = capsys.readouterr().out
    assert f"to {out}" in stdout
    assert "tap-widgets --about" in stdout


def test_generate_manifest_lists_files(tmp_path: Path) -> None:
    """The manifest lists exactly the generated files (besides itself), and
    apart the user's own custom.py."""
    out = tmp_path / "out"
    assert main(["generate", str(write_spec(tmp_path)), "-o", str(out)]) == 0
    manifest = json.loads((out / MANIFEST).read_text("utf-8"))
    user = ["tap_widgets/custom.py"]
    assert manifest["files"] == sorted(set(snapshot(out)) - {MANIFEST, *user})
    assert manifest["user_files"] == user
    assert manifest["spec"] == "widgets"


def test_generate_default_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without -o the package goes to ./tap-<tap_id>."""
    spec_file = write_spec(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert main(["generate", str(spec_file)]) == 0
    assert (work / "tap-widgets" / "pyproject.toml").is_file()
    assert [p.name for p in work.iterdir()] == ["tap-widgets"]


def test_generate_invalid_spec_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An invalid spec exits 1 and leaves no output folder (nor staging)."""
    out = tmp_path / "gen" / "out"
    assert main(["generate", str(broken_spec(tmp_path)), "-o", str(out)]) == 1
    assert not out.parent.exists()
    assert "3 problems found." in capsys.readouterr().err


def test_generate_refuses_non_empty_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A non-empty OUT is refused without --force, its files untouched."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine", "utf-8")
    assert main(["generate", str(write_spec(tmp_path)), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "--force" in err
    assert "Traceback" not in err
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert (out / "notes.txt").read_text("utf-8") == "mine"


def test_generate_into_empty_folder(tmp_path: Path) -> None:
    """An existing empty OUT is fine without --force."""
    out = tmp_path / "out"
    out.mkdir()
    assert main(["generate", str(write_spec(tmp_path)), "-o", str(out)]) == 0
    assert (out / "pyproject.toml").is_file()


def test_generate_force_keeps_user_files_and_drops_stale(tmp_path: Path) -> None:
    """--force keeps files it never wrote and removes ones no longer generated."""
    out = tmp_path / "out"
    assert main(["generate", str(write_spec(tmp_path)), "-o", str(out)]) == 0
    (out / "notes.txt").write_text("mine", "utf-8")
    (out / "tap_widgets" / "schemas" / "extra.json").write_text("{}", "utf-8")
    one_stream = {**SPEC, "streams": SPEC["streams"][:1]}
    spec_file = write_spec(tmp_path, one_stream)
    assert main(["generate", str(spec_file), "-o", str(out), "--force"]) == 0
    assert not (out / "tap_widgets" / "schemas" / "gadgets.json").exists()
    assert (out / "tap_widgets" / "schemas" / "widgets.json").is_file()
    assert (out / "notes.txt").read_text("utf-8") == "mine"
    assert (out / "tap_widgets" / "schemas" / "extra.json").read_text("utf-8") == "{}"
    assert "gadgets" not in (out / "tap_widgets" / "streams.py").read_text("utf-8")
    manifest = json.loads((out / MANIFEST).read_text("utf-8"))
    assert "tap_widgets/schemas/gadgets.json" not in manifest["files"]


def test_generate_force_is_byte_identical(tmp_path: Path) -> None:
    """Regenerating an unchanged spec with --force rewrites identical bytes."""
    out = tmp_path / "out"
    spec_file = write_spec(tmp_path)
    assert main(["generate", str(spec_file), "-o", str(out)]) == 0
    first = snapshot(out)
    assert main(["generate", str(spec_file), "-o", str(out), "--force"]) == 0
    assert snapshot(out) == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "widgets.yaml"]


def test_generate_over_a_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """OUT that is a file is refused, and the file is left alone."""
    out = tmp_path / "out"
    out.write_text("x", "utf-8")
    assert main(["generate", str(write_spec(tmp_path)), "-o", str(out), "--force"]) == 1
    assert "is not a folder" in capsys.readouterr().err
    assert out.read_text("utf-8") == "x"


def test_generate_missing_spec(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """generate with a missing spec file exits 1 with a clear message."""
    out = tmp_path / "out"
    assert main(["generate", str(tmp_path / "nope.yaml"), "-o", str(out)]) == 1
    assert "cannot read the spec" in capsys.readouterr().err
    assert not out.exists()


# --------------------------------------------------------------------------- #
# infer-schema, usage, version
# --------------------------------------------------------------------------- #


def test_infer_schema_prints_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """infer-schema prints the JSON Schema of a response's records."""
    sample = tmp_path / "sample.json"
    response = {
        "calls": [{"id": 1, "at": "2024-01-02T03:04:05Z"}, {"id": 2, "at": None}]
    }
    sample.write_text(json.dumps(response), "utf-8")
    assert main(["infer-schema", str(sample), "--selector", "$.calls[*]"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["properties"] == {
        "at": {"type": ["string", "null"], "format": "date-time"},
        "id": {"type": "integer"},
    }


def test_infer_schema_bad_selector(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A selector that matches nothing is a one-line error, exit 1."""
    sample = tmp_path / "sample.json"
    sample.write_text('{"data": []}', "utf-8")
    assert main(["infer-schema", str(sample), "--selector", "$.items[*]"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: selector '$.items[*]' matches nothing")
    assert "Traceback" not in err


def test_infer_schema_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing sample file is a one-line error, exit 1."""
    assert main(["infer-schema", str(tmp_path / "nope.json")]) == 1
    assert capsys.readouterr().err.startswith("error: cannot read")


@pytest.mark.parametrize(
    "argv",
    [[], ["validate"], ["frobnicate", "x"], ["generate", "s.yaml", "--forse"]],
    ids=["no-command", "no-spec", "unknown-command", "unknown-option"],
)
def test_usage_error_exits_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Argument errors exit with code 2 and print usage."""
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    assert "usage: tap-builder" in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    """--version prints the version and exits 0."""
    with pytest.raises(SystemExit) as caught:
        main(["--version"])
    assert caught.value.code == 0
    assert capsys.readouterr().out.strip() == f"tap-builder {__version__}"
