"""The one Jinja environment, over the templates shipped with tap-builder."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import jinja2

from tap_builder.render.literals import FILTERS


def templates_dir() -> Path:
    """The templates: inside the installed wheel, or the source tree's top level."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "_templates", package.parent / "templates"):
        if candidate.is_dir():
            return candidate
    msg = f"tap-builder's templates are missing (looked in {package})"
    raise FileNotFoundError(msg)


@cache
def environment() -> jinja2.Environment:
    """Strict: an undefined name is an error, not an empty string."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # noqa: S701 - output is code, values go through filters
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    return env
