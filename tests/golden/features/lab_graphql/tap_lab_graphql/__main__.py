"""Run the tap: ``python -m tap_lab_graphql``."""

from __future__ import annotations

from tap_lab_graphql.tap import main

main()
