"""Own your tap, end to end: generate, edit a generated stream file, write hooks
in custom.py, change the spec, run ``tap-builder update``, then install the tap
(non-editable) and sync it against the demo API: the edit, the hooks and the
spec change all show in the Singer messages and the requests."""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import pytest

from tap_builder import generate
from tap_builder.cli import main
from tap_builder.demo import DemoServer
from tap_builder.demo.apis.aircall import AIRCALL_CALLS, AIRCALL_USERS
from tap_builder.demo.configs import demo_config
from tests.e2e import InstalledTap, pip
from tests.update_scenario import (
    CUSTOM,
    NEW_SPEC,
    OLD_SPEC,
    edit_stream_file,
    write_spec,
)

pytestmark = pytest.mark.slow


def test_updated_tap_syncs_with_edit_hooks_and_spec_change(
    tmp_path: Path, tap_venv: Path, server: DemoServer
) -> None:
    """Every part of the scenario is in one sync of the updated, installed tap."""
    spec = write_spec(tmp_path, OLD_SPEC)
    package = tmp_path / "tap-phones"
    generate(spec, package)
    edit_stream_file(package)
    (package / "tap_phones" / "custom.py").write_text(CUSTOM, encoding="utf-8")
    write_spec(tmp_path, NEW_SPEC)
    assert main(["update", str(spec), str(package)]) == 0

    pip(
        tap_venv,
        "install",
        "--no-deps",
        "--no-build-isolation",
        "--force-reinstall",
        str(package),
    )
    tap = InstalledTap("phones", package, tap_venv, "tap-phones")
    config = {**demo_config("aircall", server.url)}
    run = tap.run(config=config, workdir=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.assert_records_fit_schemas() > 0

    # the edit of streams.py: email joined the primary key
    schemas = run.schemas()
    assert schemas["users"]["key_properties"] == ["id", "email"]
    # post_process: names in capitals
    assert [r["name"] for r in run.records("users")] == [
        u["name"].upper() for u in AIRCALL_USERS
    ]
    # the new stream, paged by custom.py's paginator (page numbers sent by
    # prepare_request), its records parsed by parse_response (inbound only)
    inbound = [c["id"] for c in AIRCALL_CALLS if c["direction"] == "inbound"]
    assert run.ids("calls") == inbound
    calls = [r for r in server.requests if r.path.endswith("/calls")]
    assert [r.query.get("page", ["1"])[0] for r in calls] == [
        str(page) for page in range(1, math.ceil(len(AIRCALL_CALLS) / 4) + 1)
    ]
    # the hand-written stream
    assert run.records("users_meta")[0]["total"] == len(AIRCALL_USERS)
    # the new query parameter and the changed pagination: order=asc on every
    # users request, and no request for an empty page after the last one
    users = [r for r in server.requests if r.path.endswith("/users")]
    paged = [r for r in users if "order" in r.query]
    assert len(paged) == math.ceil(len(AIRCALL_USERS) / 5)
    assert all(r.query["order"] == ["asc"] for r in paged)


def test_hooks_are_type_checked(tmp_path: Path, tap_venv: Path) -> None:
    """mypy --strict checks custom.py's hooks against the run-time's types: the
    scenario's pass, a hook with the wrong signature fails."""
    spec = write_spec(tmp_path, NEW_SPEC)
    package = tmp_path / "tap-phones"
    generate(spec, package)
    custom = package / "tap_phones" / "custom.py"
    custom.write_text(CUSTOM, encoding="utf-8")
    mypy = [str(tap_venv / "bin" / "python"), "-m", "mypy", "--strict"]
    mypy += ["--no-incremental", "--cache-dir", str(tmp_path / "mc"), "."]

    def check() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            mypy, cwd=package, capture_output=True, text=True, timeout=300, check=False
        )

    typed = check()
    assert typed.returncode == 0, typed.stdout + typed.stderr
    custom.write_text(
        CUSTOM.replace(
            "StreamHooks(post_process=shout)", "StreamHooks(post_process=len)"
        ),
        encoding="utf-8",
    )
    typed = check()
    assert typed.returncode == 1
    assert (
        'Argument "post_process" to "StreamHooks" has incompatible type' in typed.stdout
    )
