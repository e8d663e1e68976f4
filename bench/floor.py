"""The floor: the least work a Python tap can do to emit the same records.

A ``requests.Session`` page loop (stopping at the first empty page), one JSON parse
per response, one ``RECORD`` line per record, encoded once per page and written to
a buffered binary stdout. No schema conformance, validation or state: only a
minimal ``SCHEMA`` message per stream. ``--lib json`` uses the standard library,
``--lib orjson`` the same loop with orjson.

``--workers N`` (the concurrent floor): a thread pool of N fetches pages, N
pages ahead of the one being written (stopping at the first empty page), and a
parent page's children together; output is written in the sequential order.

Usage: ``floor.py --lib json|orjson --base-url URL (--dataset NAME | --pc)
[--workers N]``
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
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


class ConcurrentFloor(Floor):
    """The floor with ``workers`` requests in flight, output in sequential order."""

    def __init__(
        self, base_url: str, codec: Codec, out: BinaryIO, workers: int
    ) -> None:
        super().__init__(base_url, codec, out)
        self.workers = workers
        self.pool = ThreadPoolExecutor(max_workers=workers)
        self.local = threading.local()

    def get(self, path: str, page: int | None = None) -> list[Record]:
        """One response's records, on this thread's own session."""
        session = getattr(self.local, "session", None)
        if session is None:
            session = self.local.session = requests.Session()
        params = None if page is None else {"page": page}
        response = session.get(self.base_url + path, params=params)
        response.raise_for_status()
        return list(self.codec.loads(response.content)["data"])

    def pages(self, path: str) -> Iterator[list[Record]]:
        """Pages 1, 2, ... fetched ``workers`` ahead, until the first empty one."""
        ahead: deque[Future[list[Record]]] = deque()
        following = 1
        while True:
            while len(ahead) < self.workers:
                ahead.append(self.pool.submit(self.get, path, following))
                following += 1
            records = ahead.popleft().result()
            if not records:
                for future in ahead:
                    future.cancel()
                return
            yield records

    def sync_parent_child(self) -> None:
        """Parent pages ahead; the children of a page's parents together."""
        self.schemas("parents", "children")
        for parents in self.pages("/pc/parents"):
            children = [
                self.pool.submit(self.get, f"/pc/parents/{parent['id']}/children")
                for parent in parents
            ]
            messages: list[Record] = []
            for parent, future in zip(parents, children, strict=True):
                messages.append(record("parents", parent))
                messages += [record("children", child) for child in future.result()]
            self.out.write(self.codec.chunk(messages))


def main(argv: list[str] | None = None) -> None:
    """Run one floor sync to stdout."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lib", choices=sorted(CODECS), default="json")
    parser.add_argument("--base-url", required=True)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--dataset", help="items dataset, e.g. items_100k_p1000")
    target.add_argument("--pc", action="store_true", help="parents and children")
    parser.add_argument("--workers", type=int, default=1, help="requests in flight")
    args = parser.parse_args(argv)
    out = sys.stdout.buffer
    codec = CODECS[args.lib]()
    floor = (
        ConcurrentFloor(args.base_url, codec, out, args.workers)
        if args.workers > 1
        else Floor(args.base_url, codec, out)
    )
    if args.pc:
        floor.sync_parent_child()
    else:
        floor.sync_items(args.dataset)
    out.flush()
    if isinstance(floor, ConcurrentFloor):
        floor.pool.shutdown(cancel_futures=True)


if __name__ == "__main__":
    main()
