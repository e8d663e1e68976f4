"""Pagination detection: request parameters linked to response fields and headers.

Checked in this order, the first that fits wins:

1. a next-page URL in the body (``next_page_uri``, ``links.next``, a string
   field named next... described as a URL);
2. a token: a request parameter whose value the response hands back
   (``marker``/``next_marker``, ``cursor``/``next_cursor``,
   ``pageToken``/``nextPageToken``, ``after``/``meta.cursor.after``,
   ``offset``/``next_offset``);
3. offset and limit (``offset``/``skip``/``start`` with ``limit``/``count``...);
4. page numbers (``page``, ``page_number``...), with a page size parameter;
5. a ``Link`` response header (documented, or described in the operation);
6. "after this id" (``starting_after``, ``after_id``): the last record's key;
7. a cursor field in the body whose request parameter the document omits.

Stop conditions come from the body: a boolean ``has_more``-like field, a total
count or a page count. The page size is the parameter's maximum, else its default.
Names are compared loosely (case, ``_``, ``-`` and a header's ``X-`` ignored), and
only as whole names: a ``startYear`` parameter is not a page number.
"""

from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass, field

from tap_builder.openapi.model import Why, normal

if t.TYPE_CHECKING:
    from tap_builder.openapi.document import Operation, Param
    from tap_builder.openapi.model import StreamPlan
    from tap_builder.openapi.schemas import Schema, Schemas

JSON = t.Any

_SIZE = {
    "limit",
    "perpage",
    "pagesize",
    "size",
    "count",
    "maxresults",
    "top",
    "pagelimit",
    "chunksize",
    "maxitems",
}
_PAGE = {"page", "pagenumber", "pageno", "pagenum", "pageindex", "p"}
_OFFSET = {"offset", "skip", "start", "startindex", "startat"}
_CURSORISH = {
    "cursor",
    "after",
    "marker",
    "pagetoken",
    "token",
    "continuation",
    "continuationtoken",
    "nextpagetoken",
    "pagecursor",
    "startcursor",
    "position",
    "streamposition",
}
_AFTER_ID = {"startingafter", "afterid", "sinceid", "lastid", "startafter"}
_HAS_MORE = {"hasmore", "more", "hasnext", "hasnextpage", "nextpage", "moreresults"}
_TOTAL = {
    "total",
    "totalcount",
    "totalresults",
    "totalitems",
    "totalrecords",
    "totalentries",
    "totalsize",
}
_PAGES = {"totalpages", "pages", "pagecount", "numpages", "lastpage"}
_BACKWARDS = {"before", "prev", "previous", "endingbefore", "prevpagetoken"}
_CURSOR_FIELDS = {
    "cursor",
    "nextcursor",
    "nexttoken",
    "continuationtoken",
    "nextpagetoken",
}
#: Largest page size written (bigger maxima are capped).
MAX_PAGE_SIZE = 1000
#: The page size sent when the document gives no maximum or default.
GUESSED_PAGE_SIZE = 100


@dataclass
class Paging:
    """What detection found for one operation."""

    kind: str = "none"
    pagination: dict[str, JSON] | None = None
    why: Why = field(
        default_factory=lambda: Why(
            "no paging parameter or field is documented: one request", "likely"
        )
    )
    #: Page-size parameter and value to send with every request.
    size: tuple[Param, int] | None = None
    used: set[str] = field(default_factory=set)


def key_of(param: Param) -> str:
    """A parameter's name for matching (``X-Page-Size`` -> ``pagesize``)."""
    key = normal(param.name)
    if param.location == "header" and key.startswith("x") and len(key) > 1:
        return key[1:]
    return key


def detect(schemas: Schemas, op: Operation, plan: StreamPlan) -> Paging:
    """Detect the operation's pagination (see the module docstring)."""
    params = [p for p in op.params if p.location in ("query", "header")]
    fields = schemas.scalar_fields(op.response) if op.response is not None else {}
    size = _page_size(params)
    paging = (
        _next_url(fields)
        or _token([p for p in params if key_of(p) in _OFFSET], fields)
        or _offset(params, size)
        or _token(params, fields)
        or _page(params, size)
        or _link_header(op)
        or _after_id(params, plan)
        or _undocumented_cursor(fields)
        or Paging()
    )
    if (size and paging.kind not in ("offset",) and paging.pagination is not None) or (
        size and paging.pagination is None
    ):
        paging.size = size
        paging.used.add(size[0].name)
    if paging.pagination is not None:
        _stop_conditions(paging, fields)
    return paging


