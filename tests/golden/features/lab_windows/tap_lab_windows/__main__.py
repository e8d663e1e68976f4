"""Run the tap: ``python -m tap_lab_windows``."""

from __future__ import annotations

from tap_lab_windows.tap import main

main()
