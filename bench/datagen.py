"""Deterministic benchmark datasets, written once as precomputed page files.

Every items dataset is the same record sequence (one seeded generator), cut into
pages: ``<data>/<name>/page-<n>.json`` holds ``{"data": [...], "page": n}`` for
``n = 1..pages`` and ``page-<pages + 1>.json`` holds ``{"data": []}``, the empty
page that stops a page-number paginator. The parent-child dataset ``pc`` holds
``parents/page-<n>.json`` (same shape) and ``children/<parent id>.json``.

A dataset is generated into a temporary folder and renamed into place, so an
interrupted run never leaves a half-written dataset behind.
"""

from __future__ import annotations

import datetime as dt
import random
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

SEED = 20240101
PC_PARENTS = 1_000
PC_PAGE_SIZE = 100
PC_CHILDREN_PER_PARENT = 5
EMPTY_PAGE = b'{"data": []}'

_EPOCH = dt.datetime(2023, 1, 1, tzinfo=dt.UTC).timestamp()
_STATUSES = ("active", "pending", "suspended", "closed", "archived")
_TAGS = ("red", "green", "blue", "vip", "new", "trial", "b2b", "b2c", "eu", "us")
_CITIES = ("Lisbon", "Berlin", "Austin", "Osaka", "Lagos", "Lima", "Oslo", "Pune")
_COUNTRIES = ("PT", "DE", "US", "JP", "NG", "PE", "NO", "IN")
_WORDS = ("alpha", "bravo", "delta", "echo", "kilo", "lima", "oscar", "tango")


@dataclass(frozen=True)
class Dataset:
    """An items dataset: ``records`` records served in pages of ``page_size``."""

    name: str
    records: int
    page_size: int

    @property
    def pages(self) -> int:
        """Number of non-empty pages."""
        return -(-self.records // self.page_size)


ITEMS_DATASETS = {
    d.name: d
    for d in (
        Dataset("items_10k_p1000", 10_000, 1_000),
        Dataset("items_100k_p100", 100_000, 100),
        Dataset("items_100k_p1000", 100_000, 1_000),
        Dataset("items_1m_p1000", 1_000_000, 1_000),
        # latency mode: 50 pages of 100; memory with prefetch from 1k to 100k
        Dataset("items_5k_p100", 5_000, 100),
        Dataset("items_1k_p100", 1_000, 100),
    )
}
PC_DATASET = "pc"
#: Latency mode's parent-child dataset: 100 parents in pages of 10, one child
#: page (5 children) each. The latency server serves it at the ``/pc/`` routes.
PC100_DATASET = "pc100"
PC_DATASETS = {PC_DATASET: (PC_PARENTS, PC_PAGE_SIZE), PC100_DATASET: (100, 10)}


def _iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(_EPOCH + seconds, dt.UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


def item_record(record_id: int, rng: random.Random) -> dict[str, object]:
    """One 15-field record (nested address, tag list, timestamps, nullable notes)."""
    created = record_id * 37 + rng.randrange(3_600)
    word = rng.choice(_WORDS)
    city = rng.randrange(len(_CITIES))
    return {
        "id": record_id,
        "uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "name": f"{word.title()} {record_id}",
        "email": f"{word}.{record_id}@example.com",
        "status": rng.choice(_STATUSES),
        "amount": round(rng.uniform(1, 10_000), 2),
        "quantity": rng.randrange(1, 500),
        "active": rng.random() < 0.7,
        "created_at": _iso(created),
        "updated_at": _iso(created + rng.randrange(86_400 * 30)),
        "tags": rng.sample(_TAGS, rng.randrange(4)),
        "address": {
            "street": f"{rng.randrange(1, 999)} {rng.choice(_WORDS).title()} Street",
            "city": _CITIES[city],
            "zip": f"{rng.randrange(10_000, 99_999)}",
            "country": _COUNTRIES[city],
        },
        "score": rng.random() * 100,
        "notes": None if rng.random() < 0.3 else f"note {rng.choice(_WORDS)}",
        "version": rng.randrange(1, 20),
    }


def item_records(count: int) -> Iterator[dict[str, object]]:
    """The first ``count`` records of the shared, seeded record sequence."""
    rng = random.Random(SEED)  # noqa: S311 - test data, not security
    for record_id in range(1, count + 1):
        yield item_record(record_id, rng)


def child_record(parent_id: int, index: int) -> dict[str, object]:
    """Child ``index`` (0-based) of parent ``parent_id``."""
    child_id = (parent_id - 1) * PC_CHILDREN_PER_PARENT + index + 1
    return {
        "id": child_id,
        "parent_id": parent_id,
        "name": f"child {child_id}",
        "value": round(child_id * 1.25, 2),
        "created_at": _iso(child_id * 61),
    }


def _write_pages(folder: Path, records: Iterator[dict[str, object]], size: int) -> None:
    folder.mkdir(parents=True)
    page: list[dict[str, object]] = []
    number = 0
    for record in records:
        page.append(record)
        if len(page) == size:
            number += 1
            _write_page(folder, number, page)
            page = []
    if page:
        number += 1
        _write_page(folder, number, page)
    (folder / f"page-{number + 1}.json").write_bytes(EMPTY_PAGE)


def _write_page(folder: Path, number: int, page: list[dict[str, object]]) -> None:
    body = orjson.dumps({"data": page, "page": number})
    (folder / f"page-{number}.json").write_bytes(body)


def _build_items(target: Path, dataset: Dataset) -> None:
    _write_pages(target, item_records(dataset.records), dataset.page_size)


def _build_pc(target: Path, parents: int, page_size: int) -> None:
    _write_pages(target / "parents", item_records(parents), page_size)
    children = target / "children"
    children.mkdir()
    for parent_id in range(1, parents + 1):
        data = [child_record(parent_id, i) for i in range(PC_CHILDREN_PER_PARENT)]
        (children / f"{parent_id}.json").write_bytes(orjson.dumps({"data": data}))


def ensure_dataset(data_dir: Path, name: str) -> bool:
    """Generate dataset ``name`` under ``data_dir`` unless it is there already.

    Returns:
        True when the dataset was generated now.
    """
    target = data_dir / name
    if target.is_dir():
        return False
    staging = data_dir / f".{name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    if name in PC_DATASETS:
        _build_pc(staging, *PC_DATASETS[name])
    else:
        _build_items(staging, ITEMS_DATASETS[name])
    staging.rename(target)
    return True


def expected_counts(name: str) -> dict[str, int]:
    """Records per stream a correct sync of dataset ``name`` emits."""
    if name in PC_DATASETS:
        parents = PC_DATASETS[name][0]
        return {"parents": parents, "children": parents * PC_CHILDREN_PER_PARENT}
    return {"items": ITEMS_DATASETS[name].records}


def warm_page_cache(data_dir: Path, name: str) -> None:
    """Read every file of a dataset once, so no timed run waits on the disk."""
    for path in (data_dir / name).rglob("*.json"):
        path.read_bytes()
