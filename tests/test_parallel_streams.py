"""Top-level streams synced at once, in child processes (``parallel_streams``).

End to end: ``sample_specs/features/bulk_parallel.yaml`` is generated,
pip-installed and run as a process against the demo API's ``bulk`` endpoints,
which answer after 50 ms. A run with the ``parallel_streams`` setting at 1 (one
stream after another, in one process) is the reference: the parallel run must
emit the same records per stream, in the same order, and the same final STATE,
while the streams' requests overlap at the server. The fast tests at the end
check the spec key and what is generated.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tap_builder import SpecError, load_spec, validate_spec
from tap_builder.demo import DemoServer
from tap_builder.demo.apis import bulk
from tap_builder.render import render_package
from tap_builder.spec.schema import spec_json_schema
from tests.e2e import SAMPLES, InstalledTap, Run, install_taps

LATENCY = 0.05
SPEC = SAMPLES / "features" / "bulk_parallel.yaml"
#: The streams of the successful runs (broken, which fails, is left out).
HEALTHY = ("items", "north_items", "offset_items", "parents", "children")
#: The units: a top-level stream with its children, and the paths they request.
UNIT_PATHS = {
    "items": "/items",
    "north_items": "/accounts/north/items",
    "offset_items": "/offset_items",
    "parents": "/parents",
}
MODULE = "tap_bulk_parallel"


@pytest.fixture(scope="module")
def server() -> Iterator[DemoServer]:
    """The demo API, answering every request after LATENCY seconds."""
    with DemoServer(latency=LATENCY) as demo:
        yield demo


@pytest.fixture(scope="module")
def tap(tap_venv: Path, tmp_path_factory: pytest.TempPathFactory) -> InstalledTap:
    """tap-bulk-parallel, installed once."""
    out = tmp_path_factory.mktemp("parallel")
    return install_taps({"bulk_parallel": SPEC}, out, tap_venv)["bulk_parallel"]


def _config(server: DemoServer, **extra: Any) -> dict[str, Any]:
    return {"api_url": f"{server.url}/bulk/v1", **extra}


@pytest.fixture(scope="module")
def catalog(
    tap: InstalledTap, server: DemoServer, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """Every stream but broken selected."""
    workdir = tmp_path_factory.mktemp("discover")
    discover = tap.run("--discover", config=_config(server), workdir=workdir)
    assert discover.returncode == 0, discover.stderr
    found: dict[str, Any] = json.loads(discover.stdout)
    for entry in found["streams"]:
        for metadata in entry["metadata"]:
            if metadata["breadcrumb"] == []:
                metadata["metadata"]["selected"] = entry["tap_stream_id"] != "broken"
    return found


class Timed:
    """A run, the requests the server saw and how long it took."""

    def __init__(self, run: Run, requests: list[Any], seconds: float, most: int):
        self.run = run
        self.requests = requests
        self.seconds = seconds
        self.most = most


def _timed(
    tap: InstalledTap,
    server: DemoServer,
    workdir: Path,
    **kwargs: Any,
) -> Timed:
    server.clear_requests()
    started = time.monotonic()
    run = tap.run(workdir=workdir, **kwargs)
    seconds = time.monotonic() - started
    return Timed(run, server.requests, seconds, server.max_in_flight)


@pytest.fixture(scope="module")
def runs(
    tap: InstalledTap,
    server: DemoServer,
    catalog: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Timed]:
    """The same sync one stream after another (setting 1) and in parallel."""
    found = {}
    for name, setting in (("sequential", 1), ("parallel", None)):
        workdir = tmp_path_factory.mktemp(name)
        temp = workdir / "tmp"
        temp.mkdir()
        extra = {} if setting is None else {"parallel_streams": setting}
        found[name] = _timed(
            tap,
            server,
            workdir,
            config=_config(server, **extra),
            catalog=catalog,
            env={"TMPDIR": str(temp)},
        )
        assert found[name].run.returncode == 0, found[name].run.stderr[-3000:]
        assert list(temp.iterdir()) == [], "temporary files left behind"
    return found


def _without_clock(state: dict[str, Any]) -> dict[str, Any]:
    state = json.loads(json.dumps(state))
    for stream_state in state.get("bookmarks", {}).values():
        stream_state.pop("replication_key_signpost", None)
    return state


def _records(run: Run, stream: str) -> list[dict[str, Any]]:
    return run.records(stream)


def _child_processes() -> list[int]:
    """Processes of this tap's units still running (any, from any test)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if MODULE.encode() in command and b"--catalog" in command:
            found.append(int(entry.name))
    return found


