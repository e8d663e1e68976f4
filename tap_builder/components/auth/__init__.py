"""Authentication types, one module each; ``TYPES`` is their registry.

``TYPES`` lists the modules in the order messages and docs name the types.
Adding a type: a module here with its model and ``COMPONENT``, its name in
``TYPES``, its macro file ``templates/tap/macros/auth/<type>.jinja``, and its
tests.
"""

from __future__ import annotations

TYPES = (
    "api_key",
    "basic",
    "bearer",
    "headers",
    "oauth2",
    "session",
    "jwt",
    "aws_sigv4",
    "none",
)
