"""Concurrent requests in generated taps, end to end against a slow demo API.

The demo server answers every request after 50 ms (plus a per-page skew, so
answers sent together come back out of order) and counts the requests in
flight. Taps generated from ``sample_specs/features/bulk*.yaml`` run as
processes; a sync with ``max_concurrency`` 4 must emit exactly the messages of a
sync with the setting at 1 (one request at a time), keep STATE behind the
records, share one request budget across workers, and stop cleanly on a fatal
error.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tap_builder.demo import DemoServer
from tap_builder.demo.apis import bulk
from tests.e2e import SAMPLES, InstalledTap, Run, install_taps

pytestmark = pytest.mark.slow

LATENCY = 0.05
FEATURES = SAMPLES / "features"


@pytest.fixture(scope="module")
def slow_server() -> Iterator[DemoServer]:
    """The demo API, answering every request after LATENCY seconds."""
    with DemoServer(latency=LATENCY) as server:
        yield server


@pytest.fixture(scope="module")
def taps(
    tap_venv: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, InstalledTap]:
    """tap-bulk and tap-bulk-limits, installed once."""
    out = tmp_path_factory.mktemp("concurrency")
    specs = {stem: FEATURES / f"{stem}.yaml" for stem in ("bulk", "bulk_limits")}
    return install_taps(specs, out, tap_venv)


def _config(server: DemoServer, **extra: Any) -> dict[str, Any]:
    return {"api_url": f"{server.url}/bulk/v1", **extra}


def _select(
    tap: InstalledTap, server: DemoServer, streams: set[str], workdir: Path
) -> dict[str, Any]:
    discover = tap.run("--discover", config=_config(server), workdir=workdir)
    assert discover.returncode == 0, discover.stderr
    catalog: dict[str, Any] = json.loads(discover.stdout)
    for entry in catalog["streams"]:
        for metadata in entry["metadata"]:
            if metadata["breadcrumb"] == []:
                metadata["metadata"]["selected"] = entry["tap_stream_id"] in streams
    return catalog


def _comparable(run: Run) -> list[dict[str, Any]]:
    """Messages without what depends on the clock (extraction time, signposts)."""
    found = []
    for message in run.messages:
        message = dict(message)
        message.pop("time_extracted", None)
        if message["type"] == "STATE":
            for stream_state in message["value"].get("bookmarks", {}).values():
                stream_state.pop("replication_key_signpost", None)
        found.append(message)
    return found


@pytest.fixture(scope="module")
def bulk_runs(
    taps: dict[str, InstalledTap],
    slow_server: DemoServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[int, tuple[Run, list[Any], int]]:
    """tap-bulk at max_concurrency 4 and 1: run, requests, most in flight."""
    workdir = tmp_path_factory.mktemp("bulk-runs")
    found: dict[int, tuple[Run, list[Any], int]] = {}
    for setting in (4, 1):
        slow_server.clear_requests()
        run = taps["bulk"].run(
            config=_config(slow_server, max_concurrency=setting), workdir=workdir
        )
        assert run.returncode == 0, run.stderr[-3000:]
        found[setting] = (run, slow_server.requests, slow_server.max_in_flight)
    return found


def test_concurrent_sync_emits_what_a_sequential_one_does(
    bulk_runs: dict[int, tuple[Run, list[Any], int]],
) -> None:
    """Same RECORD and STATE messages in the same order, with 4 requests in flight."""
    concurrent, _, most = bulk_runs[4]
    sequential, _, most_sequential = bulk_runs[1]
    assert most_sequential == 1
    assert most == 4
    assert _comparable(concurrent) == _comparable(sequential)
    every = list(range(1, bulk.ITEM_COUNT + 1))
    assert concurrent.ids("items") == every
    assert concurrent.ids("offset_items") == every
    order = [
        (m["stream"], m["record"]["id"])
        for m in concurrent.messages
        if m["type"] == "RECORD" and m["stream"] in {"parents", "children"}
    ]
    expected = []  # the SDK syncs a record's children, then writes the record
    for parent in range(1, bulk.PARENT_COUNT + 1):
        expected += [("children", parent * 100 + 1), ("children", parent * 100 + 2)]
        expected += [("parents", parent)]
    assert order == expected
    records = [m for m in concurrent.messages if m["type"] == "RECORD"]
    assert concurrent.assert_records_fit_schemas() == len(records)


def test_state_never_claims_a_record_not_yet_emitted(
    bulk_runs: dict[int, tuple[Run, list[Any], int]],
) -> None:
    """Every STATE bookmark of the sorted stream is the last item emitted before it."""
    run, _, _ = bulk_runs[4]
    emitted: list[str] = []
    bookmarks = []
    for message in run.messages:
        if message["type"] == "RECORD" and message["stream"] == "items":
            emitted.append(message["record"]["updated_at"])
        elif message["type"] == "STATE":
            items = message["value"]["bookmarks"].get("items", {})
            if "replication_key_value" in items:
                assert emitted, "a bookmark before any record"
                assert items["replication_key_value"] == emitted[-1]
                bookmarks.append(items["replication_key_value"])
    assert len(bookmarks) >= bulk.ITEM_COUNT // 10  # state_every: 10


def test_pages_requested_ahead_stay_within_the_window(
    bulk_runs: dict[int, tuple[Run, list[Any], int]],
) -> None:
    """total_pages: no request past the end; offsets: fewer than 4 extra, reported."""
    run, requests, _ = bulk_runs[4]
    pages = [int(r.query["page"][0]) for r in requests if r.path.endswith("/items")]
    assert sorted(pages) == list(range(1, 11))  # 95 records, 10 a page
    offsets = [
        int(r.query["offset"][0]) for r in requests if r.path.endswith("/offset_items")
    ]
    needed = list(range(0, 100, 10))
    assert sorted(offsets)[: len(needed)] == needed
    extra = len(offsets) - len(needed)
    assert 0 <= extra <= 3
    if extra:
        assert (
            f"stream 'offset_items': {extra} request(s) sent ahead were not needed"
            in run.stderr
        )


def test_children_of_different_parents_are_fetched_together(
    taps: dict[str, InstalledTap], slow_server: DemoServer, tmp_path: Path
) -> None:
    """Children requests overlap: several arrive within one answer's latency."""
    catalog = _select(taps["bulk"], slow_server, {"parents", "children"}, tmp_path)
    slow_server.clear_requests()
    run = taps["bulk"].run(
        config=_config(slow_server), catalog=catalog, workdir=tmp_path
    )
    assert run.returncode == 0, run.stderr[-3000:]
    children = [r for r in slow_server.requests if r.path.endswith("/children")]
    assert len(children) == bulk.PARENT_COUNT
    assert slow_server.max_in_flight == 4
    overlapping = sum(
        1 for a, b in itertools.pairwise(children) if b.at - a.at < LATENCY / 2
    )
    assert overlapping >= bulk.PARENT_COUNT // 2
    assert len(run.records("children")) == bulk.PARENT_COUNT * 2


