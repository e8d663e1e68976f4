"""Run the tap: ``python -m tap_lab_session``."""

from __future__ import annotations

from tap_lab_session.tap import main

main()
