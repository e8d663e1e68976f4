"""Accuracy of ``tap-builder import openapi`` against the shared truth files.

For each truth endpoint (``../shared/openapi/*.truth.json``): is there a stream
for its path, is the records selector the truth's records path, is the
pagination type one of the accepted readings, and are its parameters right (the
page, offset or token parameter is one the truth lists, the next-token or next-URL
field is the truth's, and the page-size parameter is sent when the truth names
one)? An endpoint counts as right when all of these hold.

    python tests/openapi_accuracy.py      # prints the Markdown table
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tap_builder.openapi import import_openapi  # noqa: E402

SHARED = REPO.parent / "shared" / "openapi"
DOCUMENTS = ("netlify.yml", "twilio_api_v2010.json", "box.json", "figma.yaml")


@dataclass
class Row:
    document: str
    stream: str
    path: str
    mapped: bool
    records: bool
    pagination: bool
    params: bool
    detail: str

    @property
    def right(self) -> bool:
        return self.mapped and self.records and self.pagination and self.params


def kind_of(stream: Any) -> str:
    """Our pagination in the truth files' vocabulary."""
    paging = stream.pagination or {}
    kind = paging.get("type", "none")
    if kind == "page_increment":
        return "page"
    if kind == "offset":
        return "token" if paging.get("next_offset_selector") else "offset"
    if kind == "cursor":
        return "cursor" if "[-1]" in str(paging.get("next_cursor")) else "token"
    return str(kind)


def _params_ok(stream: Any, truth: dict[str, Any]) -> tuple[bool, str]:
    paging = stream.pagination or {}
    kind = kind_of(stream)
    request = set(truth.get("request_params") or [])
    sent = {**stream.query_params, **stream.headers}
    problems = []
    size = truth.get("page_size_param")
    if kind in ("page", "offset", "token", "cursor"):
        param = (
            paging.get("page_param")
            or paging.get("offset_param")
            or paging.get("param")
        )
        if param not in request:
            problems.append(f"param {param} not in {sorted(request)}")
    if kind in ("token",):
        field = str(
            paging.get("next_cursor") or paging.get("next_offset_selector") or ""
        )
        if truth.get("token_field") and field != f"$.{truth['token_field']}":
            problems.append(f"token {field} != $.{truth['token_field']}")
    next_field = f"$.{truth.get('next_field')}"
    if (
        kind == "next_url"
        and truth.get("next_field")
        and paging["next_url"] != next_field
    ):
        problems.append(f"next {paging.get('next_url')} != {next_field}")
    sent_size = size in sent or paging.get("limit_param") == size
    if size and kind != "none" and not sent_size:
        problems.append(f"page size {size} not sent")
    return not problems, "; ".join(problems)


def evaluate(document: str) -> list[Row]:
    truth = json.loads(_truth_path(document).read_text())
    plan = import_openapi(str(SHARED / document))
    by_path = {s.op.path: s for s in plan.streams if s.method == "GET"}
    rows = []
    for endpoint in truth["endpoints"]:
        stream = by_path.get(endpoint["path"])
        if stream is None:
            reason = next(
                (
                    s.reason
                    for s in plan.skipped
                    if s.label.split(" ")[1] == endpoint["path"]
                ),
                "not found",
            )
            rows.append(
                Row(
                    document,
                    endpoint["stream"],
                    endpoint["path"],
                    False,
                    False,
                    False,
                    False,
                    f"not mapped: {reason}",
                )
            )
            continue
        pg = endpoint["pagination"]
        accepted = set(pg.get("accept") or [pg["type"]])
        records = stream.selector == endpoint["records_path"]
        kind = kind_of(stream)
        paging = kind in accepted
        params, detail = (
            _params_ok(stream, pg)
            if paging
            else (False, f"pagination {kind} not in {sorted(accepted)}")
        )
        if not records:
            detail = (
                f"selector {stream.selector} != {endpoint['records_path']}; {detail}"
            )
        rows.append(
            Row(
                document,
                endpoint["stream"],
                endpoint["path"],
                True,
                records,
                paging,
                params,
                detail,
            )
        )
    return rows


def _truth_path(document: str) -> Path:
    stem = document.rsplit(".", 1)[0]
    return SHARED / f"{stem}.truth.json"


def table(rows: list[Row]) -> str:
    """The Markdown accuracy table: per document and overall."""
    header = (
        "| document | truth endpoints | mapped | records path | pagination type "
        "| type and parameters | right |"
    )
    lines = [
        header,
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    groups = [(d, [r for r in rows if r.document == d]) for d in DOCUMENTS]
    groups.append(("**overall**", rows))
    for name, group in groups:
        n = len(group)
        right = sum(r.right for r in group)
        shown = name if name.startswith("*") else f"`{name}`"
        counts = [
            n,
            sum(r.mapped for r in group),
            sum(r.records for r in group),
            sum(r.pagination for r in group),
            sum(r.pagination and r.params for r in group),
        ]
        cells = " | ".join(str(c) for c in counts)
        lines.append(f"| {shown} | {cells} | {right} ({100 * right / n:.0f}%) |")
    return "\n".join(lines)


def all_rows() -> list[Row]:
    return [row for document in DOCUMENTS for row in evaluate(document)]


if __name__ == "__main__":
    found = all_rows()
    print(table(found))
    if "-v" in sys.argv:
        for row in found:
            if not row.right:
                print(f"{row.document} {row.stream} {row.path}: {row.detail}")
