"""TapBenchSDK tap class."""

from __future__ import annotations

import sys

from singer_sdk import Tap
from singer_sdk import typing as th

from tap_benchsdk import streams
from tap_benchsdk.client import BenchSDKStream

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override


class TapBenchSDK(Tap):
    """Singer tap for the benchmark server, written by hand at SDK defaults."""

    name = "tap-benchsdk"

    config_jsonschema = th.PropertiesList(
        th.Property(
            "api_url",
            th.StringType,
            required=True,
            title="API URL",
            description="Base URL of the benchmark server.",
        ),
        th.Property(
            "mode",
            th.StringType,
            default="items",
            allowed_values=["items", "pc"],
            description="items: the items stream; pc: parents and children.",
        ),
        th.Property(
            "path",
            th.StringType,
            default="/items_100k_p1000/items",
            description="Endpoint of the items stream.",
        ),
    ).to_dict()

    @override
    def discover_streams(self) -> list[BenchSDKStream]:
        """Return the streams of the configured mode."""
        if self.config.get("mode", "items") == "pc":
            return [streams.ParentsStream(self), streams.ChildrenStream(self)]
        return [streams.ItemsStream(self)]


if __name__ == "__main__":
    TapBenchSDK.cli()
