"""The emulated APIs, one module each, and the registry the server routes through.

Each module defines its dataset, its handlers and an ``API``
(:class:`~tap_builder.demo.routing.Api`: a path prefix, an authenticator and a
route table). To add an API, write ``apis/<name>.py`` with an ``API``, add its
prefix and settings to :mod:`tap_builder.demo.configs`, and list it in
:data:`APIS` below.
"""

from __future__ import annotations

from tap_builder.demo.apis import (
    aircall,
    bulk,
    chargebee,
    clinic,
    helpdesk,
    lab,
    openlib,
    shopify,
)
from tap_builder.demo.routing import Api

#: Every emulated API, matched by path prefix in this order.
APIS: tuple[Api, ...] = (
    aircall.API,
    chargebee.API,
    shopify.API,
    clinic.API,
    helpdesk.API,
    openlib.API,
    lab.API,
    bulk.API,
)

__all__ = ["APIS"]
