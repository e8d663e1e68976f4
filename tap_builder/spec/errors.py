"""Spec problems: one :class:`SpecIssue` per problem, raised together."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SpecIssue:
    """One problem in a spec, located by field path (and line, when known)."""

    path: str
    message: str
    line: int | None = None

    def format(self, source: str | None = None) -> str:
        """Render as ``spec.yaml:14 streams[1].pagination.limit: message``."""
        where = ""
        if source:
            where = f"{source}:{self.line} " if self.line else f"{source}: "
        field = f"{self.path}: " if self.path else ""
        return f"{where}{field}{self.message}"


class SpecError(Exception):
    """A spec could not be loaded or is invalid; carries every issue found."""

    def __init__(self, issues: list[SpecIssue], source: str | None = None) -> None:
        self.issues = issues
        self.source = source
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        """One line per issue, ready to print."""
        return [issue.format(self.source) for issue in self.issues]


def format_path(loc: tuple[str | int, ...]) -> str:
    """Render a location as ``streams[1].pagination.limit``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out
