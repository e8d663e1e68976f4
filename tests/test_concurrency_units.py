"""Concurrency without processes: the spec keys, what is generated, the budget."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import yaml

from tap_builder import SpecError, load_spec, validate_spec
from tap_builder.render import render_package
from tap_builder.runtime.budget import Budget, Cancelled

BASE = {
    "name": "X",
    "tap_id": "x",
    "base_url": "https://api.example.com",
    "streams": [
        {
            "name": "Items",
            "id": "items",
            "path": "/items",
            "pagination": {"type": "page_increment", "attribute": "page"},
            "schema": {"type": "object", "properties": {"id": {"type": "integer"}}},
        }
    ],
}


def _problems(tmp_path: Path, **top: object) -> list[str]:
    spec = {**BASE, **top}
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    with pytest.raises(SpecError) as caught:
        validate_spec(load_spec(path))
    return [f"{issue.path}: {issue.message}" for issue in caught.value.issues]


def test_concurrency_out_of_range_names_the_field(tmp_path: Path) -> None:
    """0, 65 and a stream above max_concurrency: one line each, all at once."""
    streams = [{**BASE["streams"][0], "concurrency": 8}]  # type: ignore[index]
    problems = _problems(tmp_path, max_concurrency=4, streams=streams)
    assert problems == [
        "streams[0].concurrency: 8 is more than max_concurrency (4), the requests "
        "in flight for the whole tap: lower it or raise max_concurrency"
    ]
    problems = _problems(tmp_path, max_concurrency=65)
    assert len(problems) == 1
    assert problems[0].startswith("max_concurrency: ")
    assert "at most 64" in problems[0]
    problems = _problems(tmp_path, max_concurrency=0)
    assert len(problems) == 1 and problems[0].startswith("max_concurrency: ")


def _files(tmp_path: Path, **top: object) -> dict[str, str]:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump({**BASE, **top}))
    files = render_package(validate_spec(load_spec(path)), "0.0.0")
    return {str(p): v for p, v in files.items() if isinstance(v, str)}


def test_concurrency_code_only_when_the_spec_asks(tmp_path: Path) -> None:
    """Without max_concurrency (or with 1) no concurrency module, mixin or setting."""
    for top in ({}, {"max_concurrency": 1}):
        files = _files(tmp_path, **top)
        assert "tap_x/runtime/concurrency.py" not in files
        assert "Concurrent" not in files["tap_x/streams.py"]
        assert "max_concurrency" not in files["tap_x/tap.py"]
    files = _files(tmp_path, max_concurrency=4)
    assert "tap_x/runtime/concurrency.py" in files
    assert "class ItemsStream(ConcurrentStream, XStream)" in files["tap_x/streams.py"]
    assert "concurrency: t.ClassVar[int] = 4" in files["tap_x/streams.py"]
    assert '"max_concurrency"' in files["tap_x/tap.py"]
    assert "name: max_concurrency" in files["meltano.yml"]


def test_budget_spaces_requests_of_several_threads() -> None:
    """Four threads, 20 ms apart: eight requests take at least 140 ms in all."""
    budget = Budget()
    times: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(2):
            budget.wait(0.02)
            with lock:
                times.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    times.sort()
    assert times[-1] - times[0] >= 0.14 - 0.005


def test_budget_pause_holds_back_everyone_and_cancel_cuts_waits() -> None:
    """A pause delays the next request; a cancelled wait raises at once."""
    budget = Budget()
    budget.pause(0.2)
    start = time.monotonic()
    budget.wait(0)
    assert time.monotonic() - start >= 0.19
    budget.pause(30)
    cancel = threading.Event()
    threading.Timer(0.05, cancel.set).start()
    start = time.monotonic()
    with pytest.raises(Cancelled):
        budget.wait(0, cancel=cancel)
    assert time.monotonic() - start < 5
