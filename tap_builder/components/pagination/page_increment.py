"""``page_increment``: pages start_from, start_from+1, ... (the SDK's paginator)."""

from __future__ import annotations

import typing as t

from pydantic import AfterValidator, Field, StrictInt

from tap_builder.components.base import SDK_PAGING, PaginatorComponent
from tap_builder.components.pagination.model import (
    StopRules,
    TokenLocation,
    header_names,
    stop_rule_problems,
)
from tap_builder.spec.fields import MAX_COUNT, NonEmpty, at_most

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from tap_builder.spec.fields import Found, Loc


class PageIncrementPagination(StopRules):
    """Pages start_from, start_from+1, ... until a page has no records."""

    type: t.Literal["page_increment"]
    location: TokenLocation = Field(
        "query", description="Where the page number goes (body: a dotted path)."
    )
    # Spelled ``page_param`` in specs since spec_version 2 (``attribute`` before;
    # see tap_builder/spec/migrations.py); the attribute name stays for the code.
    attribute: NonEmpty = Field(
        alias="page_param", description="Page parameter or header name, e.g. page."
    )
    start_from: t.Annotated[
        StrictInt, Field(ge=0), AfterValidator(at_most(MAX_COUNT, "a page number"))
    ] = Field(1, description="First page number.")


def _problems(block: PageIncrementPagination, loc: Loc) -> Iterator[Found]:
    yield from stop_rule_problems(block, loc)
    yield from header_names(block, loc, "attribute")


COMPONENT = PaginatorComponent(
    type="page_increment",
    macro="page_increment",
    class_name="PageNumberPaginator",
    module=SDK_PAGING,
    model=PageIncrementPagination,
    problems=_problems,
    param_field="attribute",
    example="sample_specs/aircall.yaml",
    finish_reason="the page had no records",
)
