"""The Meltano path end to end: a fresh Meltano project installs generated taps and
target-jsonl from their plugin definitions (no Meltano Hub, no telemetry) and runs
``meltano run`` twice against the demo API; the second run resumes from state."""

from __future__ import annotations

import json
import os
import subprocess
import venv
from pathlib import Path
from typing import Any

import pytest
import yaml

from tap_builder import generate
from tap_builder.demo import DemoServer, demo_config
from tests.e2e import REPO, SAMPLES, pip

pytestmark = pytest.mark.slow

MELTANO = "meltano~=4.4"


@pytest.fixture(scope="module")
def meltano() -> Path:
    """The meltano executable, from a venv cached between runs."""
    root = Path(
        os.environ.get("TAP_BUILDER_MELTANO_VENV", REPO / ".cache" / "meltano-venv")
    )
    marker = root / "requirements.txt"
    if not (marker.exists() and marker.read_text() == MELTANO):
        venv.EnvBuilder(with_pip=True, clear=True).create(root)
        pip(root, "install", MELTANO)
        marker.write_text(MELTANO)
    return root / "bin" / "meltano"


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "NO_COLOR": "1",
    }


def _meltano(
    meltano: Path, cwd: Path, *args: str, env: dict[str, str] | None = None
) -> str:
    result = subprocess.run(
        [str(meltano), *args],
        cwd=cwd,
        env={**_env(), **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"meltano {' '.join(args)}:\n{result.stderr[-4000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def project(meltano: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh Meltano project with tap-aircall, tap-clinic and target-jsonl added."""
    root = tmp_path_factory.mktemp("meltano")
    _meltano(meltano, root, "init", "--no-usage-stats", "project")
    project = root / "project"
    for stem in ("aircall", "clinic"):
        _, package, _ = generate(SAMPLES / f"{stem}.yaml", root / f"tap-{stem}")
        plugins = yaml.safe_load((package / "meltano.yml").read_text())["plugins"]
        extractor = plugins["extractors"][0] | {"pip_url": str(package)}
        (root / f"{stem}.yml").write_text(yaml.safe_dump(extractor))
        _meltano(
            meltano,
            project,
            "add",
            "extractor",
            f"tap-{stem}",
            "--from-ref",
            str(root / f"{stem}.yml"),
        )
    loader = {k: v for k, v in plugins["loaders"][0].items() if k != "config"}
    (root / "target.yml").write_text(yaml.safe_dump(loader))
    _meltano(
        meltano,
        project,
        "add",
        "loader",
        "target-jsonl",
        "--from-ref",
        str(root / "target.yml"),
    )
    return project


def _run(
    meltano: Path, project: Path, stem: str, server: DemoServer, out: str
) -> dict[str, list[Any]]:
    """meltano run tap-<stem> target-jsonl; the ids written per stream."""
    prefix = f"TAP_{stem.upper()}_"
    env = {prefix + k.upper(): str(v) for k, v in demo_config(stem, server.url).items()}
    destination = project / out
    destination.mkdir()
    env |= {
        "TARGET_JSONL_DESTINATION_PATH": str(destination),
        "TARGET_JSONL_DO_TIMESTAMP_FILE": "false",
    }
    _meltano(meltano, project, "run", f"tap-{stem}", "target-jsonl", env=env)
    return {
        path.stem: [json.loads(line)["id"] for line in path.read_text().splitlines()]
        for path in sorted(destination.glob("*.jsonl"))
    }


def _state(meltano: Path, project: Path, stem: str) -> dict[str, Any]:
    out = _meltano(meltano, project, "state", "get", f"dev:tap-{stem}-to-target-jsonl")
    return json.loads(out.strip().splitlines()[-1])["singer_state"]


def test_meltano_run_incremental_twice(
    meltano: Path, project: Path, demo_server: DemoServer
) -> None:
    """Aircall: all records, then only what is newer than the stored bookmark."""
    first = _run(meltano, project, "aircall", demo_server, "out-aircall-1")
    assert first == {"calls": list(range(1001, 1013)), "users": list(range(501, 509))}
    assert _state(meltano, project, "aircall")["bookmarks"]["calls"] == {
        "replication_key": "started_at",
        "replication_key_value": "2024-02-01T14:30:00+00:00",
    }
    second = _run(meltano, project, "aircall", demo_server, "out-aircall-2")
    assert second == {"calls": [1012], "users": list(range(501, 509))}


def test_meltano_run_parent_child_twice(
    meltano: Path, project: Path, demo_server: DemoServer
) -> None:
    """Clinic: parents and children, then only children newer than their bookmarks."""
    first = _run(meltano, project, "clinic", demo_server, "out-clinic-1")
    assert first == {
        "appointments": list(range(7001, 7009)),
        "clients": list(range(1, 8)),
        "medical_forms": list(range(9001, 9011)),
    }
    partitions = _state(meltano, project, "clinic")["bookmarks"]["medical_forms"][
        "partitions"
    ]
    assert len(partitions) == 7
    second = _run(meltano, project, "clinic", demo_server, "out-clinic-2")
    assert second["medical_forms"] == [9002, 9003, 9006, 9007, 9009, 9010]
    assert second["clients"] == list(range(1, 8))


def test_two_partitions_run_in_parallel_with_their_own_state(
    meltano: Path, demo_server: DemoServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Scale-out: one tap as two Meltano jobs (one account each) at the same time.

    Each partition is an extractor that inherits from the tap (`inherit_from`)
    with its own `account`, so each job has its own run folder and its own state
    id (`dev:<job>-to-target-jsonl`). Both run as parallel processes; every
    record arrives exactly once and both states hold their own bookmark.
    """
    from tap_builder.demo.apis import bulk

    root = tmp_path_factory.mktemp("meltano-scale")
    _meltano(meltano, root, "init", "--no-usage-stats", "project")
    project = root / "project"
    spec = SAMPLES / "features" / "bulk_accounts.yaml"
    _, package, _ = generate(spec, root / "tap-bulk-accounts")
    plugins = yaml.safe_load((package / "meltano.yml").read_text())["plugins"]
    extractor = plugins["extractors"][0] | {"pip_url": str(package)}
    (root / "tap.yml").write_text(yaml.safe_dump(extractor))
    loader = {k: v for k, v in plugins["loaders"][0].items() if k != "config"}
    (root / "target.yml").write_text(yaml.safe_dump(loader))
    for kind, name, ref in (
        ("extractor", "tap-bulk-accounts", "tap.yml"),
        ("loader", "target-jsonl", "target.yml"),
    ):
        _meltano(
            meltano,
            project,
            "add",
            "--plugin-type",
            kind,
            name,
            "--from-ref",
            str(root / ref),
        )
    config = yaml.safe_load((project / "meltano.yml").read_text())
    extractors = config["plugins"]["extractors"]
    extractors[0]["config"] = {"api_url": f"{demo_server.url}/bulk/v1"}
    for account in bulk.ACCOUNTS:
        extractors.append(
            {
                "name": f"tap-bulk-accounts--{account}",
                "inherit_from": "tap-bulk-accounts",
                "config": {"account": account},
            }
        )
    (project / "meltano.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    _meltano(meltano, project, "install")
    jobs = {}
    for account in bulk.ACCOUNTS:
        destination = project / f"out-{account}"
        destination.mkdir()
        env = {
            **_env(),
            "TARGET_JSONL_DESTINATION_PATH": str(destination),
            "TARGET_JSONL_DO_TIMESTAMP_FILE": "false",
        }
        command = [str(meltano), "run", f"tap-bulk-accounts--{account}", "target-jsonl"]
        jobs[account] = subprocess.Popen(
            command,
            cwd=project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    for account, job in jobs.items():
        _, stderr = job.communicate(timeout=600)
        assert job.returncode == 0, f"{account}:\n{stderr[-4000:]}"
    seen: list[int] = []
    for base, (account, count) in enumerate(bulk.ACCOUNTS.items(), start=1):
        lines = (project / f"out-{account}" / "account_items.jsonl").read_text()
        ids = [json.loads(line)["id"] for line in lines.splitlines()]
        assert ids == [base * 1000 + n for n in range(1, count + 1)]
        seen += ids
        state_id = f"dev:tap-bulk-accounts--{account}-to-target-jsonl"
        out = _meltano(meltano, project, "state", "get", state_id)
        state = json.loads(out.strip().splitlines()[-1])["singer_state"]
        last = bulk.ACCOUNT_ITEMS[account][-1]["updated_at"]
        bookmark = state["bookmarks"]["account_items"]["replication_key_value"]
        assert bookmark == last
    assert len(seen) == len(set(seen)) == sum(bulk.ACCOUNTS.values())
