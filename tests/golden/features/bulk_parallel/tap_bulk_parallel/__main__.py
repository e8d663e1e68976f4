"""Run the tap: ``python -m tap_bulk_parallel``."""

from __future__ import annotations

from tap_bulk_parallel.tap import main

main()