def _page_size(params: list[Param]) -> tuple[Param, int] | None:
    for param in params:
        if key_of(param) in _SIZE and scalar_type_of(param) in ("integer", "number"):
            return param, _size_value(param)
    return None


def scalar_type_of(param: Param) -> str:
    """The parameter's type (``integer`` for Swagger's ``int32`` numbers too)."""
    kind = param.schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    return str(kind or "string")


def _size_value(param: Param) -> int:
    schema = param.schema
    for key in ("maximum", "default"):
        value = schema.get(key)
        if (
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and value >= 1
        ):
            return min(int(value), MAX_PAGE_SIZE)
    return GUESSED_PAGE_SIZE


def size_why(param: Param, value: int) -> Why:
    """Why the page size is ``value``."""
    schema = param.schema
    if isinstance(schema.get("maximum"), (int, float)):
        what = (
            "its maximum"
            if int(schema["maximum"]) == value
            else f"capped at {MAX_PAGE_SIZE}"
        )
    elif isinstance(schema.get("default"), (int, float)):
        what = "its default"
    else:
        text = (
            f"page size: {param.origin}; the document gives no maximum or "
            f"default, {value} is a common one"
        )
        return Why(text, "guess")
    return Why(f"page size: {param.origin}, {what}", "sure")


def _is_string(schema: Schema) -> bool:
    kinds = schema.get("type") or []
    return "string" in kinds


def _next_url(fields: dict[str, Schema]) -> Paging | None:
    for dotted, schema in fields.items():
        if not _is_string(schema):
            continue
        leaf = normal(dotted.rsplit(".", 1)[-1])
        parent = normal(dotted.rsplit(".", 1)[0]) if "." in dotted else ""
        text = str(schema.get("description") or "").lower()
        urlish = (
            schema.get("format") in ("uri", "url", "uri-reference")
            or any(w in leaf for w in ("url", "uri", "link", "href"))
            or re.search(r"\b(url|uri|link)\b", text) is not None
            or "link" in parent
        )
        nextish = leaf.startswith("next") or parent.endswith("next") or (leaf == "next")
        if urlish and nextish:
            why = Why(f"the response field {dotted} holds the next page's URL", "sure")
            return Paging(
                "next_url", {"type": "next_url", "next_url": f"$.{dotted}"}, why
            )
    return None


def _token(params: list[Param], fields: dict[str, Schema]) -> Paging | None:
    for param in params:
        key = key_of(param)
        if key in _SIZE or key in _PAGE or key in _BACKWARDS:
            continue
        for dotted, schema in fields.items():
            if "boolean" in (schema.get("type") or []):
                continue
            leaf = normal(dotted.rsplit(".", 1)[-1])
            echoed = leaf == key and (key in _CURSORISH or "cursor" in dotted.lower())
            if leaf != f"next{key}" and not echoed:
                continue
            why = Why(
                f"{param.origin} takes the value the response returns in {dotted}",
                "sure" if leaf.startswith("next") else "likely",
            )
            location = param.location
            if key in _OFFSET:
                pagination = {
                    "type": "offset",
                    "location": location,
                    "offset_param": param.name,
                    "next_offset_selector": f"$.{dotted}",
                }
            else:
                pagination = {
                    "type": "cursor",
                    "next_cursor": f"$.{dotted}",
                    "location": location,
                    "param": param.name,
                }
            return Paging("token", pagination, why, used={param.name})
    return None


def _offset(params: list[Param], size: tuple[Param, int] | None) -> Paging | None:
    for param in params:
        if key_of(param) in _OFFSET and scalar_type_of(param) in ("integer", "number"):
            if size is None:
                continue
            limit_param, value = size
            pagination = {
                "type": "offset",
                "location": param.location,
                "offset_param": param.name,
                "limit_param": limit_param.name,
                "limit": value,
            }
            size_text = size_why(limit_param, value)
            why = Why(
                f"{param.origin} with {limit_param.origin}: offsets grow by the "
                f"page size ({size_text.text})",
                size_text.sure,
            )
            return Paging(
                "offset", pagination, why, used={param.name, limit_param.name}
            )
    return None


