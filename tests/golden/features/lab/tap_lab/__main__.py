"""Run the tap: ``python -m tap_lab``."""

from __future__ import annotations

from tap_lab.tap import main

main()
