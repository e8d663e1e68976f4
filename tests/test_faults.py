"""Faulty APIs: transient failures are retried without losing or duplicating a
record; a permanent failure ends the sync loudly with state that never claims
data it did not emit, and a resumed sync completes the set."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tap_builder.demo import DEMO_SPECS, FAULT_KINDS, DemoServer, FaultPlan, demo_config
from tap_builder.demo.faults import FaultInjector
from tests.e2e import InstalledTap, Run
from tests.test_e2e import FULL_IDS, ID_FIELD

SampleTap = Callable[[str], InstalledTap]

#: Secret settings of the sample specs (their values must never be printed).
SECRET_SETTINGS = {"api_token", "site_api_key", "access_token", "api_key"}

#: Fast retries for tests; a 0.5 s timeout turns the "slow" fault into a timeout.
RETRY_CONFIG = {"backoff_seconds": 0.01, "max_attempts": 5, "request_timeout": 0.5}


def test_fault_plan_is_deterministic() -> None:
    """The same seed and request order inject the same faults."""
    plan = FaultPlan(rate=0.5, seed=3)
    one, two = FaultInjector(plan), FaultInjector(plan)
    first = [one.choose(f"k{i}", "/p") for i in range(50)]
    second = [two.choose(f"k{i}", "/p") for i in range(50)]
    assert first == second and any(first) and not all(first)


def test_a_request_never_fails_more_than_max_in_a_row() -> None:
    """Retrying the same request gets through after max_in_a_row faults."""
    injector = FaultInjector(FaultPlan(rate=1.0, seed=1, max_in_a_row=2))
    assert [injector.choose("same", "/p") is None for _ in range(3)] == [
        False,
        False,
        True,
    ]


def test_fail_after_fails_for_good() -> None:
    """fail_after: some successful answers, then a permanent failure."""
    injector = FaultInjector(FaultPlan(fail_after={"/calls": 2}))
    faults = [injector.choose(f"k{i}", "/v1/calls") for i in range(4)]
    assert faults == [None, None, "permanent", "permanent"]


def test_fault_plan_rejects_unknown_kinds() -> None:
    """A typo in a fault kind is an error, not a silent no-op."""
    with pytest.raises(ValueError, match="unknown kinds"):
        FaultPlan(rate=0.1, kinds=("418",))


def _ids(run: Run, stream: str) -> list[Any]:
    return run.ids(stream, ID_FIELD.get(stream, "id"))


def _bookmarks(run: Run) -> list[Any]:
    values = []
    for message in run.messages:
        if message["type"] == "STATE":
            for bookmark in message["value"].get("bookmarks", {}).values():
                if "replication_key_value" in bookmark:
                    values.append(bookmark["replication_key_value"])
    return values


@pytest.mark.slow
@pytest.mark.parametrize("stem", DEMO_SPECS)
def test_transient_faults_lose_and_duplicate_nothing(
    stem: str, sample_tap: SampleTap, tmp_path: Path
) -> None:
    """25% of requests fail (every kind); the sync emits exactly the clean set."""
    plan = FaultPlan(rate=0.25, seed=sum(map(ord, stem)))
    with DemoServer(faults=plan) as server:
        config = {**demo_config(stem, server.url), **RETRY_CONFIG}
        run = sample_tap(stem).run(config=config, workdir=tmp_path)
        injected = sum(server.faults_injected.values())
        total = len(server.requests)
    assert run.returncode == 0, run.stderr[-3000:]
    assert {s: _ids(run, s) for s in FULL_IDS[stem]} == FULL_IDS[stem]
    assert injected >= 0.10 * total, (injected, total)
    assert "attempt 1 failed" in run.stderr  # the retries were logged
    for name, value in demo_config(stem, "").items():
        if name in SECRET_SETTINGS:
            assert str(value) not in run.stdout + run.stderr
    FAULT_COUNTS[stem] = (injected, total, sum(map(len, FULL_IDS[stem].values())))


#: Filled by the fault test, for the closing report (faults, requests, records).
FAULT_COUNTS: dict[str, tuple[int, int, int]] = {}


@pytest.mark.slow
def test_every_fault_kind_was_exercised(sample_tap: SampleTap, tmp_path: Path) -> None:
    """Each fault kind, on its own, is survived."""
    for kind in FAULT_KINDS:
        plan = FaultPlan(rate=0.5, seed=7, kinds=(kind,))
        with DemoServer(faults=plan) as server:
            config = {**demo_config("aircall", server.url), **RETRY_CONFIG}
            run = sample_tap("aircall").run(config=config, workdir=tmp_path)
            assert server.faults_injected.get(kind, 0) > 0, kind
        assert run.returncode == 0, (kind, run.stderr[-2000:])
        assert _ids(run, "calls") == FULL_IDS["aircall"]["calls"], kind


@pytest.mark.slow
def test_permanent_failure_mid_stream_then_resume(
    sample_tap: SampleTap, tmp_path: Path
) -> None:
    """A sorted stream fails on page 3: a loud error, honest state, and a resume
    that completes the set repeating only the boundary record."""
    tap = sample_tap("aircall")
    with DemoServer(faults=FaultPlan(fail_after={"/calls": 2})) as server:
        config = {
            **demo_config("aircall", server.url),
            **RETRY_CONFIG,
            "max_attempts": 2,
        }
        failed = tap.run(config=config, workdir=tmp_path)
    assert failed.returncode == 1
    last_error = [line for line in failed.stderr.splitlines() if "ERROR" in line][-1]
    for fragment in (
        "stream 'calls'",
        "HTTP 500",
        "/aircall/v1/calls",
        "gave up after 2",
    ):
        assert fragment in last_error
    emitted = failed.records("calls")
    assert _ids(failed, "calls") == list(range(1001, 1011))
    newest = max(record["started_at"] for record in emitted)
    assert _bookmarks(failed) and max(_bookmarks(failed)) <= newest  # never ahead
    state = failed.final_state
    assert state["bookmarks"]["calls"]["replication_key_value"] == newest

    with DemoServer() as server:
        config = {**demo_config("aircall", server.url), **RETRY_CONFIG}
        resumed = tap.run(config=config, state=state, workdir=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert _ids(resumed, "calls") == [1010, 1011, 1012]  # 1010: the boundary
    union = set(_ids(failed, "calls")) | set(_ids(resumed, "calls"))
    assert union == set(FULL_IDS["aircall"]["calls"])


@pytest.mark.slow
def test_unsorted_stream_failure_claims_nothing(
    sample_tap: SampleTap, tmp_path: Path
) -> None:
    """An unsorted stream that fails leaves no bookmark beyond what it emitted."""
    tap = sample_tap("chargebee")
    with DemoServer(faults=FaultPlan(fail_after={"/customers": 1})) as server:
        config = {
            **demo_config("chargebee", server.url),
            **RETRY_CONFIG,
            "max_attempts": 2,
        }
        failed = tap.run(config=config, workdir=tmp_path)
    assert failed.returncode == 1
    assert len(_ids(failed, "customers")) == 4
    assert _bookmarks(failed) == []  # unsorted: nothing is claimed until the end
    states = [m for m in failed.messages if m["type"] == "STATE"]
    assert "replication_key_value" not in json.dumps(states)
