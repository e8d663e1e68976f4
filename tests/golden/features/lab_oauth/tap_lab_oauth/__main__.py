"""Run the tap: ``python -m tap_lab_oauth``."""

from __future__ import annotations

from tap_lab_oauth.tap import main

main()
