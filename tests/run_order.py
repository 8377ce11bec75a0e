"""The parallel run's order: one share per worker of about equal estimated seconds (tests/conftest.py applies it)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def balanced(items: Sequence[T], workers: int, weight: Callable[[T], float]) -> list[T]:
    """`items` as `workers` consecutive shares of the sizes worksteal first sends each worker (an even split by
    count), each share holding about the same seconds, its longest tests first. A worker that finishes early
    steals from the end of another's share: short tests. Within a share, each module's tests keep their order."""
    sizes: list[int] = []
    left = len(items)
    for remaining in range(workers, 0, -1):
        sizes.append(left // remaining)
        left -= sizes[-1]
    shares: list[list[T]] = [[] for _ in sizes]
    loads = [0.0] * len(sizes)
    for item in sorted(items, key=weight, reverse=True):  # stable: equal weights keep the collection order
        share = min((i for i in range(len(shares)) if len(shares[i]) < sizes[i]), key=loads.__getitem__)
        shares[share].append(item)
        loads[share] += weight(item)
    return [item for share in shares for item in share]
