"""Run the tap: ``python -m tap_chargebee``."""

from __future__ import annotations

from tap_chargebee.tap import main

main()
