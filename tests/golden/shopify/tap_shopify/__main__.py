"""Run the tap: ``python -m tap_shopify``."""

from __future__ import annotations

from tap_shopify.tap import main

main()
