"""Closed loop, for every demo API: import its served OpenAPI document, generate
the tap, pip-install it (non-editable), sync it as a process against the demo API,
and get the same records as the hand-written sample spec's tap.

The lab document is deliberately wrong about ``/tags``; it is imported with
``--verify``, whose corrections make its records match too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tap_builder import load_spec, validate_spec
from tap_builder.cli import main
from tap_builder.commands.preview import run_stream
from tap_builder.demo import (
    API_PREFIXES,
    DEMO_SETTINGS,
    DEMO_SPECS,
    DemoServer,
    demo_config,
)
from tests.e2e import SAMPLES, InstalledTap, install_taps

pytestmark = pytest.mark.slow

#: The settings of each imported spec (its parameter names come from the document).
IMPORTED_SETTINGS: dict[str, dict[str, Any]] = {
    "aircall": {"username": "demo-api-id", "password": "demo-api-token"},
    "chargebee": {"site": "demo-test", "api_key": "test_demo_chargebee_key"},
    "shopify": {"store_name": "demo-store", "access_token": "shpat_demo_access_token"},
    "clinic": {"access_token": "clinic-demo-token"},
    "helpdesk": {"api_key": "hd-demo-api-key", "tenant": "acme"},
    "openlib": {},
    "lab": {"access_token": DEMO_SETTINGS["lab"]["token"]},
}
#: Lab streams the document describes, and their ids in sample_specs/features/lab.yaml.
LAB_STREAMS = {
    "/events": "events",
    "/articles": "articles",
    "/tags": "tags",
    "/reports": "reports_has_more",
}


def _api_url(server: DemoServer, stem: str) -> str:
    prefix = API_PREFIXES[stem].replace("{config.store_name}", "demo-store")
    return server.url + prefix


@pytest.fixture(scope="module")
def imported(
    demo_server: DemoServer, tap_venv: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[Path, InstalledTap]]:
    """Every demo API's imported spec, generated and installed in one pip call."""
    root = tmp_path_factory.mktemp("openapi-loop")
    specs: dict[str, Path] = {}
    for stem in (*DEMO_SPECS, "lab"):
        api = _api_url(demo_server, stem)
        spec = root / f"openapi_{stem}.yaml"
        args = ["import", "openapi", f"{api}/openapi.json", "-o", str(spec)]
        args += ["--tap-id", f"openapi-{stem}"]
        if stem == "lab":
            config = root / "lab-config.json"
            config.write_text(json.dumps({**IMPORTED_SETTINGS[stem], "api_url": api}))
            args += ["--config", str(config), "--verify"]
        assert main(args) == 0, stem
        specs[stem] = spec
    taps = install_taps(specs, root / "taps", tap_venv)
    return {stem: (specs[stem], taps[stem]) for stem in specs}


def _sorted(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(records, key=lambda r: json.dumps(r, sort_keys=True))


def _imported_records(
    stem: str,
    imported: dict[str, tuple[Path, InstalledTap]],
    server: DemoServer,
    tmp_path: Path,
) -> tuple[dict[str, str], Any]:
    spec, tap = imported[stem]
    config = {**IMPORTED_SETTINGS[stem], "api_url": _api_url(server, stem)}
    run = tap.run(config=config, workdir=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    by_path = {s.path: s.id for s in validate_spec(load_spec(spec)).spec.streams}
    return by_path, run


@pytest.mark.parametrize("stem", DEMO_SPECS)
def test_imported_tap_syncs_the_sample_records(
    stem: str,
    imported: dict[str, tuple[Path, InstalledTap]],
    sample_tap: Callable[[str], InstalledTap],
    demo_server: DemoServer,
    tmp_path: Path,
) -> None:
    """Import -> generate -> install -> sync equals the hand-written spec's sync."""
    by_path, run = _imported_records(stem, imported, demo_server, tmp_path)
    reference = sample_tap(stem).run(
        config=demo_config(stem, demo_server.url), workdir=tmp_path
    )
    assert reference.returncode == 0, reference.stderr[-3000:]
    sample = validate_spec(load_spec(SAMPLES / f"{stem}.yaml")).spec
    for stream in sample.streams:
        expected = reference.records(stream.id)
        assert expected, stream.id
        assert _sorted(run.records(by_path[stream.path])) == _sorted(expected), (
            stream.id
        )


def test_corrected_lab_import_syncs_the_feature_records(
    imported: dict[str, tuple[Path, InstalledTap]],
    demo_server: DemoServer,
    tmp_path: Path,
) -> None:
    """The lab import, corrected by --verify, syncs what features/lab.yaml does."""
    by_path, run = _imported_records("lab", imported, demo_server, tmp_path)
    lab = validate_spec(load_spec(SAMPLES / "features" / "lab.yaml"))
    config = {
        **DEMO_SETTINGS["lab"],
        "api_url": _api_url(demo_server, "lab"),
    }
    for path, sample_id in LAB_STREAMS.items():
        expected = run_stream(lab, sample_id, dict(config), limit=None).records
        assert expected, sample_id
        assert _sorted(run.records(by_path[path])) == _sorted(expected), path
