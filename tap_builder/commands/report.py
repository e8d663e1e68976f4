"""Text and JSON renderings of a preview, for the command line."""

from __future__ import annotations

import typing as t

from tap_builder.commands.demo import format_table
from tap_builder.commands.preview import safe_data, safe_json

if t.TYPE_CHECKING:
    from tap_builder.commands.preview import PreviewResult


def _dumps(value: object) -> str:
    return safe_json(value)


def request_lines(result: PreviewResult) -> list[str]:
    """One block per request: method, URL, status, latency, records, decision."""
    lines: list[str] = []
    for number, entry in enumerate(result.requests, start=1):
        records = "" if entry.records is None else f"  {entry.records} records"
        lines.append(
            f"[{number}] {entry.stream}: {entry.method} {entry.url}  -> "
            f"{entry.status} in {entry.latency_ms:.0f} ms{records}"
        )
        headers = ", ".join(f"{k}: {v}" for k, v in entry.headers.items())
        lines.append(f"    headers: {headers}")
        if entry.body:
            lines.append(f"    body: {entry.body}")
        if entry.decision:
            lines.append(f"    {entry.decision}")
    return lines


def text_report(result: PreviewResult, limit: int | None) -> str:
    """The whole preview as text for a terminal."""
    shown = result.records[:limit] if limit is not None else result.records
    count = len(result.requests)
    lines = [
        f"stream {result.stream!r}: {count} request{'s' if count != 1 else ''}",
        "",
    ]
    lines += request_lines(result)
    lines += ["", f"paging stopped: {result.stop_reason}", ""]
    lines.append(f"records: {len(shown)} shown of {len(result.records)} fetched")
    if shown:
        lines.append(format_table([safe_data(r) for r in shown], max_columns=8))
    lines.append("")
    lines += mismatch_lines(result)
    lines.append(f"bookmark a sync would leave: {bookmark_text(result)}")
    return "\n".join(lines)


def mismatch_lines(result: PreviewResult) -> list[str]:
    """Records that do not fit the schema, one line each (at most 20)."""
    lines: list[str] = []
    if dropped := result.dropped_fields:
        lines.append(
            f"schema: the API sends fields the schema lacks, which the tap drops: "
            f"{', '.join(dropped)} (infer-schema --write adds them)"
        )
    if not result.mismatches:
        return [*lines, "schema: every record fits"]
    lines.append(f"schema: {len(result.mismatches)} problems")
    for mismatch in result.mismatches[:20]:
        lines.append(
            f"  record {mismatch.record} {mismatch.path} = {_dumps(mismatch.value)}: "
            f"{mismatch.message}"
        )
    return lines


def bookmark_text(result: PreviewResult) -> str:
    """The stream's bookmark, or why there is none."""
    if result.replication_key is None:
        return "none (full table stream)"
    if not result.bookmark:
        return "none (no records)"
    return _dumps(result.bookmark)


def json_records(result: PreviewResult, limit: int | None) -> str:
    """Records as JSON Lines."""
    shown = result.records[:limit] if limit is not None else result.records
    return "\n".join(_dumps(record) for record in shown)
