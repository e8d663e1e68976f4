"""Run the tap: ``python -m tap_lab_jwt_direct``."""

from __future__ import annotations

from tap_lab_jwt_direct.tap import main

main()