def test_rate_limit_and_retry_after_hold_back_every_worker(
    taps: dict[str, InstalledTap], slow_server: DemoServer, tmp_path: Path
) -> None:
    """20 requests a second across 4 workers; a 429 (Retry-After: 1) pauses all.

    Arrival times are taken at the server: consecutive requests are about 50 ms
    apart (scheduling may shift one arrival by a few ms, not the span), and none
    arrives within the second after the 429 except, at most, the ones already
    sent when it came back.
    """
    bulk.reset()
    tap = taps["bulk_limits"]
    catalog = _select(tap, slow_server, {"throttled"}, tmp_path)
    slow_server.clear_requests()
    run = tap.run(config=_config(slow_server), catalog=catalog, workdir=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.ids("throttled") == list(range(1, bulk.ITEM_COUNT + 1))
    requests = [r for r in slow_server.requests if r.path.endswith("/items")]
    span = requests[-1].at - requests[0].at
    gaps = [b.at - a.at for a, b in itertools.pairwise(requests)]
    assert min(gaps) >= 0.035
    throttled = next(r for r in requests if r.status == 429)
    answered = throttled.at + LATENCY  # when the 429 reached the tap (about)
    held = [r for r in requests if answered + 0.1 < r.at < throttled.at + 1.0]
    assert held == []
    assert span >= 1.0 + 0.05 * (len(requests) - 4)
    assert "attempt 1 failed (429); retrying in 1.00 s" in run.stderr


def test_fatal_error_cancels_the_pool_cleanly(
    taps: dict[str, InstalledTap], slow_server: DemoServer, tmp_path: Path
) -> None:
    """401 at page 4 while later pages wait 10+ s to retry a 503: exit 1 at once.

    Pages 1-3 are emitted (as a sequential sync would), STATE claims nothing
    after them, the error is one line, no request is sent after the exit, and
    the waits of the workers retrying pages 5-7 are cut short (the sync ends long
    before the first of them would have been retried).
    """
    tap = taps["bulk_limits"]
    catalog = _select(tap, slow_server, {"broken"}, tmp_path)
    slow_server.clear_requests()
    started = time.monotonic()
    run = tap.run(
        config=_config(slow_server, backoff_seconds=20, max_attempts=3),
        catalog=catalog,
        workdir=tmp_path,
    )
    elapsed = time.monotonic() - started
    assert run.returncode == 1
    assert elapsed < 10  # a retry of pages 5-7 would wait at least 10 s
    last = run.stderr.strip().splitlines()[-1]
    assert "stream 'broken': HTTP 401" in last
    assert "Traceback" not in run.stderr
    assert run.ids("broken") == list(range(1, 31))
    states = [m["value"] for m in run.messages if m["type"] == "STATE"]
    assert states, "sorted streams save state as they go"
    for state in states:
        value = state["bookmarks"]["broken"]["replication_key_value"]
        assert value <= bulk.ITEMS[29]["updated_at"]
    seen = len(slow_server.requests)
    time.sleep(0.3)
    assert len(slow_server.requests) == seen
    retried = [r for r in slow_server.requests if r.query.get("page") == ["5"]]
    assert len(retried) <= 1


def test_max_concurrency_setting_of_one_is_sequential(
    bulk_runs: dict[int, tuple[Run, list[Any], int]],
) -> None:
    """The setting max_concurrency: 1 sends one request at a time, none ahead."""
    _, requests, most = bulk_runs[1]
    assert most == 1
    pages = [int(r.query["page"][0]) for r in requests if r.path.endswith("/items")]
    assert pages == list(range(1, 11))
    offsets = [
        int(r.query["offset"][0]) for r in requests if r.path.endswith("/offset_items")
    ]
    assert offsets == list(range(0, 100, 10))


def test_pool_threads_are_joined_after_a_fatal_error(
    slow_server: DemoServer, tmp_path: Path
) -> None:
    """In-process: after the failure no worker thread of the pool is alive."""
    script = tmp_path / "inprocess.py"
    script.write_text(_INPROCESS)
    tap = tmp_path / "tap"
    from tap_builder import generate

    generate(FEATURES / "bulk_limits.yaml", tap)
    done = subprocess.run(
        [str(_venv_python()), str(script), str(tap), _config(slow_server)["api_url"]],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "failed: APIError; pool threads: 0"


def _venv_python() -> Path:
    from tests.e2e import shared_venv

    return shared_venv() / "bin" / "python"


_INPROCESS = """
import sys, threading
sys.path.insert(0, sys.argv[1])
from tap_bulk_limits.tap import TapBulkLimits
from tap_bulk_limits.runtime.http import APIError
tap = TapBulkLimits(config={"api_url": sys.argv[2], "backoff_seconds": 20})
stream = tap.streams["broken"]
try:
    for _ in stream.request_records(None):
        pass
except APIError as exc:
    alive = [t for t in threading.enumerate() if t.name.startswith("tap-request")]
    print(f"failed: {type(exc).__name__}; pool threads: {len(alive)}")
"""
