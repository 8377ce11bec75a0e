"""FrameCork: the frames of one writer wake-up leave in one write, in order, control frames at once."""

from __future__ import annotations

from adapters.inbound.frame_cork import FrameCork


class Transport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closing


class Writer:
    def __init__(self) -> None:
        self.transport: object = Transport()


def test_held_frames_leave_in_one_write_in_order() -> None:
    writer = Writer()
    real = writer.transport
    cork = FrameCork(writer)
    cork.hold()
    writer.transport.write(b"\x81\x02a1")  # type: ignore[attr-defined]
    writer.transport.write(b"\x81\x02b2")  # type: ignore[attr-defined]
    assert isinstance(real, Transport) and real.writes == []
    cork.release()
    assert real.writes == [b"\x81\x02a1\x81\x02b2"] and writer.transport is real
    cork.release()  # nothing held: nothing written
    assert len(real.writes) == 1


def test_a_control_frame_goes_out_at_once_after_what_was_held() -> None:
    writer = Writer()
    real = writer.transport
    cork = FrameCork(writer)
    cork.hold()
    writer.transport.write(b"\x81\x01x")  # type: ignore[attr-defined]
    writer.transport.write(b"\x88\x02\x03\xe8")  # type: ignore[attr-defined]  # close 1000
    assert isinstance(real, Transport) and real.writes == [b"\x81\x01x\x88\x02\x03\xe8"]
    assert writer.transport is real


def test_nothing_is_written_to_a_closing_transport() -> None:
    writer = Writer()
    real = writer.transport
    assert isinstance(real, Transport)
    cork = FrameCork(writer)
    cork.hold()
    writer.transport.write(b"\x81\x01x")  # type: ignore[attr-defined]
    real.closing = True
    cork.release()
    assert real.writes == []
