"""Run the tap: ``python -m tap_lab_parents``."""

from __future__ import annotations

from tap_lab_parents.tap import main

main()
