"""``offset``: offsets counted by ``limit``, or read from each response.

Two classes, both written into the package's ``pagination.py`` by the macro
file: ``LimitOffsetPaginator`` (the SDK's ``OffsetPaginator``, stopping after a
short page) and, with ``next_offset_selector``, ``NextOffsetPaginator``.
"""

from __future__ import annotations

import typing as t

from pydantic import Field

from tap_builder.components.base import PACKAGE_PAGINATION, PaginatorComponent
from tap_builder.components.pagination.model import (
    StopRules,
    TokenLocation,
    header_names,
    jsonpath_fields,
    limit_pair,
    stop_rule_problems,
)
from tap_builder.spec.fields import NonEmpty, PageSize

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from tap_builder.spec.fields import Found, Loc


class OffsetPagination(StopRules):
    """Offsets: read from the response, or counted by ``limit``."""

    type: t.Literal["offset"]
    location: TokenLocation = Field(
        "query", description="Where the offset (and limit) go (body: dotted paths)."
    )
    offset_param: NonEmpty = Field(description="Offset parameter name, e.g. offset.")
    next_offset_selector: NonEmpty | None = Field(
        None, description="JSONPath to the next offset in the response."
    )
    limit_param: NonEmpty | None = Field(None, description="Page size parameter name.")
    limit: PageSize | None = Field(None, description="Page size.")


def _problems(block: OffsetPagination, loc: Loc) -> Iterator[Found]:
    if block.next_offset_selector is None:
        for name in ("limit_param", "limit"):
            if getattr(block, name) is None:
                yield (
                    (*loc, name),
                    "required without next_offset_selector (the offset grows by limit)",
                )
    else:
        yield from jsonpath_fields(block, loc, "next_offset_selector")
        yield from limit_pair(block, loc)
    yield from stop_rule_problems(block, loc)
    yield from header_names(block, loc, "offset_param", "limit_param")


#: With ``next_offset_selector``: the next offset is read from the response.
NEXT_OFFSET = PaginatorComponent(
    type="",
    macro="next_offset",
    class_name="NextOffsetPaginator",
    module=PACKAGE_PAGINATION,
    also_needs=("paging.py",),
    finish_reason="the response holds no next offset",
)

COMPONENT = PaginatorComponent(
    type="offset",
    macro="offset",
    class_name="LimitOffsetPaginator",
    module=PACKAGE_PAGINATION,
    model=OffsetPagination,
    problems=_problems,
    param_field="offset_param",
    variant=("next_offset_selector", NEXT_OFFSET),
    example="sample_specs/chargebee.yaml",
    finish_reason="the page had fewer records than the limit",
)
