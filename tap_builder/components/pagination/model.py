"""What every pagination type shares: stop rules and where the token goes."""

from __future__ import annotations

import typing as t

from pydantic import Field

from tap_builder.spec.fields import (
    Count,
    Model,
    NonEmpty,
    header_name_problem,
    jsonpath_problem,
)

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from tap_builder.spec.fields import Found, Loc

#: Where a page number, offset or cursor goes (body: a dotted path).
TokenLocation = t.Literal["query", "header", "body"]


class StopRules(Model):
    """Optional ways to stop before an empty page, for every pagination type.

    The generated tap counts the pages and records it has read itself, whatever
    carries the next token (a page number, an offset, a cursor, a URL), so each
    condition means the same for every type: ``has_more`` false, ``total_pages``
    pages read, ``total_records`` records read, or ``max_pages`` pages read ends
    paging without requesting the page after.
    """

    if t.TYPE_CHECKING:
        #: Each type's model declares it as a literal.
        type: str

    has_more: NonEmpty | None = Field(
        None, description="JSONPath to a boolean: false stops paging."
    )
    total_pages: NonEmpty | None = Field(
        None, description="JSONPath to the number of pages."
    )
    total_records: NonEmpty | None = Field(
        None, description="JSONPath to the number of records."
    )
    max_pages: Count | None = Field(None, description="Stop after this many pages.")

    @property
    def has_stop_rules(self) -> bool:
        """Whether any stop condition is declared."""
        return any(
            (self.has_more, self.total_pages, self.total_records, self.max_pages)
        )


def stop_rule_problems(block: StopRules, loc: Loc) -> Iterator[Found]:
    """The stop rules' JSONPaths: each must parse."""
    for key in ("has_more", "total_pages", "total_records"):
        if (path := getattr(block, key)) and (problem := jsonpath_problem(path)):
            yield (*loc, key), problem


def jsonpath_fields(block: object, loc: Loc, *fields: str) -> Iterator[Found]:
    """Each named field of ``block`` that holds a JSONPath must parse."""
    for key in fields:
        if (path := getattr(block, key)) and (problem := jsonpath_problem(path)):
            yield (*loc, key), problem


def header_names(block: object, loc: Loc, *fields: str) -> Iterator[Found]:
    """With ``location: header``, the named fields must be header names."""
    if getattr(block, "location", None) != "header":
        return
    for key in fields:
        name = getattr(block, key)
        if name is not None and (problem := header_name_problem(name)):
            yield loc, problem


class _Limited(t.Protocol):
    """A pagination block with a page size: ``limit_param`` and ``limit``."""

    @property
    def limit_param(self) -> str | None: ...
    @property
    def limit(self) -> int | None: ...


def limit_pair(block: _Limited, loc: Loc) -> Iterator[Found]:
    """``limit_param`` and ``limit``: both or neither."""
    limit_param, limit = block.limit_param, block.limit
    if (limit_param is None) != (limit is None):
        missing = "limit" if limit is None else "limit_param"
        yield (*loc, missing), "limit_param and limit go together: give both or neither"
