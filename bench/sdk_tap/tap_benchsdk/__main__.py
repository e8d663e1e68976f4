"""Run the tap with ``python -m tap_benchsdk``."""

from __future__ import annotations

from tap_benchsdk.tap import TapBenchSDK

TapBenchSDK.cli()
