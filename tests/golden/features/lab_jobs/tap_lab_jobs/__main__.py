"""Run the tap: ``python -m tap_lab_jobs``."""

from __future__ import annotations

from tap_lab_jobs.tap import main

main()
