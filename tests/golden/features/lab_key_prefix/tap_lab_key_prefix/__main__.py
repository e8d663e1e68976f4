"""Run the tap: ``python -m tap_lab_key_prefix``."""

from __future__ import annotations

from tap_lab_key_prefix.tap import main

main()
