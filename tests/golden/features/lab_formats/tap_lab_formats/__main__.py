"""Run the tap: ``python -m tap_lab_formats``."""

from __future__ import annotations

from tap_lab_formats.tap import main

main()
