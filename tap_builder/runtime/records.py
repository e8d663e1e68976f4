"""Record options: filters on field values, and fields removed or added."""

from __future__ import annotations

import typing as t
from collections.abc import Mapping

from .streams import BuilderStream


def _dig(record: Mapping[str, t.Any], path: str) -> t.Any:  # noqa: ANN401
    node: t.Any = record
    for part in path.split("."):
        node = node.get(part) if isinstance(node, Mapping) else None
    return node


def _holds(value: t.Any, op: str, expected: t.Any) -> bool:  # noqa: ANN401
    if op in _TESTS:
        return _TESTS[op](value, expected)
    if value is None:
        return False
    try:
        return bool(_COMPARISONS[op](value, expected))
    except TypeError:
        return False


#: Operators that hold or not for any value, None included.
_TESTS: dict[str, t.Callable[[t.Any, t.Any], bool]] = {
    "exists": lambda value, _: value is not None,
    "missing": lambda value, _: value is None,
    "==": lambda value, expected: bool(value == expected),
    "!=": lambda value, expected: bool(value != expected),
    "in": lambda value, expected: value in expected,
    "not_in": lambda value, expected: value not in expected,
}
#: Orderings, for values that are not None.
_COMPARISONS: dict[str, t.Callable[[t.Any, t.Any], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


class RecordStream(BuilderStream):
    """A stream with ``record_filter``, ``remove_fields`` or ``add_fields``."""

    #: Records kept: (field, op, value) conditions that must all hold.
    record_filter: t.ClassVar[tuple[tuple[str, str, t.Any], ...]] = ()
    #: Fields added to (and removed from) every record.
    add_fields: t.ClassVar[Mapping[str, t.Any]] = {}
    remove_fields: t.ClassVar[tuple[str, ...]] = ()

    def shape(
        self, record: dict[str, t.Any], context: Mapping[str, t.Any] | None
    ) -> dict[str, t.Any] | None:
        """Keep records that pass ``record_filter``, then transform them."""
        shaped = super().shape(record, context)
        if shaped is None:
            return None
        for field, op, expected in self.record_filter:
            if not _holds(_dig(shaped, field), op, expected):
                return None
        if self.remove_fields or self.add_fields:
            return self.transform(shaped, context)
        return shaped

    def transform(
        self, record: dict[str, t.Any], context: Mapping[str, t.Any] | None
    ) -> dict[str, t.Any]:
        """Apply ``remove_fields`` then ``add_fields`` (which may hold variables)."""
        for field in self.remove_fields:
            record.pop(field, None)
        if self.add_fields:
            record.update(self.render_data(self.add_fields, context))
        return record
