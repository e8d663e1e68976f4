"""Authentication types beyond the basics: an API key with a prefix, JWT, AWS
Signature V4 and the OAuth2 authorization code. Spec validation (field paths),
generated code, and end to end: each feature spec generated, pip-installed and
synced against the demo API, which checks the credentials it is sent."""

from __future__ import annotations

import json
import tempfile
import typing as t
from pathlib import Path

import pytest
import yaml

from tap_builder import SpecError, load_spec, render_package, validate_spec
from tap_builder.cli import main
from tap_builder.demo import DemoServer, lab
from tests.e2e import SAMPLES, InstalledTap, install_taps

FEATURES = SAMPLES / "features"
#: The feature specs of this module, installed with one pip call.
AUTH_SPECS = ("lab_key_prefix",)


# --------------------------------------------------------------------------- #
# Validation
# --------------------------------------------------------------------------- #


def _spec_with(auth: dict[str, t.Any], tmp_path: Path) -> Path:
    data = yaml.safe_load((FEATURES / "lab_key_prefix.yaml").read_text())
    data["authentication"] = auth
    data["parameters"] = [
        {"name": name, "secret": True}
        for name in ("api_key", "private_key", "client_email")
    ]
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    (tmp_path / "item.schema.json").write_text(
        (FEATURES / "item.schema.json").read_text()
    )
    return path


def _issues(auth: dict[str, t.Any], tmp_path: Path) -> list[tuple[str, str]]:
    with pytest.raises(SpecError) as caught:
        validate_spec(load_spec(_spec_with(auth, tmp_path)))
    return [(i.path, i.message) for i in caught.value.issues]


KEY = {
    "type": "api_key",
    "location": "header",
    "name": "Authorization",
    "value": "{config.api_key}",
}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"prefix": "Token\n"},
            [("authentication.prefix", "a header value cannot hold control")],
        ),
        (
            {"location": "query", "name": "key", "prefix": "Token "},
            [("authentication.prefix", "only a key sent in a header")],
        ),
        (
            {"prefix": "{config.api_key} "},
            [("authentication.prefix", "the prefix is literal text")],
        ),
    ],
    ids=["control-character", "query", "variable"],
)
def test_api_key_prefix_problems(
    changes: dict[str, str], expected: list[tuple[str, str]], tmp_path: Path
) -> None:
    """A bad prefix is reported at authentication.prefix."""
    issues = _issues({**KEY, **changes}, tmp_path)
    for path, fragment in expected:
        assert any(p == path and fragment in m for p, m in issues), issues


def _client_code(connector: t.Any) -> str:
    files = render_package(connector)
    return str(next(v for k, v in files.items() if k.name == "client.py"))


def test_api_key_without_prefix_writes_no_prefix(tmp_path: Path) -> None:
    """Generated code holds the prefix only when the spec sets one."""
    without = validate_spec(load_spec(_spec_with(KEY, tmp_path)))
    code = _client_code(without)
    assert 'value=self.render_secret("{config.api_key}")' in code
    code = _client_code(validate_spec(load_spec(FEATURES / "lab_key_prefix.yaml")))
    assert 'value="Token " + self.render_secret("{config.api_key}")' in str(code)


def test_validate_command_lists_every_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The CLI: exit 1, one line per problem with its path, no traceback."""
    spec = _spec_with(
        {**KEY, "location": "query", "name": "key", "prefix": "{x}\n"}, tmp_path
    )
    assert main(["validate", str(spec)]) == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "authentication.prefix" in line]
    assert len(lines) == 3, err
    assert "Traceback" not in err


# --------------------------------------------------------------------------- #
# End to end
# --------------------------------------------------------------------------- #


@pytest.fixture(scope="module")
def auth_taps(
    tap_venv: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, InstalledTap]:
    """Every feature spec of this module, generated and installed once."""
    specs = {stem: FEATURES / f"{stem}.yaml" for stem in AUTH_SPECS}
    return install_taps(specs, tmp_path_factory.mktemp("auth-taps"), tap_venv)


@pytest.fixture(scope="module")
def lab_server() -> t.Iterator[DemoServer]:
    """The demo API for this module."""
    with DemoServer() as server:
        yield server


def _api_log(server: DemoServer, endpoint: str) -> list[t.Any]:
    return [r for r in server.requests if r.path == f"/lab/v1/{endpoint}"]


@pytest.mark.slow
def test_api_key_prefix_end_to_end(
    auth_taps: dict[str, InstalledTap], lab_server: DemoServer, tmp_path: Path
) -> None:
    """``prefix: "Token "`` sends ``Authorization: Token <key>``; key kept secret."""
    lab_server.clear_requests()
    config = {"api_key": lab.API_KEY, "api_url": lab_server.url + "/lab/v1"}
    run = auth_taps["lab_key_prefix"].run(config=config, workdir=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.records("keyed") == [dict(item) for item in lab.LAB_ITEMS[:3]]
    sent = {r.headers["authorization"] for r in _api_log(lab_server, "keyed")}
    assert sent == {f"Token {lab.API_KEY}"}
    wrong = auth_taps["lab_key_prefix"].run(
        config={**config, "api_key": "wrong-key"}, workdir=tmp_path
    )
    assert wrong.returncode == 1 and "401" in wrong.stderr
    assert lab.API_KEY not in run.stderr and "wrong-key" not in wrong.stderr


def test_api_key_prefix_preview(capsys: pytest.CaptureFixture[str]) -> None:
    """``preview`` sends the prefix too and prints records, not the key."""
    with DemoServer() as server:
        config = {"api_key": lab.API_KEY, "api_url": server.url + "/lab/v1"}
        code = _preview(FEATURES / "lab_key_prefix.yaml", "keyed", config)
    out = capsys.readouterr()
    assert code == 0, out.err
    assert '"name": "item 1"' in out.out
    assert lab.API_KEY not in out.out + out.err


def _preview(spec: Path, stream: str, config: dict[str, t.Any]) -> int:
    """Run ``tap-builder preview`` in process with ``config`` (a private file)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.json"
        path.write_text(json.dumps(config))
        args = ["preview", str(spec), "--config", str(path), "--stream", stream]
        return main([*args, "--json"])
