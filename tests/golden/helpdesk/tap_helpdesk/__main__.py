"""Run the tap: ``python -m tap_helpdesk``."""

from __future__ import annotations

from tap_helpdesk.tap import main

main()
