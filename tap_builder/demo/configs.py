"""Demo settings: the credentials the demo server accepts and tap configs for it.

The values here are throwaway demo credentials that only the bundled demo server
knows; they are single-sourced so the server and :func:`demo_config` can never
disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

#: Stems of the bundled sample specs (``sample_specs/<stem>.yaml``), stable order.
DEMO_SPECS: tuple[str, ...] = (
    "aircall",
    "chargebee",
    "shopify",
    "clinic",
    "helpdesk",
    "openlib",
)

#: Every declared parameter of each sample spec, with the value the server expects.
DEMO_SETTINGS: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {
        "aircall": MappingProxyType(
            {"api_id": "demo-api-id", "api_token": "demo-api-token"}
        ),
        "chargebee": MappingProxyType(
            {"site": "demo-test", "site_api_key": "test_demo_chargebee_key"}
        ),
        "shopify": MappingProxyType(
            {
                "store_name": "demo-store",
                "access_token": "shpat_demo_access_token",
                "page_size": 3,
            }
        ),
        "clinic": MappingProxyType({"access_token": "clinic-demo-token"}),
        "helpdesk": MappingProxyType(
            {
                "api_key": "hd-demo-api-key",
                "tenant": "acme",
                "status": "open",
                "page_size": 4,
            }
        ),
        "openlib": MappingProxyType({}),
        # Not a sample spec: the lab API serves sample_specs/features/*.yaml.
        "lab": MappingProxyType({"token": "lab-demo-token", "workspace": "acme"}),
        # Not a sample spec: the bulk API serves sample_specs/features/bulk*.yaml.
        "bulk": MappingProxyType({}),
    }
)

#: Path prefix of each emulated API on the demo server, as ``api_url`` sees it.
#: ``{config.store_name}`` is left for the generated tap to render.
API_PREFIXES: Mapping[str, str] = MappingProxyType(
    {
        "aircall": "/aircall/v1",
        "chargebee": "/chargebee/api/v2",
        "shopify": "/shopify/{config.store_name}/admin/api/2024-01",
        "clinic": "/clinic/v1",
        "helpdesk": "/helpdesk/api/v2",
        "openlib": "/openlib/v1",
        "lab": "/lab/v1",
        "bulk": "/bulk/v1",
    }
)


class UnknownDemoSpecError(KeyError):
    """Raised for a spec stem that has no demo API."""

    def __init__(self, spec_stem: str) -> None:
        """Build the error.

        Args:
            spec_stem: The unknown stem.
        """
        self.spec_stem = spec_stem
        self.message = (
            f"no demo API for spec {spec_stem!r}; "
            f"known demo specs: {', '.join(DEMO_SPECS)}"
        )
        super().__init__(self.message)

    def __str__(self) -> str:
        """The plain message (``KeyError`` would show its repr)."""
        return self.message


def demo_config(spec_stem: str, server_url: str) -> dict[str, Any]:
    """Tap config that syncs ``sample_specs/<spec_stem>.yaml`` from the demo server.

    Args:
        spec_stem: A member of :data:`DEMO_SPECS`, e.g. ``"aircall"``.
        server_url: The demo server's root URL, e.g. ``DemoServer.url``.

    Returns:
        A fresh dict with every declared parameter plus ``api_url``.

    Raises:
        UnknownDemoSpecError: for a stem not in :data:`DEMO_SPECS`.
    """
    if spec_stem not in DEMO_SETTINGS:
        raise UnknownDemoSpecError(spec_stem)
    api_url = server_url.rstrip("/") + API_PREFIXES[spec_stem]
    return {**DEMO_SETTINGS[spec_stem], "api_url": api_url}
