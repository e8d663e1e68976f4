"""``link_header``: RFC 8288 ``Link: <url>; rel="next"`` (run-time class)."""

from __future__ import annotations

import typing as t

from tap_builder.components.base import RUNTIME_PAGING, PaginatorComponent
from tap_builder.components.pagination.model import StopRules, stop_rule_problems


class LinkHeaderPagination(StopRules):
    """RFC 8288 ``Link: <url>; rel="next"`` headers."""

    type: t.Literal["link_header"]


COMPONENT = PaginatorComponent(
    type="link_header",
    macro="link_header",
    class_name="NextUrlPaginator",
    module=RUNTIME_PAGING,
    model=LinkHeaderPagination,
    problems=stop_rule_problems,
    example="sample_specs/features/lab.yaml",
    finish_reason="the response gives no next URL",
)