@pytest.mark.slow
def test_parallel_sync_emits_what_a_sequential_one_does(
    runs: dict[str, Timed],
) -> None:
    """Per stream the same records in the same order; the same final STATE."""
    sequential, parallel = runs["sequential"].run, runs["parallel"].run
    for stream in HEALTHY:
        assert _records(parallel, stream) == _records(sequential, stream), stream
        assert _records(parallel, stream), stream
    assert parallel.ids("items") == list(range(1, bulk.ITEM_COUNT + 1))
    assert len(parallel.records("children")) == bulk.PARENT_COUNT * 2
    assert not parallel.records("broken")
    assert set(parallel.schemas()) == set(HEALTHY)
    assert parallel.schemas() == sequential.schemas()
    final = _without_clock(parallel.final_state)
    assert final == _without_clock(sequential.final_state)
    assert set(final["bookmarks"]) == set(HEALTHY)
    assert parallel.assert_records_fit_schemas() == sum(
        len(parallel.records(s)) for s in HEALTHY
    )


@pytest.mark.slow
def test_state_never_claims_a_record_not_yet_emitted(runs: dict[str, Timed]) -> None:
    """Each merged STATE: every sorted stream's bookmark is its last record out."""
    run = runs["parallel"].run
    last: dict[str, str] = {}
    seen: dict[str, list[str]] = {"items": [], "north_items": []}
    for message in run.messages:
        if message["type"] == "RECORD" and message["stream"] in seen:
            last[message["stream"]] = message["record"]["updated_at"]
        elif message["type"] == "STATE":
            for stream, values in seen.items():
                bookmark = (
                    message["value"]["bookmarks"]
                    .get(stream, {})
                    .get("replication_key_value")
                )
                if bookmark is not None:
                    assert bookmark == last[stream]
                    values.append(bookmark)
    # both streams' bookmarks move in the same run's STATE messages (state_every 5)
    assert len(set(seen["items"])) >= bulk.ITEM_COUNT // 5
    assert len(set(seen["north_items"])) >= bulk.ACCOUNTS["north"] // 5


@pytest.mark.slow
def test_streams_requests_overlap_at_the_server(runs: dict[str, Timed]) -> None:
    """The units' requests arrive interleaved; the run takes clearly less time."""
    sequential, parallel = runs["sequential"], runs["parallel"]
    assert sequential.most == 1
    spans = {}
    for unit, path in UNIT_PATHS.items():
        times = [r.at for r in parallel.requests if r.path.endswith("/v1" + path)]
        assert times, unit
        spans[unit] = (min(times), max(times))
    for a, (start_a, end_a) in spans.items():
        for b, (start_b, end_b) in spans.items():
            if a < b:
                assert start_a < end_b and start_b < end_a, (a, b)
    assert parallel.most >= 3
    assert len(parallel.requests) == len(sequential.requests)
    # about 6.5 s one stream after another, 3.5 s at once on 2 busy cores (the
    # longest unit, parents with their 24 children, plus starting 5 processes)
    assert parallel.seconds < 0.75 * sequential.seconds, (
        parallel.seconds,
        sequential.seconds,
    )


