"""Run the tap: ``python -m tap_lab_dynamic``."""

from __future__ import annotations

from tap_lab_dynamic.tap import main

main()
