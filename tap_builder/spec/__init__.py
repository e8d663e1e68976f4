"""The connector spec: what a user writes (models), how it is read (loader)."""

from __future__ import annotations

from tap_builder.spec.errors import SpecError, SpecIssue
from tap_builder.spec.loader import LoadedSpec, load_spec, parse_spec_text

__all__ = [
    "LoadedSpec",
    "SpecError",
    "SpecIssue",
    "load_spec",
    "parse_spec_text",
]
