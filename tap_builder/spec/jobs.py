"""Asynchronous report jobs: the ``async_job`` block of a stream, and its checks.

The stream's own request (``path``, ``method``, ``body``, ``query_params``,
``headers``) creates the job; the tap then polls the job's status until it is
done or failed (bounded by ``timeout``), and reads the records from the files
the finished job lists.
"""

from __future__ import annotations

import typing as t

from pydantic import Field

from tap_builder.runtime.variables import TemplateError, variables_in
from tap_builder.spec.fields import Model, NonEmpty, Scalar, jsonpath_problem

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from tap_builder.spec.fields import Found, Loc
    from tap_builder.spec.models import Spec, Stream

#: The longest wait between polls, and the longest a job may take: a week.
MAX_INTERVAL_SECONDS = 3600.0
MAX_TIMEOUT_SECONDS = 7 * 86400.0


class JobPoll(Model):
    """How the job's status is read, how often, and for how long."""

    path: NonEmpty | None = Field(
        None,
        description="Status path joined to the base URL; {job_id} is the job's id.",
    )
    url: NonEmpty | None = Field(
        None, description="JSONPath to the status URL in the creation answer."
    )
    status: NonEmpty = Field(description="JSONPath to the job's status.")
    done: tuple[Scalar, ...] = Field(
        ("done",), min_length=1, description="Statuses that mean finished."
    )
    failed: tuple[Scalar, ...] = Field(
        ("failed",), description="Statuses that mean the job failed."
    )
    error: NonEmpty | None = Field(
        None, description="JSONPath to the job's message when it failed."
    )
    interval: float = Field(
        5.0,
        gt=0,
        le=MAX_INTERVAL_SECONDS,
        description="Seconds before the first poll and between polls.",
    )
    backoff: float = Field(
        1.5, ge=1, le=10, description="Each wait is the last times this."
    )
    max_interval: float = Field(
        60.0, gt=0, le=MAX_INTERVAL_SECONDS, description="The longest wait."
    )
    timeout: float = Field(
        3600.0,
        gt=0,
        le=MAX_TIMEOUT_SECONDS,
        description="Seconds the job may take in all before the sync fails.",
    )


class JobDownload(Model):
    """Where the finished job's files are and what they hold."""

    urls: NonEmpty = Field(
        description="JSONPath to the file URL(s) in the final status answer."
    )
    format: t.Literal["jsonl", "json"] = Field(
        "jsonl",
        description="jsonl: a record per line; json: records_selector picks them.",
    )


class AsyncJob(Model):
    """Create a job (the stream's request), poll it, download its files."""

    job_id: NonEmpty = Field(description="JSONPath to the job's id in the answer.")
    poll: JobPoll
    download: JobDownload


def job_problems(spec: Spec, stream: Stream, loc: Loc) -> Iterator[Found]:
    """The ``async_job`` block: JSONPaths parse, the status path's variables exist."""
    job = stream.async_job
    if job is None:
        return
    where: Loc = (*loc, "async_job")
    yield from _stream_keys(stream, loc)
    poll = job.poll
    if (poll.path is None) == (poll.url is None):
        yield (*where, "poll"), "give exactly one of path (with {job_id}) or url"
    paths = (
        (("job_id",), job.job_id),
        (("poll", "url"), poll.url),
        (("poll", "status"), poll.status),
        (("poll", "error"), poll.error),
        (("download", "urls"), job.download.urls),
    )
    for sub, path in paths:
        if path is not None and (problem := jsonpath_problem(path)):
            yield (*where, *sub), problem
    if overlap := set(poll.done) & set(poll.failed):
        shown = ", ".join(sorted(map(repr, overlap)))
        yield (*where, "poll", "failed"), f"{shown} is in done too"
    if poll.max_interval < poll.interval:
        yield (
            (*where, "poll", "max_interval"),
            (f"shorter than interval ({poll.interval:g} s)"),
        )
    if poll.path is not None:
        yield from _path_variables(spec, stream, poll.path, (*where, "poll", "path"))


def _stream_keys(stream: Stream, loc: Loc) -> Iterator[Found]:
    """Stream keys that do not fit a report job."""
    if stream.pagination is not None:
        yield (
            (*loc, "pagination"),
            ("a report job is created by one request; remove pagination"),
        )
    if stream.graphql is not None:
        yield (*loc, "async_job"), "async_job and graphql do not go together"
    if stream.response_format != "application/json":
        yield (
            (*loc, "response_format"),
            (
                "the job's answers are JSON; give the files' format in "
                "async_job.download.format"
            ),
        )


def _path_variables(spec: Spec, stream: Stream, path: str, loc: Loc) -> Iterator[Found]:
    declared = {p.name for p in spec.parameters} | {"api_url"}
    parent = spec.stream(stream.parent_stream) if stream.parent_stream else None
    keys = {"job_id", *(parent.child_context if parent else ())}
    try:
        found = list(variables_in(path))
    except TemplateError as exc:
        yield loc, str(exc)
        return
    for variable in found:
        if variable.from_config and variable.name not in declared:
            yield (
                loc,
                (
                    f"{variable} refers to an undeclared parameter. Declared: "
                    f"{', '.join(sorted(declared))}"
                ),
            )
        elif not variable.from_config and variable.name not in keys:
            yield (
                loc,
                (
                    f"{variable} is not known here; the status path may use "
                    f"{', '.join('{' + k + '}' for k in sorted(keys))} and settings"
                ),
            )
