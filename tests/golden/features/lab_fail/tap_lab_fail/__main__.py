"""Run the tap: ``python -m tap_lab_fail``."""

from __future__ import annotations

from tap_lab_fail.tap import main

main()
