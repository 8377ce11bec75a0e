"""RefusalBackoff: a streak of refusals of one client waits longer each time, then is refused at the door."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.refusals import RefusalBackoff


def test_first_at_once_then_doubling_up_to_the_cap_then_refused() -> None:
    backoff = RefusalBackoff(base=1.0, cap=4.0, window=60.0, limit=5)
    delays = [backoff.next("ip|/|-", 100.0 + i) for i in range(6)]
    assert delays == [0.0, 1.0, 2.0, 4.0, 4.0, None]


def test_a_quiet_window_ends_the_streak_and_keys_are_separate() -> None:
    backoff = RefusalBackoff(base=1.0, cap=8.0, window=10.0, limit=2)
    assert backoff.next("a", 0.0) == 0.0
    assert backoff.next("a", 1.0) == 1.0
    assert backoff.next("b", 1.0) == 0.0  # another client is not slowed down
    assert backoff.next("a", 2.0) is None
    assert backoff.next("a", 12.5) == 0.0  # quiet for longer than the window


def test_the_number_of_streaks_is_bounded() -> None:
    backoff = RefusalBackoff(max_keys=3)
    for i in range(10):
        backoff.next(f"k{i}", float(i))
    assert len(backoff) == 3


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError):
        RefusalBackoff(limit=0)


@given(st.lists(st.floats(min_value=0, max_value=1000, allow_nan=False), min_size=1, max_size=50))
def test_never_a_negative_or_over_cap_delay(gaps: list[float]) -> None:
    backoff = RefusalBackoff(base=0.5, cap=3.0, window=5.0, limit=4)
    now = 0.0
    for gap in gaps:
        now += gap
        delay = backoff.next("k", now)
        assert delay is None or 0.0 <= delay <= 3.0
