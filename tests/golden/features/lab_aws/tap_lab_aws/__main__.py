"""Run the tap: ``python -m tap_lab_aws``."""

from __future__ import annotations

from tap_lab_aws.tap import main

main()
