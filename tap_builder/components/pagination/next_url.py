"""``next_url``: the next page's URL from the response body (run-time class)."""

from __future__ import annotations

import typing as t

from pydantic import Field

from tap_builder.components.base import RUNTIME_PAGING, PaginatorComponent
from tap_builder.components.pagination.model import (
    StopRules,
    jsonpath_fields,
    stop_rule_problems,
)
from tap_builder.spec.fields import NonEmpty

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from tap_builder.spec.fields import Found, Loc


class NextUrlPagination(StopRules):
    """The next page's URL, read from the response body."""

    type: t.Literal["next_url"]
    next_url: NonEmpty = Field(description="JSONPath to the next page's URL.")


def _problems(block: NextUrlPagination, loc: Loc) -> Iterator[Found]:
    yield from stop_rule_problems(block, loc)
    yield from jsonpath_fields(block, loc, "next_url")


COMPONENT = PaginatorComponent(
    type="next_url",
    macro="next_url",
    class_name="NextUrlPaginator",
    module=RUNTIME_PAGING,
    model=NextUrlPagination,
    problems=_problems,
    example="sample_specs/features/lab.yaml",
    finish_reason="the response gives no next URL",
)
