"""The parallel run's order: every test kept once, shares of worksteal's sizes with about equal seconds."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.run_order import balanced


def _shares(order: list[int], workers: int) -> list[list[int]]:
    """`order` cut the way worksteal first sends it: each idle worker an even part of what is left."""
    shares, left = [], list(order)
    for remaining in range(workers, 0, -1):
        size = len(left) // remaining
        shares.append(left[:size])
        left = left[size:]
    return shares


@given(st.lists(st.sampled_from([0.3, 0.3, 0.3, 1.0, 5.0, 28.0]), max_size=200), st.integers(1, 8))
def test_every_test_runs_once_and_each_share_starts_with_its_longest(weights: list[float], workers: int) -> None:
    order = balanced(list(range(len(weights))), workers, weights.__getitem__)
    assert sorted(order) == list(range(len(weights)))
    for share in _shares(order, workers):
        assert [weights[i] for i in share] == sorted((weights[i] for i in share), reverse=True)
        assert share == sorted(share, key=lambda i: (-weights[i], i))  # equal weights: the collection order


def test_the_long_tests_are_spread_over_the_shares() -> None:
    weights = [28.0, 22.0, 16.0, 12.0] + [0.3] * 96  # collected together, as a module's tests are
    shares = _shares(balanced(list(range(100)), 4, weights.__getitem__), 4)
    assert [share[0] for share in shares] == [0, 1, 2, 3]
    loads = [sum(weights[i] for i in share) for share in shares]
    assert max(loads) - min(loads) <= 28.0  # a contiguous cut would give one share all four (78 s against 7 s)
