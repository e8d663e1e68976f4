"""``records_offset``: the offset is the number of records read so far.

For APIs that cap a page below the requested ``limit`` (or ignore it): the next
offset is what the last page held, not ``limit``, so no record is skipped when
the API sends fewer than asked. Paging stops at a page without records (or at a
stop rule). The class, on the SDK's ``OffsetPaginator``, is written into the
package's ``pagination.py`` by the macro file.
"""

from __future__ import annotations

import typing as t

from pydantic import Field

from tap_builder.components.base import PACKAGE_PAGINATION, PaginatorComponent
from tap_builder.components.pagination.model import (
    StopRules,
    TokenLocation,
    header_names,
    limit_pair,
    stop_rule_problems,
)
from tap_builder.spec.fields import NonEmpty, PageSize

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from tap_builder.spec.fields import Found, Loc


class RecordsOffsetPagination(StopRules):
    """Offsets 0, then the number of records read so far, until an empty page."""

    type: t.Literal["records_offset"]
    location: TokenLocation = Field(
        "query", description="Where the offset (and limit) go (body: dotted paths)."
    )
    offset_param: NonEmpty = Field(description="Offset parameter name, e.g. offset.")
    limit_param: NonEmpty | None = Field(
        None, description="Page size parameter name (sent with every request)."
    )
    limit: PageSize | None = Field(
        None, description="Page size asked for; the API may send fewer."
    )


def _problems(block: RecordsOffsetPagination, loc: Loc) -> Iterator[Found]:
    yield from limit_pair(block, loc)
    yield from stop_rule_problems(block, loc)
    yield from header_names(block, loc, "offset_param", "limit_param")


COMPONENT = PaginatorComponent(
    type="records_offset",
    macro="records_offset",
    class_name="RecordsOffsetPaginator",
    module=PACKAGE_PAGINATION,
    model=RecordsOffsetPagination,
    problems=_problems,
    param_field="offset_param",
    example="sample_specs/features/lab.yaml",
    finish_reason="the page had no records",
)
