"""``tap-builder import openapi``: a spec from an OpenAPI 3.x or Swagger 2.0 document.

The pipeline, one module per job: :mod:`.source` (read, parse, ``$ref`` s,
validation), :mod:`.document` (one view of 2.0 and 3.x), :mod:`.endpoints`
(which operations are streams, records, keys), :mod:`.pagination`, :mod:`.auth`,
:mod:`.incremental`, :mod:`.parents`, :mod:`.importer` (the plan),
:mod:`.writer` (the commented spec) and :mod:`.verify` (checks against the live
API).
"""

from __future__ import annotations

from tap_builder.openapi.importer import import_openapi
from tap_builder.openapi.model import ImportPlan, StreamPlan
from tap_builder.openapi.source import DocumentError as OpenAPIImportError
from tap_builder.openapi.writer import render_spec, summary_table

__all__ = [
    "ImportPlan",
    "OpenAPIImportError",
    "StreamPlan",
    "import_openapi",
    "render_spec",
    "summary_table",
]
