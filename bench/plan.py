"""What the benchmark runs: sets of datasets, each with the contenders compared."""

from __future__ import annotations

from dataclasses import dataclass

import contenders as cn
from datagen import PC100_DATASET, PC_DATASET

#: Every contender runs here once, untimed, before any set (fail fast, warm caches).
PREFLIGHT_DATASET = "items_10k_p1000"
MEMORY_SMALL, MEMORY_LARGE = "items_10k_p1000", "items_1m_p1000"
#: Latency mode: seconds every answer waits; its datasets.
LATENCY_S = 0.1
LATENCY_ITEMS = "items_5k_p100"
LATENCY_MEMORY = ("items_1k_p100", "items_100k_p100")
#: The datasets the issue's targets are judged on.
TARGET_DATASETS = {"p1000": "items_100k_p1000", "pc": PC_DATASET}


@dataclass(frozen=True)
class BenchSet:
    """A group of datasets and the contenders compared on them."""

    key: str
    title: str
    datasets: tuple[str, ...]
    contenders: tuple[str, ...]
    single_run: bool = False
    #: Served by the latency server (every answer LATENCY_S late).
    latency: bool = False

    @property
    def is_memory(self) -> bool:
        """Reported as peak RSS growth rather than as a speed table."""
        return self.key in {"memory", "latency_memory"}


SETS = (
    BenchSet(
        "100k_p100",
        "100,000 records, pages of 100 (1,001 requests)",
        ("items_100k_p100",),
        cn.ALL,
    ),
    BenchSet(
        "100k_p1000",
        "100,000 records, pages of 1,000 (101 requests)",
        ("items_100k_p1000",),
        cn.ALL,
    ),
    BenchSet(
        "pc",
        "Parent-child: 1,000 parents + 5,000 children (1,011 requests)",
        (PC_DATASET,),
        (cn.FLOOR, cn.FLOOR_ORJSON, cn.SDK, cn.GENERATED),
    ),
    BenchSet(
        "memory",
        "Memory: 10,000 vs 1,000,000 records, pages of 1,000 (1 run each)",
        (MEMORY_SMALL, MEMORY_LARGE),
        (cn.FLOOR_ORJSON, cn.GENERATED),
        single_run=True,
    ),
    BenchSet(
        "latency_p100",
        "Latency 100 ms per request: 5,000 records, 50 pages of 100 (51 requests)",
        (LATENCY_ITEMS,),
        cn.LATENCY_ALL,
        latency=True,
    ),
    BenchSet(
        "latency_pc",
        "Latency 100 ms per request: 100 parents in pages of 10 + 1 child page each "
        "(111 requests)",
        (PC100_DATASET,),
        tuple(c for c in cn.LATENCY_ALL if c != cn.MSDK),
        latency=True,
    ),
    BenchSet(
        "latency_memory",
        "Latency 100 ms per request, memory with prefetch: 1,000 vs 100,000 records, "
        "pages of 100 (1 run each)",
        LATENCY_MEMORY,
        (cn.GENERATED_C8,),
        single_run=True,
        latency=True,
    ),
)
