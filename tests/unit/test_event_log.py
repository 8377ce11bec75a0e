"""The recovery log of one node: what it can replay, in order and once, and when it must say it cannot."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.outbound.event_log import LocalEventLog, encode_logged


def log_of(per_room: int = 100, window: float = 60.0) -> LocalEventLog:
    return LocalEventLog(per_room, window, "epoch")


def test_the_offset_is_the_last_argument_of_the_packet() -> None:
    assert encode_logged("/", "caption_progress", {"n": 1}, 7) == '2["caption_progress",{"n":1},"7"]'
    assert encode_logged("/admin", "admin_alert", {}, 12) == '2/admin,["admin_alert",{},"12"]'


def test_a_socket_in_two_rooms_gets_an_event_sent_to_both_once() -> None:
    log = log_of()
    log.append(1, "/", ["user_1", "user_1_captions"], "a", 0.0)
    log.append(2, "/", ["user_2"], "b", 0.0)
    log.append(3, "/", ["user_1"], "c", 0.0)
    entries = log.since("/", {"user_1": 0, "user_1_captions": 0}, 0)
    assert entries is not None and [e.seq for e in entries] == [1, 3]
    assert log.since("/", {"user_1": 0}, 1) is not None and [
        e.text for e in log.since("/", {"user_1": 0}, 1) or []
    ] == ["c"]


def test_events_before_a_room_was_joined_are_not_replayed() -> None:
    log = log_of()
    log.append(1, "/", ["user_9_captions"], "before", 0.0)
    log.append(2, "/", ["user_9_captions"], "after", 0.0)
    assert [e.text for e in log.since("/", {"user_9_captions": 1}, 0) or []] == ["after"]


def test_an_evicted_range_cannot_be_honoured_but_an_older_eviction_can() -> None:
    log = log_of(per_room=2)
    for seq in range(1, 6):
        log.append(seq, "/", ["user_1"], str(seq), 0.0)
    assert log.since("/", {"user_1": 0}, 1) is None  # 2 and 3 are gone
    assert [e.seq for e in log.since("/", {"user_1": 0}, 3) or []] == [4, 5]


def test_entries_older_than_the_window_are_evicted() -> None:
    log = log_of(window=10.0)
    log.append(1, "/", ["user_1"], "old", 0.0)
    log.append(2, "/", ["user_1"], "new", 20.0)
    assert log.since("/", {"user_1": 0}, 0) is None
    assert [e.text for e in log.since("/", {"user_1": 0}, 1) or []] == ["new"]


def test_a_quiet_room_keeps_a_long_lived_connection_recoverable_whatever_others_send() -> None:
    # node's #5282: hours of connection. Here a connection that began at position 1 and saw nothing
    # since recovers while other rooms' traffic goes past, for as long as its own room stays quiet.
    log = log_of(per_room=3, window=60.0)
    log.append(1, "/", ["user_1"], "seen", 0.0)
    for seq in range(2, 500):
        log.append(seq, "/", [f"user_{seq % 7 + 2}"], "other", seq * 10.0)
    assert log.since("/", {"user_1": 0}, 1) == []


def test_a_restarted_log_honours_nothing_before_its_restart() -> None:
    log = log_of()
    log.append(1, "/", ["user_1"], "a", 0.0)
    log.restart("new-epoch", 40)
    assert log.since("/", {"user_1": 0}, 1) is None
    assert log.since("/", {"user_1": 0}, 40) == [] and log.epoch == "new-epoch"


@settings(deadline=None)  # a loaded machine must not fail a property that holds
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.sampled_from(["a", "b", "c"])), max_size=60), st.data())
def test_a_replay_is_exactly_the_missed_events_of_the_rooms_in_order(
    targets: list[tuple[str, str]], data: st.DataObject
) -> None:
    log = log_of(per_room=1000)
    for seq, rooms in enumerate(targets, start=1):
        log.append(seq, "/", list(rooms), str(seq), 0.0)
    mine = data.draw(st.sets(st.sampled_from(["a", "b", "c"]), min_size=1))
    after = data.draw(st.integers(0, len(targets)))
    entries = log.since("/", dict.fromkeys(mine, 0), after)
    expected = [seq for seq, rooms in enumerate(targets, start=1) if seq > after and set(rooms) & mine]
    assert entries is not None and [e.seq for e in entries] == expected
