"""Properties of the sliding-log limiter and the connection slots, on a fake clock."""

from __future__ import annotations

import bisect

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.rate_limit import ConnectionSlots, RateRule, SlidingLog

gaps = st.lists(st.floats(min_value=0.0, max_value=5.0, allow_nan=False), min_size=1, max_size=300)
rules = st.builds(RateRule, st.integers(min_value=1, max_value=20), st.floats(min_value=0.5, max_value=30.0))


def times_from(deltas: list[float]) -> list[float]:
    now, out = 1000.0, []
    for d in deltas:
        now += d
        out.append(now)
    return out


@given(rules, gaps)
@settings(max_examples=300)
def test_never_more_than_limit_accepted_in_any_window(rule: RateRule, deltas: list[float]) -> None:
    log = SlidingLog()
    accepted = [t for t in times_from(deltas) if log.hit(rule, t).allowed]
    for i, start in enumerate(accepted):
        # hits in [start, start + window)
        end = bisect.bisect_left(accepted, start + rule.window, lo=i)
        assert end - i <= rule.limit


@given(rules, gaps)
def test_a_client_within_the_limit_is_never_refused(rule: RateRule, deltas: list[float]) -> None:
    times = times_from(deltas)
    # keep only hits that leave the stream within the limit in every window (greedy, oblivious to the limiter)
    kept: list[float] = []
    for t in times:
        start = bisect.bisect_right(kept, t - rule.window)
        if len(kept) - start < rule.limit:
            kept.append(t)
    log = SlidingLog()
    assert all(log.hit(rule, t).allowed for t in kept)


@given(rules, gaps)
def test_refused_hits_change_nothing(rule: RateRule, deltas: list[float]) -> None:
    """A log fed every hit behaves exactly like one fed only the hits it accepted."""
    times = times_from(deltas)
    log, twin = SlidingLog(), SlidingLog()
    for t in times:
        decision = log.hit(rule, t)
        if decision.allowed:
            assert twin.hit(rule, t).allowed
        else:
            assert decision.remaining == 0 and decision.reset_at > t
    for k in range(rule.limit + 1):
        probe = times[-1] + k * 0.001
        assert log.hit(rule, probe) == twin.hit(rule, probe)


@given(rules, st.lists(st.tuples(st.sampled_from("abc"), st.floats(0, 3, allow_nan=False)), max_size=200))
def test_keys_never_affect_each_other(rule: RateRule, hits: list[tuple[str, float]]) -> None:
    shared: dict[str, SlidingLog] = {}
    alone: dict[str, SlidingLog] = {}
    now = 0.0
    for key, delta in hits:
        now += delta
        together = shared.setdefault(key, SlidingLog()).hit(rule, now)
        separate = alone.setdefault(key, SlidingLog()).hit(rule, now)
        assert together == separate


def test_a_cost_larger_than_the_limit_is_refused_and_counts_nothing() -> None:
    rule = RateRule(3, 10)
    log = SlidingLog()
    assert not log.hit(rule, 0, cost=4).allowed
    assert len(log) == 0
    assert [log.hit(rule, 1).allowed for _ in range(4)] == [True, True, True, False]
    assert log.hit(rule, 11).allowed  # the first hit (t=1) left the window at t=11


def test_a_clock_stepping_back_does_not_reopen_the_window() -> None:
    rule = RateRule(2, 10)
    log = SlidingLog()
    assert log.hit(rule, 100).allowed and log.hit(rule, 100).allowed
    assert not log.hit(rule, 50).allowed


ops = st.lists(st.tuples(st.sampled_from(["acquire", "release"]), st.sampled_from("uv"), st.sampled_from("abcdefg")))


@given(st.integers(min_value=1, max_value=5), ops)
def test_connection_slots_stay_within_cap_and_never_negative(cap: int, steps: list[tuple[str, str, str]]) -> None:
    slots = ConnectionSlots(cap)
    model: dict[str, set[str]] = {"u": set(), "v": set()}
    for op, key, holder in steps:
        if op == "acquire":
            ok = slots.acquire(key, holder)
            expected = holder in model[key] or len(model[key]) < cap
            assert ok == expected
            if ok:
                model[key].add(holder)
        else:
            slots.release(key, holder)
            model[key].discard(holder)
        for k in model:
            assert 0 <= slots.count(k) == len(model[k]) <= cap
