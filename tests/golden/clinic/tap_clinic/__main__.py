"""Run the tap: ``python -m tap_clinic``."""

from __future__ import annotations

from tap_clinic.tap import main

main()
