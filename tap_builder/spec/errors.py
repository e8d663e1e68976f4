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
        return _one_line(f"{where}{field}{self.message}")


def _one_line(text: str) -> str:
    """``text`` with unprintable characters (line breaks too) escaped."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


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
    r"""Render a location as ``streams[1].pagination.limit``.

    A key with unprintable characters (a newline, a control character) is shown
    quoted and escaped, ``headers['X-A\n']``, so an issue stays one line.
    """
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not part.isprintable():
            out += f"[{part!r}]"
        else:
            out += f".{part}" if out else part
    return out


def brief(value: object, limit: int = 40) -> str:
    """``repr(value)``, cut in the middle when longer than ``limit`` characters."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[: limit - 12]}...{text[-9:]} ({len(text):,} characters)"
