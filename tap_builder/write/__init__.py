"""Writing a rendered package to disk: atomic, confined, with a manifest."""

from __future__ import annotations

from tap_builder.write.package import MANIFEST, WriteError, write_package

__all__ = ["MANIFEST", "WriteError", "write_package"]
