"""``--verify``: check each stream's guesses against the live API, fix what it shows.

Each stream runs in-process through ``preview`` (the generated tap's own code,
:func:`tap_builder.commands.preview.run_stream`), two pages at most and one parent
record for a child. What is checked, and corrected when the responses show it:

- the records selector finds records; if not, the list of objects the response
  does hold becomes the selector (and, when the documented schema names none of
  the records' fields, the schema is inferred from them);
- a ``Link: <...>; rel="next"`` header on a stream the document gives no working
  paging: the pagination becomes ``link_header``;
- the next page differs from the first (else the stream is reported, not fixed);
- the primary key is present and unique on the page (else ``id`` if it is, or no key);
- the incremental filter parameter is accepted: one more run from a bookmark at
  the newest record; a refusal drops the filter (the stream syncs fully).
"""

from __future__ import annotations

import copy
import typing as t

from tap_builder.commands.inprocess import ConfigError
from tap_builder.commands.preview import PreviewError, run_stream
from tap_builder.spec.errors import SpecError
from tap_builder.spec.loader import LoadedSpec
from tap_builder.spec.validation import validate_spec

if t.TYPE_CHECKING:
    import requests

    from tap_builder.commands.preview import PreviewResult
    from tap_builder.openapi.model import ImportPlan, StreamPlan

JSON = t.Any
_RECORD_KEYS = ("data", "items", "entries", "results", "records", "list", "values")


class Check(t.NamedTuple):
    """The outcome of one run: the result, or the one-line failure."""

    result: PreviewResult | None
    failure: str | None


def verify_plan(plan: ImportPlan, config: dict[str, JSON], *, pages: int = 2) -> None:
    """Verify every stream of ``plan`` (parents first), correcting it in place."""
    for stream in _parents_first(plan):
        _verify_stream(plan, stream, config, pages)


def _parents_first(plan: ImportPlan) -> list[StreamPlan]:
    done: list[StreamPlan] = []
    pending = list(plan.streams)
    while pending:
        ready = [
            s for s in pending if s.parent is None or s.parent in {d.id for d in done}
        ]
        ready = ready or pending[:1]
        done.extend(ready)
        pending = [s for s in pending if s not in ready]
    return done


#: Page size while verifying, so that two pages show the paging at work.
VERIFY_PAGE_SIZE = 2


def _small_pages(data: dict[str, JSON], stream: StreamPlan) -> dict[str, JSON]:
    """The spec with ``stream`` asking for pages of :data:`VERIFY_PAGE_SIZE`."""
    entry = next(s for s in data["streams"] if s["id"] == stream.id)
    paging = entry.get("pagination") or {}
    if isinstance(paging.get("limit"), int):
        paging["limit"] = min(paging["limit"], VERIFY_PAGE_SIZE)
    name = stream.page_size_param
    for key in ("query_params", "headers"):
        values = entry.get(key) or {}
        if name in values and isinstance(values[name], int):
            values[name] = min(values[name], VERIFY_PAGE_SIZE)
    return data


def _run(
    plan: ImportPlan,
    stream: StreamPlan,
    config: dict[str, JSON],
    pages: int,
    state: dict[str, JSON] | None = None,
) -> Check:
    try:
        data = _small_pages(copy.deepcopy(plan.to_spec()), stream)
        connector = validate_spec(LoadedSpec(data=data))
        result = run_stream(
            connector,
            stream.id,
            dict(config),
            limit=None,
            pages=pages,
            parents=1,
            state=state,
        )
    except (PreviewError, ConfigError) as exc:
        return Check(None, str(exc))
    except SpecError as exc:
        return Check(None, "; ".join(exc.lines()[:3]))
    return Check(result, None)


def _verify_stream(
    plan: ImportPlan, stream: StreamPlan, config: dict[str, JSON], pages: int
) -> None:
    check = _run(plan, stream, config, pages)
    if check.result is None:
        stream.verified = f"failed: {check.failure}"
        return
    result = check.result
    if not result.records and _fix_selector(stream, result):
        check = _run(plan, stream, config, pages)
        if check.result is None:
            stream.verified = f"failed after correcting: {check.failure}"
            return
        result = check.result
    if _fix_link_header(stream, result):
        check = _run(plan, stream, config, pages)
        result = check.result or result
    notes = [f"{len(result.records)} records, {_pages(result, stream.id)} pages"]
    if not result.records:
        stream.verified = "no records: " + result.stop_reason
        return
    notes.append(_check_key(stream, result))
    paging_note = _check_pages(stream, result)
    if paging_note.startswith("failed"):
        stream.verified = paging_note
        return
    notes.append(paging_note)
    if stream.incremental:
        notes.append(_check_filter(plan, stream, config, result))
    stream.verified = ("corrected: " if stream.corrections else "yes: ") + ", ".join(
        n for n in notes if n
    )