@pytest.mark.slow
def test_each_stream_resumes_from_its_own_bookmark(
    tap: InstalledTap, server: DemoServer, catalog: dict[str, Any], tmp_path: Path
) -> None:
    """Input state: items at record 50, north at its 10th; broken's is kept."""
    items_mark = bulk.ITEMS[49]["updated_at"]
    north_mark = bulk.ACCOUNT_ITEMS["north"][9]["updated_at"]
    broken = {"replication_key": "updated_at", "replication_key_value": "2024-01-01"}
    state = {
        "bookmarks": {
            "items": {
                "replication_key": "updated_at",
                "replication_key_value": items_mark,
            },
            "north_items": {
                "replication_key": "updated_at",
                "replication_key_value": north_mark,
            },
            "broken": broken,
        }
    }
    timed = _timed(
        tap, server, tmp_path, config=_config(server), catalog=catalog, state=state
    )
    run = timed.run
    assert run.returncode == 0, run.stderr[-3000:]
    since = {
        unit: {
            r.query.get("since", [None])[0]
            for r in timed.requests
            if r.path.endswith("/v1" + path)
        }
        for unit, path in UNIT_PATHS.items()
    }
    assert since["items"] == {items_mark}
    assert since["north_items"] == {north_mark}
    assert run.ids("items") == list(range(50, bulk.ITEM_COUNT + 1))
    north = [r["id"] for r in bulk.ACCOUNT_ITEMS["north"][9:]]
    assert run.ids("north_items") == north
    final = run.final_state["bookmarks"]
    assert final["broken"] == broken
    assert final["items"]["replication_key_value"] == bulk.ITEMS[-1]["updated_at"]
    assert (
        final["north_items"]["replication_key_value"]
        == bulk.ACCOUNT_ITEMS["north"][-1]["updated_at"]
    )
    assert len(run.records("offset_items")) == bulk.ITEM_COUNT


