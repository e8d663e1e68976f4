"""Run the tap: ``python -m tap_lab_authcode``."""

from __future__ import annotations

from tap_lab_authcode.tap import main

main()
