"""Installed taps failing well, keeping secrets, and passing their own test suite."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tap_builder import load_spec, validate_spec
from tap_builder.commands.record import record_fixtures, write_fixtures
from tap_builder.demo import DEMO_SPECS, DemoServer, demo_config
from tests.e2e import REPO, SAMPLES, InstalledTap

pytestmark = pytest.mark.slow

SampleTap = Callable[[str], InstalledTap]


def _secret_values(stem: str, config: dict[str, object]) -> list[str]:
    spec = validate_spec(load_spec(SAMPLES / f"{stem}.yaml")).spec
    return [str(config[p.name]) for p in spec.parameters if p.secret]


def _assert_one_clear_line(stderr: str, *fragments: str) -> None:
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if "ERROR" in line]
    assert errors, stderr[-2000:]
    for fragment in fragments:  # the last line is the tap's verdict
        assert fragment in errors[-1], errors[-1]


@pytest.mark.parametrize(
    ("stem", "setting", "names"),
    [
        ("aircall", "api_token", "api_id, api_token"),
        ("helpdesk", "api_key", "api_key"),
        ("shopify", "access_token", "access_token"),
    ],
)
def test_wrong_credentials_fail_at_once_naming_the_settings(
    stem: str,
    setting: str,
    names: str,
    sample_tap: SampleTap,
    server: DemoServer,
    tmp_path: Path,
) -> None:
    """401: exit 1, one line naming the auth settings, the secret nowhere."""
    wrong = "wrong-SECRET-value"
    config = {**demo_config(stem, server.url), setting: wrong}
    run = sample_tap(stem).run(config=config, workdir=tmp_path)
    assert run.returncode == 1
    _assert_one_clear_line(run.stderr, "HTTP 401", f"check the settings {names}")
    assert wrong not in run.stdout + run.stderr
    assert len([r for r in server.requests if r.status == 401]) == 1  # not retried


def test_query_key_is_redacted_in_errors(
    sample_tap: SampleTap, server: DemoServer, tmp_path: Path
) -> None:
    """An API key sent in the query shows as *** in the failing URL."""
    config = {**demo_config("helpdesk", server.url), "api_key": "qk-SECRET"}
    run = sample_tap("helpdesk").run(config=config, workdir=tmp_path)
    assert "api_key=***" in run.stderr and "qk-SECRET" not in run.stderr


def test_404_names_the_path_to_check(
    sample_tap: SampleTap, server: DemoServer, tmp_path: Path
) -> None:
    """A wrong base URL fails at once with the URL path and the setting to check."""
    config = {**demo_config("aircall", server.url), "api_url": server.url + "/nope/v1"}
    run = sample_tap("aircall").run(config=config, workdir=tmp_path)
    assert run.returncode == 1
    _assert_one_clear_line(run.stderr, "HTTP 404", "/nope/v1/", "api_url")


@pytest.mark.parametrize("stem", DEMO_SPECS)
def test_secrets_never_appear_in_output(
    stem: str, sample_tap: SampleTap, server: DemoServer, tmp_path: Path
) -> None:
    """A full sync at debug log level prints no secret value, on stdout or stderr."""
    config = demo_config(stem, server.url)
    run = sample_tap(stem).run(
        config=config, workdir=tmp_path, env={"LOGLEVEL": "DEBUG"}
    )
    assert run.returncode == 0, run.stderr[-2000:]
    for secret in _secret_values(stem, config):
        assert secret not in run.stdout and secret not in run.stderr


def _run_generated_suite(package_dir: Path, venv: Path, env: dict[str, str]) -> str:
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=package_dir,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:]
    assert " passed" in result.stdout and " failed" not in result.stdout
    return result.stdout


@pytest.mark.parametrize("stem", DEMO_SPECS)
def test_generated_test_suite_passes_offline(
    stem: str, sample_tap: SampleTap, tmp_path: Path
) -> None:
    """Fixtures recorded from the demo API; then the SDK standard tests pass with
    the demo API stopped (the package's replay server answers instead)."""
    package = tmp_path / f"tap-{stem}"
    shutil.copytree(sample_tap(stem).package_dir, package)
    connector = validate_spec(load_spec(SAMPLES / f"{stem}.yaml"))
    with DemoServer() as server:
        fixtures = record_fixtures(connector, demo_config(stem, server.url))
    write_fixtures(package, fixtures)
    text = json.dumps(fixtures)
    for secret in _secret_values(stem, demo_config(stem, "")):
        assert secret not in text  # fixtures hold no secrets
    stdout = _run_generated_suite(package, sample_tap(stem).venv, {})
    assert "test_tap_stream_connections" not in stdout  # no failures listed


def test_generated_test_suite_passes_live(
    sample_tap: SampleTap, demo_server: DemoServer, tmp_path: Path
) -> None:
    """Without fixtures, the generated tests run against the API in the environment."""
    tap = sample_tap("clinic")
    package = tmp_path / "tap-clinic"
    shutil.copytree(tap.package_dir, package)
    prefix = tap.executable.upper().replace("-", "_")
    env = {
        f"{prefix}_{k.upper()}": str(v)
        for k, v in demo_config("clinic", demo_server.url).items()
    }
    _run_generated_suite(package, tap.venv, env)


def test_fresh_package_suite_skips_with_what_to_do(
    sample_tap: SampleTap, tmp_path: Path
) -> None:
    """Nothing recorded and no settings in the environment: the generated suite
    skips with one line saying how to record or which variables to set (no
    ConfigValidationError at collection)."""
    tap = sample_tap("aircall")
    package = tmp_path / "tap-aircall"
    shutil.copytree(tap.package_dir, package)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_AIRCALL_")}
    result = subprocess.run(
        [str(tap.venv / "bin" / "python"), "-m", "pytest", "-q", "-rs"],
        cwd=package,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "1 skipped" in result.stdout
    assert "error" not in result.stdout.lower()
    assert (
        "no recorded fixtures (tests/fixtures/http.json) and no live settings: "
        "run `tap-builder record SPEC --config CONFIG -o .` or set "
        "TAP_AIRCALL_API_ID, TAP_AIRCALL_API_TOKEN"
    ) in result.stdout


def test_demo_command_installs_with_dependencies(tmp_path: Path) -> None:
    """`tap-builder demo`: fresh venv, full pip install, sync, records shown."""
    result = subprocess.run(
        [sys.executable, "-m", "tap_builder.cli", "demo", "--workdir", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "calls: 12 records" in result.stdout
    assert "users: 8 records" in result.stdout
    assert '"replication_key_value": "2024-02-01T14:30:00+00:00"' in result.stdout


@pytest.mark.parametrize("stem", DEMO_SPECS)
def test_about_with_config_shows_no_secret(
    stem: str, sample_tap: SampleTap, tmp_path: Path
) -> None:
    """--about with a config file prints settings, never their secret values."""
    config = demo_config(stem, "http://127.0.0.1:1")
    for fmt in ("json", "markdown"):
        run = sample_tap(stem).run(
            "--about", "--format", fmt, config=config, workdir=tmp_path
        )
        assert run.returncode == 0, run.stderr
        for secret in _secret_values(stem, config):
            assert secret not in run.stdout + run.stderr


def test_generated_files_hold_no_secret(sample_tap: SampleTap) -> None:
    """No generated file holds a config secret (specs only name settings)."""
    for stem in DEMO_SPECS:
        secrets = _secret_values(stem, demo_config(stem, ""))
        for path in sample_tap(stem).package_dir.rglob("*"):
            if path.is_file():
                text = path.read_text(errors="replace")
                assert not any(secret in text for secret in secrets), path
