"""Run the tap: ``python -m tap_bulk_limits``."""

from __future__ import annotations

from tap_bulk_limits.tap import main

main()
