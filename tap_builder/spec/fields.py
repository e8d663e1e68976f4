"""Field types, bounds and text checks shared by the spec models and components.

Nothing here knows a spec's shape: the spec models (:mod:`tap_builder.spec.models`)
and the components (:mod:`tap_builder.components`) build on it, and the
cross-field checks (:mod:`tap_builder.spec.checks`) use its text checks.
"""

from __future__ import annotations

import re
import typing as t
from functools import lru_cache

from jsonpath_ng.exceptions import JsonPathLexerError, JsonPathParserError
from jsonpath_ng.ext.parser import parse as parse_jsonpath
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
)

from tap_builder.spec.errors import brief

#: Where a problem is: the field path from the spec's root.
Loc = tuple[str | int, ...]
#: A problem: where, and what is wrong.
Found = tuple[Loc, str]

NonEmpty = t.Annotated[str, StringConstraints(min_length=1)]
Scalar = str | int | float | bool | None

#: Bounds on numbers that become counts, sizes and waits in the generated tap.
MAX_PAGE_SIZE = 1_000_000
MAX_COUNT = 1_000_000_000
#: Requests per second: at least one an hour, at most a thousand a second.
MIN_RATE_PER_SECOND = 1 / 3600
MAX_RATE_PER_SECOND = 1000.0


def at_most(limit: int, what: str) -> t.Callable[[int], int]:
    """A validator: ``value`` at most ``limit`` (``what`` names it in the error)."""

    def check(value: int) -> int:
        if value > limit:
            msg = f"{brief(value)} is too large: {what} is at most {limit:,}"
            raise ValueError(msg)
        return value

    return check


PositiveInt = t.Annotated[StrictInt, Field(gt=0)]
#: Pages, records between STATE messages: positive, at most a billion.
Count = t.Annotated[PositiveInt, AfterValidator(at_most(MAX_COUNT, "a count"))]
PageSize = t.Annotated[
    PositiveInt, AfterValidator(at_most(MAX_PAGE_SIZE, "a page size"))
]


class Model(BaseModel):
    """Base: unknown keys are errors and parsed specs are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


#: An HTTP token (RFC 9110); ``\Z``, as ``$`` would let a trailing newline through.
HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")


def header_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be an HTTP header name, or None."""
    if HEADER_NAME.match(name):
        return None
    return f"{name!r} is not a valid HTTP header name"


@lru_cache(maxsize=1024)
def jsonpath_problem(expression: str) -> str | None:
    """Why ``expression`` is not a JSONPath, or None when it parses."""
    try:
        parse_jsonpath(expression)
    except (JsonPathLexerError, JsonPathParserError, Exception) as exc:
        reason = str(exc).strip() or type(exc).__name__
        return f"{expression!r} is not a valid JSONPath: {reason}"
    return None
