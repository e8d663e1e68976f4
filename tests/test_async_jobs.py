"""Asynchronous report jobs: spec checks, the run-time's bounded gunzip, and
sample_specs/features/lab_jobs.yaml generated, pip-installed and synced against
the demo API's report-job endpoints (create, poll, download)."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest
import yaml

from tap_builder import load_spec, validate_spec
from tap_builder.demo import DemoServer, demo_config
from tap_builder.demo.apis import lab_jobs
from tap_builder.demo.faults import FaultPlan
from tap_builder.runtime.http import APIError
from tap_builder.runtime.jobs import AsyncJobStream
from tap_builder.spec.errors import SpecError
from tests.e2e import SAMPLES, InstalledTap, Run, install_tap

SPEC = SAMPLES / "features" / "lab_jobs.yaml"
ALL_IDS = list(range(1, 11))
SUMMARY = [
    {"kind": "a", "count": 5, "amount": 255.0},
    {"kind": "b", "count": 5, "amount": 302.5},
]


# -- spec checks ------------------------------------------------------------- #


def _stream(**job: Any) -> dict[str, Any]:
    block = {
        "job_id": "$.id",
        "poll": {"path": "/jobs/{job_id}", "status": "$.status"},
        "download": {"urls": "$.files[*]"},
    }
    for key, value in job.items():
        if isinstance(value, dict) and isinstance(block.get(key), dict):
            block[key] = {**block[key], **value}
        else:
            block[key] = value
    return {
        "name": "Report",
        "id": "report",
        "path": "/jobs",
        "method": "POST",
        "async_job": block,
        "schema": {"type": "object", "properties": {"id": {"type": "integer"}}},
    }


def _problems(tmp_path: Path, stream: dict[str, Any]) -> list[str]:
    spec = {
        "name": "J",
        "tap_id": "j",
        "base_url": "https://api.example.com",
        "parameters": [{"name": "account"}],
        "streams": [stream],
    }
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    try:
        validate_spec(load_spec(path))
    except SpecError as error:
        return [f"{issue.path}: {issue.message}" for issue in error.issues]
    return []


def test_a_good_job_stream_validates(tmp_path: Path) -> None:
    stream = _stream(poll={"path": "/accounts/{config.account}/jobs/{job_id}"})
    assert _problems(tmp_path, stream) == []


@pytest.mark.parametrize(
    ("job", "extra", "expected"),
    [
        (
            {"poll": {"url": "$.links.status"}},
            {},
            "streams[0].async_job.poll: give exactly one of path (with {job_id}) "
            "or url",
        ),
        (
            {"job_id": "$.[["},
            {},
            "streams[0].async_job.job_id: '$.[[' is not a valid JSONPath",
        ),
        (
            {"poll": {"path": "/jobs/{id}"}},
            {},
            "streams[0].async_job.poll.path: {id} is not known here; the status "
            "path may use {job_id} and settings",
        ),
        (
            {"poll": {"path": "/jobs/{config.acount}/{job_id}"}},
            {},
            "streams[0].async_job.poll.path: {config.acount} refers to an "
            "undeclared parameter. Declared: account, api_url",
        ),
        (
            {"poll": {"done": ["ok"], "failed": ["ok", "error"]}},
            {},
            "streams[0].async_job.poll.failed: 'ok' is in done too",
        ),
        (
            {"poll": {"interval": 30, "max_interval": 10}},
            {},
            "streams[0].async_job.poll.max_interval: shorter than interval (30 s)",
        ),
        (
            {"poll": {"interval": 0}},
            {},
            "streams[0].async_job.poll.interval: Input should be greater than 0",
        ),
        (
            {"poll": {"timeout": 10**7}},
            {},
            "streams[0].async_job.poll.timeout: Input should be less than or "
            "equal to 604800",
        ),
        (
            {"download": {"format": "xml"}},
            {},
            "streams[0].async_job.download.format: 'xml' is not valid. Use one of: "
            "jsonl, json",
        ),
        (
            {},
            {"pagination": {"type": "link_header"}},
            "streams[0].pagination: a report job is created by one request; "
            "remove pagination",
        ),
        (
            {},
            {"response_format": "application/x-ndjson"},
            "streams[0].response_format: the job's answers are JSON; give the "
            "files' format in async_job.download.format",
        ),
    ],
)
def test_job_problems_name_the_field(
    tmp_path: Path, job: dict[str, Any], extra: dict[str, Any], expected: str
) -> None:
    problems = _problems(tmp_path, {**_stream(**job), **extra})
    assert any(p.startswith(expected) for p in problems), problems


def test_missing_blocks_are_reported_at_once(tmp_path: Path) -> None:
    stream = _stream()
    del stream["async_job"]["download"]
    del stream["async_job"]["poll"]["status"]
    problems = _problems(tmp_path, stream)
    assert sorted(problems) == [
        "streams[0].async_job.download: required",
        "streams[0].async_job.poll.status: required",
    ], problems


# -- the run-time's gunzip ----------------------------------------------------- #


class _Stream:
    name = "report"
    secret_query_params = ()
    _gunzip = AsyncJobStream._gunzip


def test_gunzip_reads_every_member_within_the_limit() -> None:
    data = gzip.compress(b"one\n") + gzip.compress(b"two\n")
    assert _Stream()._gunzip(data, 100, "https://x/f") == b"one\ntwo\n"  # type: ignore[arg-type]


def test_gunzip_stops_past_the_limit_without_inflating_everything() -> None:
    bomb = gzip.compress(b"\0" * 10_000_000)  # 10 MB from about 10 KB
    with pytest.raises(APIError, match=r"larger than .* MB decompressed"):
        _Stream()._gunzip(bomb, 1024, "https://x/f")  # type: ignore[arg-type]


def test_gunzip_refuses_a_broken_file() -> None:
    with pytest.raises(APIError, match="is not valid gzip"):
        _Stream()._gunzip(b"\x1f\x8b\x08garbage", 1024, "https://x/f")  # type: ignore[arg-type]


# -- end to end --------------------------------------------------------------- #


@pytest.fixture(scope="module")
def jobs_tap(tap_venv: Path, tmp_path_factory: pytest.TempPathFactory) -> InstalledTap:
    return install_tap(SPEC, tmp_path_factory.mktemp("jobs") / "tap", tap_venv)


def _sync(
    tap: InstalledTap,
    workdir: Path,
    faults: FaultPlan | None = None,
    **config: Any,
) -> tuple[Run, list[Any], int]:
    lab_jobs.reset()
    with DemoServer(faults=faults) as server:
        lab = demo_config("lab", server.url)
        settings = {"token": lab["token"], "api_url": lab["api_url"], **config}
        run = tap.run(config=settings, workdir=workdir)
        return run, server.requests, lab_jobs.created_jobs()


def _calls(requests: list[Any]) -> list[tuple[str, str, int]]:
    return [
        (r.method, r.path.removeprefix("/lab/v1"), r.status)
        for r in requests
        if "/report-jobs" in r.path
    ]


@pytest.mark.slow
def test_create_poll_download(jobs_tap: InstalledTap, tmp_path: Path) -> None:
    """One POST per stream, polls until done, every file read: a gzip JSON Lines
    file at an absolute URL, a plain one at a relative URL, a gzip JSON document."""
    run, requests, jobs = _sync(jobs_tap, tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.ids("items_report") == ALL_IDS
    assert run.records("summary_report") == SUMMARY
    assert run.assert_records_fit_schemas() == 12
    assert jobs == 2
    assert _calls(requests) == [
        ("POST", "/report-jobs", 202),
        ("GET", "/report-jobs/job-1", 200),
        ("GET", "/report-jobs/job-1", 200),
        ("GET", "/report-jobs/job-1", 200),
        ("GET", "/report-jobs/job-1/files/1", 200),
        ("GET", "/report-jobs/job-1/files/2", 200),
        ("POST", "/report-jobs", 202),
        ("GET", "/report-jobs/job-2", 200),
        ("GET", "/report-jobs/job-2", 200),
        ("GET", "/report-jobs/job-2", 200),
        ("GET", "/report-jobs/job-2/files/1", 200),
    ]
    assert all(r.headers["authorization"] == "Bearer lab-demo-token" for r in requests)
    assert "report job 'job-1' is 'queued'; next poll in 0.1 s" in run.stderr
    assert "lab-demo-token" not in run.stdout + run.stderr


@pytest.mark.slow
def test_a_failed_poll_or_download_is_retried_not_the_job(
    jobs_tap: InstalledTap, tmp_path: Path
) -> None:
    """With 40% of requests failing (5xx, 429, resets), the same records come,
    from the same two jobs: polls and downloads are retried in place."""
    plan = FaultPlan(rate=0.4, seed=7, kinds=("429", "500", "503", "reset"))
    run, requests, jobs = _sync(jobs_tap, tmp_path, plan, backoff_seconds=0.01)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.ids("items_report") == ALL_IDS
    assert run.records("summary_report") == SUMMARY
    assert jobs == 2
    calls = _calls(requests)
    failed = [c for c in calls if c[0] == "GET" and c[2] != 200]
    assert failed, calls  # some polls or downloads failed and were retried
    assert {c[1].split("/")[2] for c in calls if c[0] == "GET"} == {"job-1", "job-2"}


@pytest.mark.slow
def test_a_failed_job_is_one_clear_error(
    jobs_tap: InstalledTap, tmp_path: Path
) -> None:
    run, requests, jobs = _sync(jobs_tap, tmp_path, report="broken")
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if "ERROR" in line]
    assert (
        "stream 'items_report': report job 'job-1' failed ('failed'): the report "
        "ran out of memory"
    ) in errors[-1]
    assert jobs == 1
    assert run.records("items_report") == []
    assert not [c for c in _calls(requests) if "/files/" in c[1]]


@pytest.mark.slow
def test_a_job_that_never_finishes_stops_at_the_timeout(
    tmp_path: Path, tap_venv: Path
) -> None:
    """done never comes (the lab's statuses are queued, running, done): the
    bounded wait ends the sync naming the job, the timeout and the last status."""
    data = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    stream = data["streams"][0]
    stream["async_job"]["poll"].update(done=["finished"], timeout=0.5)
    data["streams"] = [stream]
    spec = tmp_path / "spec" / "lab_jobs.yaml"
    spec.parent.mkdir()
    spec.write_text(yaml.safe_dump(data), encoding="utf-8")
    (spec.parent / "item.schema.json").write_bytes(
        (SAMPLES / "features" / "item.schema.json").read_bytes()
    )
    tap = install_tap(spec, tmp_path / "tap", tap_venv)
    run, _, jobs = _sync(tap, tmp_path)
    assert run.returncode == 1
    errors = [line for line in run.stderr.splitlines() if "ERROR" in line]
    assert (
        "stream 'items_report': report job 'job-1' is not done after 0.5 s "
        "(async_job.poll.timeout); its last status was 'done'"
    ) in errors[-1]
    assert jobs == 1