def _page(params: list[Param], size: tuple[Param, int] | None) -> Paging | None:
    for param in params:
        if key_of(param) in _PAGE and scalar_type_of(param) in (
            "integer",
            "number",
            "string",
        ):
            start = _first_page(param)
            pagination: dict[str, JSON] = {
                "type": "page_increment",
                "location": param.location,
                "page_param": param.name,
                "start_from": start,
            }
            with_size = f" with {size[0].origin}" if size else ""
            why = Why(
                f"{param.origin}{with_size}: page numbers from {start}",
                "sure" if size else "likely",
            )
            return Paging("page", pagination, why, used={param.name})
    return None


def _first_page(param: Param) -> int:
    for key in ("minimum", "default"):
        value = param.schema.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value in (0, 1):
            return value
    return 1


def _link_header(op: Operation) -> Paging | None:
    if any(name.lower() == "link" for name in op.response_headers):
        why = Why(f"the {op.response_code} response documents a Link header", "sure")
        return Paging("link_header", {"type": "link_header"}, why)
    if re.search(r"\blink header\b|\blink:\s*<", op.text, re.I):
        why = Why("the operation's description mentions the Link header", "likely")
        return Paging("link_header", {"type": "link_header"}, why)
    return None


def _after_id(params: list[Param], plan: StreamPlan) -> Paging | None:
    match = re.fullmatch(r"\$((?:\.[A-Za-z_][A-Za-z0-9_]*)*)\[\*\]", plan.selector)
    if match is None or len(plan.primary_key) != 1:
        return None
    for param in params:
        if key_of(param) in _AFTER_ID:
            next_cursor = f"${match.group(1)}[-1].{plan.primary_key[0]}"
            why = Why(
                f"{param.origin} takes the id of the last record of the page before",
                "likely",
            )
            pagination = {
                "type": "cursor",
                "next_cursor": next_cursor,
                "location": param.location,
                "param": param.name,
            }
            return Paging("cursor", pagination, why, used={param.name})
    return None


def _undocumented_cursor(fields: dict[str, Schema]) -> Paging | None:
    for dotted, schema in fields.items():
        leaf = dotted.rsplit(".", 1)[-1]
        if normal(leaf) in _CURSOR_FIELDS and _is_string(schema):
            param = re.sub(r"^next_?", "", leaf, flags=re.I) or "cursor"
            param = param[0].lower() + param[1:]
            why = Why(
                f"the response field {dotted} is a cursor; the document declares no "
                f"request parameter for it, so it is sent back as {param!r}",
                "guess",
            )
            pagination = {
                "type": "cursor",
                "next_cursor": f"$.{dotted}",
                "location": "query",
                "param": param,
            }
            return Paging("token", pagination, why, used={param})
    return None


def _stop_conditions(paging: Paging, fields: dict[str, Schema]) -> None:
    assert paging.pagination is not None  # noqa: S101 (checked by the caller)
    found: list[str] = []
    for dotted, schema in fields.items():
        leaf = normal(dotted.rsplit(".", 1)[-1])
        kinds = schema.get("type") or []
        if (
            "boolean" in kinds
            and leaf in _HAS_MORE
            and "has_more" not in paging.pagination
        ):
            paging.pagination["has_more"] = f"$.{dotted}"
            found.append(f"has_more from {dotted}")
        elif ("integer" in kinds or "number" in kinds) and paging.kind in (
            "page",
            "offset",
        ):
            if leaf in _TOTAL and "total_records" not in paging.pagination:
                paging.pagination["total_records"] = f"$.{dotted}"
                found.append(f"total_records from {dotted}")
            elif (
                leaf in _PAGES
                and paging.kind == "page"
                and "total_pages" not in paging.pagination
            ):
                paging.pagination["total_pages"] = f"$.{dotted}"
                found.append(f"total_pages from {dotted}")
    if found:
        paging.why = Why(
            f"{paging.why.text}; stops on {', '.join(found)}", paging.why.sure
        )
