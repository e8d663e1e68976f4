"""Pagination types, one module each; ``TYPES`` is their registry.

``TYPES`` lists the modules in the order messages and docs name the types.
Adding a type: a module here with its model (on :class:`StopRules`, so stop
rules work for it too) and ``COMPONENT``, its name in ``TYPES``, its macro file
``templates/tap/macros/pagination/<type>.jinja``, and its tests.
"""

from __future__ import annotations

TYPES = (
    "page_increment",
    "offset",
    "records_offset",
    "cursor",
    "next_url",
    "link_header",
    "graphql_cursor",
)
