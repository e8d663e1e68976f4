"""Run the tap: ``python -m tap_lab_custom``."""

from __future__ import annotations

from tap_lab_custom.tap import main

main()
