"""The floor: the least work a Python tap can do to emit the same records.

A ``requests.Session`` page loop (stopping at the first empty page), one JSON parse
per response, one ``RECORD`` line per record, encoded once per page and written to
a buffered binary stdout. No schema conformance, validation or state: only a
minimal ``SCHEMA`` message per stream. ``--lib json`` uses the standard library,
``--lib orjson`` the same loop with orjson.

Usage: ``floor.py --lib json|orjson --base-url URL (--dataset NAME | --pc)``
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import requests

Record = dict[str, Any]


@dataclass(frozen=True)
class Codec:
    """Parse a response body; turn a page of messages into one bytes chunk."""

    loads: Callable[[bytes], Any]
    chunk: Callable[[list[Record]], bytes]


def json_codec() -> Codec:
    """The standard library: ``json.dumps`` per message, one encode per page."""

    def chunk(messages: list[Record]) -> bytes:
        return ("\n".join([json.dumps(m) for m in messages]) + "\n").encode()

    return Codec(json.loads, chunk)


def orjson_codec() -> Codec:
    """orjson: ``orjson.dumps`` per message (bytes), joined per page."""
    import orjson  # only the orjson floor pays for the import

    dumps = orjson.dumps

    def chunk(messages: list[Record]) -> bytes:
        return b"\n".join([dumps(m) for m in messages]) + b"\n"

    return Codec(orjson.loads, chunk)


CODECS = {"json": json_codec, "orjson": orjson_codec}


def record(stream: str, data: Record) -> Record:
    """A RECORD message."""
    return {"type": "RECORD", "stream": stream, "record": data}


class Floor:
    """One sync: fetch pages, write RECORD lines to ``out``."""

    def __init__(self, base_url: str, codec: Codec, out: BinaryIO) -> None:
        self.base_url = base_url
        self.codec = codec
        self.out = out
        self.session = requests.Session()

    def get(self, path: str, page: int | None = None) -> list[Record]:
        """The records of one response."""
        params = None if page is None else {"page": page}
        response = self.session.get(self.base_url + path, params=params)
        response.raise_for_status()
        return list(self.codec.loads(response.content)["data"])

    def pages(self, path: str) -> Iterator[list[Record]]:
        """Pages 1, 2, ... until the first empty one."""
        page = 1
        while records := self.get(path, page):
            yield records
            page += 1

    def schemas(self, *streams: str) -> None:
        """A minimal SCHEMA message per stream."""
        messages = [{"type": "SCHEMA", "stream": s, "schema": {}} for s in streams]
        self.out.write(self.codec.chunk(messages))

    def sync_items(self, dataset: str) -> None:
        """The items stream of ``dataset``."""
        self.schemas("items")
        for records in self.pages(f"/{dataset}/items"):
            self.out.write(self.codec.chunk([record("items", r) for r in records]))

    def sync_parent_child(self) -> None:
        """Parents page by page; after each parent, its children."""
        self.schemas("parents", "children")
        for parents in self.pages("/pc/parents"):
            messages: list[Record] = []
            for parent in parents:
                messages.append(record("parents", parent))
                children = self.get(f"/pc/parents/{parent['id']}/children")
                messages += [record("children", child) for child in children]
            self.out.write(self.codec.chunk(messages))


def main(argv: list[str] | None = None) -> None:
    """Run one floor sync to stdout."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lib", choices=sorted(CODECS), default="json")
    parser.add_argument("--base-url", required=True)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--dataset", help="items dataset, e.g. items_100k_p1000")
    target.add_argument("--pc", action="store_true", help="parents and children")
    args = parser.parse_args(argv)
    out = sys.stdout.buffer
    floor = Floor(args.base_url, CODECS[args.lib](), out)
    if args.pc:
        floor.sync_parent_child()
    else:
        floor.sync_items(args.dataset)
    out.flush()


if __name__ == "__main__":
    main()
