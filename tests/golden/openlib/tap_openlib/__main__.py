"""Run the tap: ``python -m tap_openlib``."""

from __future__ import annotations

from tap_openlib.tap import main

main()
