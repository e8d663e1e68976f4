"""Run the tap: ``python -m tap_lab_records``."""

from __future__ import annotations

from tap_lab_records.tap import main

main()
