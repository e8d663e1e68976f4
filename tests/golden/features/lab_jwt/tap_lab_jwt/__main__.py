"""Run the tap: ``python -m tap_lab_jwt``."""

from __future__ import annotations

from tap_lab_jwt.tap import main

main()
