"""Run the tap: ``python -m tap_aircall``."""

from __future__ import annotations

from tap_aircall.tap import main

main()
