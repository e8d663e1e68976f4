"""Stream types for the benchmark server."""

from __future__ import annotations

import sys
import typing as t

from singer_sdk import typing as th

from tap_benchsdk.client import BenchSDKStream, PagedStream

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context, Record

ITEM_SCHEMA = th.PropertiesList(
    th.Property("id", th.IntegerType, required=True),
    th.Property("uuid", th.StringType),
    th.Property("name", th.StringType),
    th.Property("email", th.StringType),
    th.Property("status", th.StringType),
    th.Property("amount", th.NumberType),
    th.Property("quantity", th.IntegerType),
    th.Property("active", th.BooleanType),
    th.Property("created_at", th.DateTimeType),
    th.Property("updated_at", th.DateTimeType),
    th.Property("tags", th.ArrayType(th.StringType)),
    th.Property(
        "address",
        th.ObjectType(
            th.Property("street", th.StringType),
            th.Property("city", th.StringType),
            th.Property("zip", th.StringType),
            th.Property("country", th.StringType),
        ),
    ),
    th.Property("score", th.NumberType),
    th.Property("notes", th.StringType),
    th.Property("version", th.IntegerType),
).to_dict()


class ItemsStream(PagedStream):
    """Items, at the endpoint named by the ``path`` setting."""

    name = "items"
    primary_keys = ("id",)
    replication_key = None
    schema = ITEM_SCHEMA

    @override
    @property
    def path(self) -> str:  # type: ignore[override]
        """The items endpoint, e.g. ``/items_100k_p1000/items``."""
        return str(self.config["path"])


class ParentsStream(PagedStream):
    """Parent records; each one starts a sync of its children."""

    name = "parents"
    path = "/pc/parents"
    primary_keys = ("id",)
    replication_key = None
    schema = ITEM_SCHEMA

    @override
    def get_child_context(
        self, record: Record, context: Context | None
    ) -> dict[str, t.Any]:
        """Hand the parent's id to the children stream."""
        return {"parent_id": record["id"]}


class ChildrenStream(BenchSDKStream):
    """The children of one parent (a single request, no pagination)."""

    name = "children"
    path = "/pc/parents/{parent_id}/children"
    parent_stream_type = ParentsStream
    primary_keys = ("id",)
    replication_key = None
    schema = th.PropertiesList(
        th.Property("id", th.IntegerType, required=True),
        th.Property("parent_id", th.IntegerType),
        th.Property("name", th.StringType),
        th.Property("value", th.NumberType),
        th.Property("created_at", th.DateTimeType),
    ).to_dict()
