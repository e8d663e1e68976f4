"""Fault injection for the demo API: transient failures a tap must survive.

A :class:`FaultPlan` says how often (``rate``: the fraction of requests that
fail, spread evenly), which kinds, and with which seed (where the spread starts
and which kind each fault is); the same plan and request order give the same
faults. A request never
fails more than ``max_in_a_row`` times in a row, so a tap that retries enough
always gets through. ``fail_after`` makes an endpoint fail for good after some
successful answers, to test how a sync ends and resumes.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass, field

#: Every transient fault the demo API can inject.
FAULT_KINDS = (
    "429",  # Too Many Requests, Retry-After in seconds
    "429-date",  # Too Many Requests, Retry-After as an HTTP date
    "500",
    "502",
    "503",
    "reset",  # the connection is reset before any answer
    "slow",  # the answer comes after FaultPlan.slow_seconds
    "truncated",  # 200 with half a JSON body
    "not-json",  # 200 with an HTML page
    "empty",  # 200 with an empty body
)

#: The permanent failure ``fail_after`` switches an endpoint to.
PERMANENT = "permanent"


@dataclass(frozen=True)
class FaultPlan:
    """How the demo API misbehaves."""

    rate: float = 0.0
    seed: int = 0
    kinds: tuple[str, ...] = FAULT_KINDS
    slow_seconds: float = 1.5
    max_in_a_row: int = 2
    #: Path suffix -> successful answers before every later request gets a 500.
    fail_after: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = set(self.kinds) - set(FAULT_KINDS)
        if unknown or not 0.0 <= self.rate <= 1.0:
            msg = f"bad fault plan: rate {self.rate}, unknown kinds {sorted(unknown)}"
            raise ValueError(msg)


class FaultInjector:
    """Decides, request by request, which fault (if any) to inject."""

    def __init__(self, plan: FaultPlan) -> None:
        self.plan = plan
        self._random = random.Random(plan.seed)  # noqa: S311 - test data, not crypto
        self._lock = threading.Lock()
        self._streaks: Counter[str] = Counter()
        self._served: Counter[str] = Counter()
        # Faults are spread evenly: one each time the credit reaches 1, so the
        # fraction of failed requests is the rate, from a seeded starting point.
        self._credit = self._random.random()
        self.injected: Counter[str] = Counter()

    def choose(self, key: str, path: str) -> str | None:
        """The fault for this request (``key`` identifies it across retries)."""
        with self._lock:
            if fault := self._permanent(path):
                return fault
            if self._streaks[key] >= self.plan.max_in_a_row:
                self._streaks[key] = 0
                return None
            self._credit += self.plan.rate
            if self._credit >= 1.0:
                self._credit -= 1.0
                kind = self._random.choice(self.plan.kinds)
                self._streaks[key] += 1
                self.injected[kind] += 1
                return kind
            self._streaks[key] = 0
            return None

    def _permanent(self, path: str) -> str | None:
        for suffix, allowed in self.plan.fail_after.items():
            if path.endswith(suffix):
                if self._served[suffix] >= allowed:
                    self.injected[PERMANENT] += 1
                    return PERMANENT
                self._served[suffix] += 1
        return None
