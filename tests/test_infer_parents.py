"""Live infer-schema on a child stream: --parents, and a summary of what was read."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from tap_builder.cli import main
from tap_builder.commands.infer import LiveSample
from tap_builder.demo import DemoServer, demo_config
from tests.e2e import SAMPLES

CLINIC = SAMPLES / "clinic.yaml"


def _infer(server: DemoServer, tmp_path: Path, stream: str, *extra: str) -> int:
    """Run live infer-schema on a clinic stream against the demo API."""
    config = tmp_path / "config.json"
    config.write_text(json.dumps(demo_config("clinic", server.url)))
    argv = [
        "infer-schema",
        "--spec",
        str(CLINIC),
        "--stream",
        stream,
        "--config",
        str(config),
        *extra,
    ]
    return main(argv)


def _paths(server: DemoServer, suffix: str) -> list[str]:
    return [r.path for r in server.requests if r.path.endswith(suffix)]


def test_parents_reads_that_many_parent_records(
    server: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--parents 5 reads the children of 5 clients, and the summary says so."""
    code = _infer(server, tmp_path, "medical_forms", "--parents", "5")
    out, err = capsys.readouterr()
    assert code == 0, err
    assert err.splitlines() == [
        "inferred from 7 records on 5 pages (5 parent records of 'clients')"
    ]
    assert _paths(server, "/medical-forms") == [
        f"/clinic/v1/clients/{client}/medical-forms" for client in (1, 2, 3, 4, 5)
    ]
    # Pages of 3 clients: two pages give the 5 parents.
    assert [
        r.query["offset"] for r in server.requests if r.path.endswith("/clients")
    ] == [
        ["0"],
        ["3"],
    ]
    schema = json.loads(out)
    assert schema["properties"]["form_type"] == {"type": "string"}


def test_parents_default_to_three(
    server: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --parents a child stream is read for 3 parent records, like preview."""
    code = _infer(server, tmp_path, "appointments")
    _, err = capsys.readouterr()
    assert code == 0, err
    assert err.splitlines() == [
        "inferred from 4 records on 3 pages (3 parent records of 'clients')"
    ]
    assert _paths(server, "/appointments") == [
        f"/clinic/v1/clients/{client}/appointments" for client in (1, 2, 3)
    ]


def test_more_parents_than_the_api_has(
    server: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Asking for more parents than exist reads them all and counts what was read."""
    code = _infer(server, tmp_path, "appointments", "--parents", "50", "--pages", "100")
    _, err = capsys.readouterr()
    assert code == 0, err
    assert err.splitlines() == [
        "inferred from 8 records on 7 pages (7 parent records of 'clients')"
    ]


def test_top_level_stream_summary_has_no_parents(
    server: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A stream without a parent: records and pages only (singular for one)."""
    code = _infer(server, tmp_path, "clients", "--pages", "1", "--parents", "9")
    _, err = capsys.readouterr()
    assert code == 0, err
    assert err.splitlines() == ["inferred from 3 records on 1 page"]


def test_parents_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    """--parents 0 is a usage error naming the flag."""
    with pytest.raises(SystemExit) as exited:
        main(["infer-schema", "--spec", "s.yaml", "--parents", "0"])
    assert exited.value.code == 2
    assert "argument --parents: '0' is not a whole number of at least 1" in (
        capsys.readouterr().err
    )


@dataclass
class Entry:
    stream: str
    decision: str | None


def test_live_sample_counts_one_run_per_parent() -> None:
    """A run of pages ends at a stop (or a failed, undecided request)."""
    requests = [
        Entry("tickets", "next page: 2"),
        Entry("comments", "next page: 2"),
        Entry("comments", "stop: the response holds no next cursor"),
        Entry("comments", None),  # an ignored error: no decision
        Entry("tickets", "stop: preview limit of 3 parent records reached"),
        Entry("comments", "stop: the page had no records"),
        Entry("comments", "next page: 'c2'"),
        Entry("comments", "stop: preview limit of 3 pages reached"),
    ]
    sample = LiveSample.of("comments", 37, requests, "tickets")
    assert sample == LiveSample(37, 6, "tickets", 4)
    assert sample.summary() == (
        "inferred from 37 records on 6 pages (4 parent records of 'tickets')"
    )
    assert LiveSample(1, 1, "tickets", 1).summary() == (
        "inferred from 1 record on 1 page (1 parent record of 'tickets')"
    )
    assert LiveSample.of("tickets", 0, requests).summary() == (
        "inferred from 0 records on 2 pages"
    )