def _pages(result: PreviewResult, stream_id: str) -> int:
    return sum(1 for e in result.requests if e.stream == stream_id and e.status < 400)


def _body(response: requests.Response) -> JSON:
    try:
        return response.json()
    except ValueError:
        return None


def _fix_selector(stream: StreamPlan, result: PreviewResult) -> bool:
    if not result.responses:
        return False
    body = _body(result.responses[0])
    found = _record_lists(body)
    if not found:
        return False
    path, records = found
    selector = f"$.{path}[*]" if path else "$[*]"
    if selector == stream.selector:
        return False
    old = stream.selector
    stream.selector = selector
    stream.corrections.append(
        f"records_selector {old} -> {selector} (the response holds the records there)"
    )
    declared = set(stream.schema.get("properties") or {})
    seen = {key for record in records for key in record}
    if not declared & seen:
        from tap_builder.commands.infer import infer_schema

        stream.schema = infer_schema(records)
        stream.corrections.append(
            "schema inferred from the live records "
            "(the documented one names none of their fields)"
        )
        if stream.primary_key and not set(stream.primary_key) <= seen:
            stream.primary_key = ["id"] if "id" in seen else []
    return True


def _record_lists(body: JSON) -> tuple[str, list[dict[str, JSON]]] | None:
    """The one list of objects in a response body (or the one named like records)."""
    if isinstance(body, list):
        return ("", body) if body and all(isinstance(r, dict) for r in body) else None
    if not isinstance(body, dict):
        return None
    lists = {
        key: value
        for key, value in body.items()
        if isinstance(value, list) and value and all(isinstance(r, dict) for r in value)
    }
    if len(lists) == 1:
        return next(iter(lists.items()))
    for key in _RECORD_KEYS:
        if key in lists:
            return key, lists[key]
    return None


def _has_next_link(response: requests.Response) -> bool:
    return "next" in response.links


def _fix_link_header(stream: StreamPlan, result: PreviewResult) -> bool:
    if not result.responses or not _has_next_link(result.responses[0]):
        return False
    paging = stream.pagination or {}
    if paging.get("type") == "link_header":
        return False
    read = _pages(result, stream.id)
    if paging and read > 1:
        return False  # the documented paging works; the header is a second way
    old = paging.get("type", "none")
    stream.pagination = {"type": "link_header"}
    stream.kind = "link_header"
    stream.corrections.append(
        f'pagination {old} -> link_header (the response sends Link: rel="next", '
        "which the document does not mention)"
    )
    return True


def _check_key(stream: StreamPlan, result: PreviewResult) -> str:
    if not stream.primary_key:
        return "no key"
    values = [tuple(r.get(k) for k in stream.primary_key) for r in result.raw_records]
    if all(None not in v for v in values) and len(set(values)) == len(values):
        return "key unique"
    old = ", ".join(stream.primary_key)
    ids = [r.get("id") for r in result.raw_records]
    if None not in ids and len(set(map(str, ids))) == len(ids):
        stream.primary_key = ["id"]
        stream.corrections.append(
            f"primary_key {old} -> id ({old} is missing or repeats in the records)"
        )
        return "key id"
    stream.primary_key = []
    stream.corrections.append(
        f"primary_key {old} removed (missing or repeated in the records)"
    )
    return "no unique key"


def _check_pages(stream: StreamPlan, result: PreviewResult) -> str:
    own = [e for e in result.requests if e.stream == stream.id and e.status < 400]
    if len(own) < 2:
        return "one page" if stream.pagination else "single request"
    first = own[0].records or 0
    page_one = result.raw_records[:first]
    page_two = result.raw_records[first : first + (own[1].records or 0)]
    if page_two and page_one == page_two:
        return (
            "failed: the second page repeats the first "
            "(the next-page parameter is not honoured)"
        )
    return "next page differs"


def _check_filter(
    plan: ImportPlan, stream: StreamPlan, config: dict[str, JSON], result: PreviewResult
) -> str:
    inc = stream.incremental or {}
    key = str(inc.get("replication_key"))
    values = [r.get(key) for r in result.records if r.get(key) is not None]
    if not values:
        return "filter not tried (no replication-key values)"
    newest = max(values, key=str)
    state = {
        "bookmarks": {
            stream.id: {"replication_key": key, "replication_key_value": newest}
        }
    }
    if stream.parent is not None:
        return "filter not tried (child stream)"
    check = _run(plan, stream, config, 1, state)
    if check.result is None:
        stream.incremental = None
        stream.corrections.append(
            f"incremental removed: the API refused {inc.get('param_name')} "
            f"({check.failure})"
        )
        return "filter refused"
    return "filter accepted"
