"""Run the tap: ``python -m tap_lab_bearer``."""

from __future__ import annotations

from tap_lab_bearer.tap import main

main()
