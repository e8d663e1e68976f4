"""The lab's report-job API: create a job, poll its status, download its files.

``POST /report-jobs`` with ``{"report": "items" | "summary" | "broken"}``
creates a job (202, ``{"job": {"id", "status_url"}}``). ``GET
/report-jobs/{job_id}`` moves it on by one step per poll: ``queued``, then
``running``, then ``done`` with its files (or ``failed`` with an ``error``, for
``broken``). Tests inject transient failures (the demo server's fault plan)
to check that a tap retries a poll or a download, not the job. Files:
``items`` has two JSON Lines files (the first gzip-compressed, at an absolute
URL; the second plain, at a URL relative to the status URL), ``summary`` one
gzip-compressed JSON document ``{"rows": [...]}``.
"""

from __future__ import annotations

import gzip
import json
import threading
import typing as t

from tap_builder.demo import lab
from tap_builder.demo.routing import ApiError, ApiRequest, ApiResponse, Payload

REPORTS = ("items", "summary", "broken")
#: The status of a job at its first polls (then done, or failed).
_STEPS = ("queued", "running")

_JOBS: dict[str, dict[str, t.Any]] = {}
_LOCK = threading.Lock()


def reset() -> None:
    """Forget every job."""
    with _LOCK:
        _JOBS.clear()


def created_jobs() -> int:
    """How many jobs were created since the last reset."""
    with _LOCK:
        return len(_JOBS)


def lab_create_job(request: ApiRequest) -> ApiResponse:
    """``POST /report-jobs``: a new job for ``report``."""
    body = request.body if isinstance(request.body, dict) else {}
    report = body.get("report")
    if report not in REPORTS:
        raise ApiError(400, f"report must be one of {', '.join(REPORTS)}")
    with _LOCK:
        job_id = f"job-{len(_JOBS) + 1}"
        _JOBS[job_id] = {"report": report, "polls": 0}
    status_url = f"/lab/v1/report-jobs/{job_id}"
    return ApiResponse(202, {"job": {"id": job_id, "status_url": status_url}})


def _job(request: ApiRequest) -> tuple[str, dict[str, t.Any]]:
    job_id = request.params["job_id"]
    with _LOCK:
        job = _JOBS.get(job_id)
    if job is None:
        raise ApiError(404, f"no report job {job_id}")
    return job_id, job


def lab_job_status(request: ApiRequest) -> ApiResponse:
    """``GET /report-jobs/{job_id}``: one step further on each poll."""
    job_id, job = _job(request)
    with _LOCK:
        job["polls"] += 1
        polls = job["polls"]
    step = polls - 1
    if step < len(_STEPS):
        return ApiResponse(200, {"id": job_id, "status": _STEPS[step]})
    if job["report"] == "broken":
        message = "the report ran out of memory"
        return ApiResponse(200, {"id": job_id, "status": "failed", "error": message})
    host = request.header("host") or "127.0.0.1"
    files = (
        [
            {"url": f"http://{host}/lab/v1/report-jobs/{job_id}/files/1"},
            {"url": f"{job_id}/files/2"},
        ]
        if job["report"] == "items"
        else [{"url": f"{job_id}/files/1"}]
    )
    return ApiResponse(200, {"id": job_id, "status": "done", "files": files})


def _lines(records: t.Iterable[dict[str, t.Any]]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode("utf-8")


def lab_job_file(request: ApiRequest) -> ApiResponse:
    """``GET /report-jobs/{job_id}/files/{n}``: a finished job's file."""
    job_id, job = _job(request)
    number = request.params["number"]
    if job["polls"] <= len(_STEPS) or job["report"] == "broken":
        raise ApiError(409, f"report job {job_id} has no files (yet)")
    items = [dict(item) for item in lab.LAB_ITEMS]
    data: Payload | bytes
    if job["report"] == "summary" and number == "1":
        rows = [{"kind": k, "count": 5, "amount": 255.0 if k == "a" else 302.5}
                for k in ("a", "b")]  # fmt: skip
        data = gzip.compress(json.dumps({"rows": rows}).encode("utf-8"), mtime=0)
    elif job["report"] == "items" and number == "1":
        data = gzip.compress(_lines(items[:5]), mtime=0)
    elif job["report"] == "items" and number == "2":
        data = _lines(items[5:])
    else:
        raise ApiError(404, f"report job {job_id} has no file {number}")
    kind = "application/gzip" if data[:2] == b"\x1f\x8b" else "application/x-ndjson"
    return ApiResponse(200, data, (("Content-Type", kind),))
