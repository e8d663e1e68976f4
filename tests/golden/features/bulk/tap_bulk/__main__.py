"""Run the tap: ``python -m tap_bulk``."""

from __future__ import annotations

from tap_bulk.tap import main

main()
