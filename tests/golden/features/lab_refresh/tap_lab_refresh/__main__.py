"""Run the tap: ``python -m tap_lab_refresh``."""

from __future__ import annotations

from tap_lab_refresh.tap import main

main()
