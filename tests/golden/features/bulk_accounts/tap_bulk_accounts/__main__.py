"""Run the tap: ``python -m tap_bulk_accounts``."""

from __future__ import annotations

from tap_bulk_accounts.tap import main

main()
