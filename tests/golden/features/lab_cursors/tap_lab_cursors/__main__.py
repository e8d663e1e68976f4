"""Run the tap: ``python -m tap_lab_cursors``."""

from __future__ import annotations

from tap_lab_cursors.tap import main

main()
