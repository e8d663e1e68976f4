"""The bundled demo API server and the configs that sync the sample specs from it.

Example:
    >>> from tap_builder.demo import DemoServer, demo_config
    >>> with DemoServer() as server:  # doctest: +SKIP
    ...     config = demo_config("aircall", server.url)
"""

from __future__ import annotations

from tap_builder.demo.configs import (
    API_PREFIXES,
    DEMO_SETTINGS,
    DEMO_SPECS,
    UnknownDemoSpecError,
    demo_config,
)
from tap_builder.demo.faults import FAULT_KINDS, FaultPlan
from tap_builder.demo.server import DemoServer, RecordedRequest

__all__ = [
    "API_PREFIXES",
    "DEMO_SETTINGS",
    "DEMO_SPECS",
    "FAULT_KINDS",
    "DemoServer",
    "FaultPlan",
    "RecordedRequest",
    "UnknownDemoSpecError",
    "demo_config",
]
