"""``tap-builder record`` and the generated replay server, against an API that
fails now and then: only the answers the tap kept are recorded, absolute URLs in
answers lead back to the replay server, and a request nobody recorded says so."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from tap_builder import load_spec, validate_spec
from tap_builder.commands.record import record_fixtures, write_fixtures
from tap_builder.demo import DemoServer, FaultPlan, demo_config
from tests.e2e import SAMPLES, InstalledTap, install_tap
from tests.test_record_secrets import _replay_module

pytestmark = pytest.mark.slow


def _suite(package: Path, tap: InstalledTap) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(tap.venv / "bin" / "python"),
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        cwd=package,
        env={k: v for k, v in os.environ.items() if not k.startswith("TAP_")},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def lab_tap(tap_venv: Path, tmp_path_factory: pytest.TempPathFactory) -> InstalledTap:
    out = tmp_path_factory.mktemp("lab") / "tap-lab"
    return install_tap(SAMPLES / "features" / "lab.yaml", out, tap_venv)


def test_retried_answers_are_not_recorded(
    sample_tap: Callable[[str], InstalledTap], tmp_path: Path
) -> None:
    """With a third of the requests failing (429, 500, 503, all retried), the
    fixtures hold only the answers the tap kept, and the suite passes offline."""
    tap = sample_tap("aircall")
    package = tmp_path / "tap-aircall"
    shutil.copytree(tap.package_dir, package)
    connector = validate_spec(load_spec(SAMPLES / "aircall.yaml"))
    plan = FaultPlan(rate=0.34, seed=5, kinds=("429", "500", "503"))
    with DemoServer(faults=plan) as server:
        fixtures = record_fixtures(connector, demo_config("aircall", server.url))
        failed = [r for r in server.requests if r.status >= 400]
    assert failed, "the demo API injected no fault"
    assert {e["status"] for e in fixtures["exchanges"]} == {200}
    write_fixtures(package, fixtures)
    result = _suite(package, tap)
    assert result.returncode == 0, result.stdout[-3000:]
    assert " failed" not in result.stdout and " passed" in result.stdout


def test_absolute_urls_in_answers_lead_back_to_the_replay_server(
    lab_tap: InstalledTap, tmp_path: Path
) -> None:
    """The lab API's Link headers carry absolute URLs of the host it ran on; the
    replay server points them at itself, so the tap follows them offline (it
    would refuse another origin)."""
    package = tmp_path / "tap-lab"
    shutil.copytree(lab_tap.package_dir, package)
    connector = validate_spec(load_spec(SAMPLES / "features" / "lab.yaml"))
    with DemoServer() as server:
        fixtures = record_fixtures(connector, demo_config("lab", server.url))
        origin = server.url.split("/", 3)[:3]
    assert fixtures["origin"] == "/".join(origin)
    assert any(
        f"{fixtures['origin']}/lab/v1/tags" in (e["link"] or "")
        for e in fixtures["exchanges"]
    )
    write_fixtures(package, fixtures)
    result = _suite(package, lab_tap)
    assert result.returncode == 0, result.stdout[-3000:]
    assert " failed" not in result.stdout


def test_a_request_nobody_recorded_says_so(
    sample_tap: Callable[[str], InstalledTap], tmp_path: Path
) -> None:
    """A request missing from the recording gets an answer saying it was not
    recorded and how to record it; the tap's error line shows that text (not a
    404 blaming the stream's path)."""
    tap = sample_tap("aircall")
    package = tmp_path / "tap-aircall"
    shutil.copytree(tap.package_dir, package)
    connector = validate_spec(load_spec(SAMPLES / "aircall.yaml"))
    with DemoServer() as server:
        fixtures = record_fixtures(connector, demo_config("aircall", server.url))
    fixtures["exchanges"] = [e for e in fixtures["exchanges"] if e["path"] != "/users"]
    write_fixtures(package, fixtures)
    replay = _replay_module(package)
    started = replay.fixture_config()
    assert started is not None
    config, _ = started
    try:
        answer = requests.get(
            config["api_url"] + "/users?per_page=5&page=1", timeout=10
        )
        assert answer.status_code == 421
        assert answer.text == (
            "not recorded: GET /aircall/v1/users?per_page=5&page=1; re-run "
            "`tap-builder record SPEC --config CONFIG -o .` to record it"
        )
        config_file = tmp_path / "config.json"
        config_file.write_text(json.dumps(config))
        run = subprocess.run(
            [str(tap.venv / "bin" / tap.executable), "--config", str(config_file)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        replay.SERVERS[-1].shutdown()
        replay.SERVERS[-1].server_close()
    assert run.returncode == 1
    last = run.stderr.strip().splitlines()[-1]
    assert "stream 'users': HTTP 421 Misdirected Request for " in last
    assert "not recorded: GET /aircall/v1/users?per_page=5&page=1; re-run" in last