@pytest.mark.slow
def test_a_failing_stream_stops_the_others(
    tap: InstalledTap, server: DemoServer, tmp_path: Path
) -> None:
    """broken fails at page 4: exit 1, one line, no process, request or STATE after."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    timed = _timed(  # no catalog: every stream, broken too
        tap, server, tmp_path, config=_config(server), env={"TMPDIR": str(temp)}
    )
    run = timed.run
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert "Traceback" not in run.stderr
    assert lines[-1].endswith(
        "stream broken failed and the other streams were stopped: stream 'broken': "
        f"HTTP 401 Unauthorized for {server.url}/bulk/v1/broken/items?page=4. The "
        "API rejected the credentials: check the settings (none declared)."
    )
    assert sum("the other streams were stopped" in line for line in lines) == 1
    assert _child_processes() == []
    assert list(temp.iterdir()) == []
    answered = len(server.requests)
    time.sleep(0.5)
    assert len(server.requests) == answered, "a request after the tap exited"
    # items (19 pages) was still running when broken failed: it did not finish
    assert len(run.records("items")) < bulk.ITEM_COUNT
    # broken's records up to page 3 are out, and no STATE claims more
    assert run.ids("broken") == list(range(1, 31))
    emitted: list[str] = []
    for message in run.messages:
        if message["type"] == "RECORD" and message["stream"] == "broken":
            emitted.append(message["record"]["updated_at"])
        elif message["type"] == "STATE":
            mark = message["value"]["bookmarks"].get("broken", {})
            if "replication_key_value" in mark:
                assert mark["replication_key_value"] == emitted[-1]
    assert (
        run.final_state["bookmarks"]["broken"]["replication_key_value"]
        == (bulk.ITEMS[29]["updated_at"])
    )


@pytest.mark.slow
def test_a_single_selected_stream_runs_in_one_process(
    tap: InstalledTap, server: DemoServer, catalog: dict[str, Any], tmp_path: Path
) -> None:
    """One unit selected: no child process, the plain sync."""
    only = json.loads(json.dumps(catalog))
    for entry in only["streams"]:
        for metadata in entry["metadata"]:
            if metadata["breadcrumb"] == []:
                metadata["metadata"]["selected"] = entry["tap_stream_id"] == "items"
    run = tap.run(config=_config(server), catalog=only, workdir=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "in up to" not in run.stderr
    assert run.ids("items") == list(range(1, bulk.ITEM_COUNT + 1))
    assert {m.get("stream") for m in run.messages if m["type"] == "RECORD"} == {"items"}


# --------------------------------------------------------------------------- #
# The spec key and what is generated (no processes)
# --------------------------------------------------------------------------- #

BASE: dict[str, Any] = yaml.safe_load(SPEC.read_text(encoding="utf-8"))


def _write(tmp_path: Path, spec: dict[str, Any]) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def _problems(tmp_path: Path, spec: dict[str, Any]) -> list[str]:
    with pytest.raises(SpecError) as caught:
        validate_spec(load_spec(_write(tmp_path, spec)))
    return [f"{issue.path}: {issue.message}" for issue in caught.value.issues]


def test_parallel_streams_out_of_range_names_the_field(tmp_path: Path) -> None:
    """0, 33, and 2 with one top-level stream: one line each, naming the key."""
    for value, words in ((0, "greater than 0"), (33, "at most 32")):
        problems = _problems(tmp_path, {**BASE, "parallel_streams": value})
        assert len(problems) == 1
        assert problems[0].startswith("parallel_streams: ")
        assert words in problems[0]
    parents = [s for s in BASE["streams"] if s["id"] in {"parents", "children"}]
    problems = _problems(tmp_path, {**BASE, "streams": parents})
    assert problems == [
        "parallel_streams: 4 needs at least two top-level streams to sync at once; "
        "this spec has 1: remove the key or set it to 1"
    ]


def _files(tmp_path: Path, **top: Any) -> dict[str, str]:
    spec = {k: v for k, v in BASE.items() if k != "parallel_streams"} | top
    files = render_package(validate_spec(load_spec(_write(tmp_path, spec))), "0.0.0")
    return {str(p): v for p, v in files.items() if isinstance(v, str)}


def test_parallel_code_only_when_the_spec_asks(tmp_path: Path) -> None:
    """Without the key (or with 1): no module, base class or setting."""
    for top in ({}, {"parallel_streams": 1}):
        files = _files(tmp_path, **top)
        assert f"{MODULE}/runtime/parallel.py" not in files
        assert f"{MODULE}/runtime/units.py" not in files
        assert "parallel_streams" not in files[f"{MODULE}/tap.py"]
        assert "class TapBulkParallel(Tap):" in files[f"{MODULE}/tap.py"]
    files = _files(tmp_path, parallel_streams=3)
    tap_py = files[f"{MODULE}/tap.py"]
    assert f"{MODULE}/runtime/parallel.py" in files
    assert f"{MODULE}/runtime/units.py" in files
    assert "class TapBulkParallel(ParallelStreamsTap):" in tap_py
    assert "parallel_streams = 3" in tap_py
    assert '"parallel_streams"' in tap_py
    assert "name: parallel_streams" in files["meltano.yml"]
    assert "parallel_streams" in files["README.md"]


def test_json_schema_has_the_key() -> None:
    """The spec's JSON Schema describes parallel_streams (1 to 32)."""
    prop = spec_json_schema()["properties"]["parallel_streams"]
    text = json.dumps(prop)
    assert '"minimum"' in text or '"exclusiveMinimum"' in text
    assert "own process" in text


def test_private_files_are_0600_and_never_overwritten(tmp_path: Path) -> None:
    """Catalogs and the input state: created for the owner only, never reused."""
    from tap_builder.runtime.units import write_private as _write_private

    path = tmp_path / "catalog-0.json"
    _write_private(path, b"{}")
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.read_bytes() == b"{}"
    with pytest.raises(FileExistsError):
        _write_private(path, b"[]")


def test_children_split_the_rate_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """A child of a parallel_streams tap spaces its requests by the spec's
    interval times the children running at once, so together they keep the
    spec's rate."""
    from tap_builder.runtime import budget as http

    monkeypatch.setenv(http.BUDGET_SHARE_ENV, "3")
    budget = http.Budget(http._share_from_env())
    slept: list[float] = []
    monkeypatch.setattr(http.time, "sleep", slept.append)
    budget.wait(0.1)
    budget.wait(0.1)
    assert len(slept) == 1
    assert slept[0] == pytest.approx(0.3, abs=0.05)
    assert http.Budget(1)._share == 1  # without the variable: the spec's rate
