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


class BufferedTransport(Transport):
    def __init__(self) -> None:
        super().__init__()
        self.buffered = 0

    def get_write_buffer_size(self) -> int:
        return self.buffered


async def test_direct_frames_of_one_loop_turn_leave_in_one_write_at_its_end() -> None:
    import asyncio

    writer = Writer()
    real = BufferedTransport()
    writer.transport = real
    cork = FrameCork(writer)
    assert cork.write_now("42") and cork.write_now("430[]")
    assert real.writes == []
    await asyncio.sleep(0)
    assert real.writes == [b"\x81\x0242\x81\x05430[]"]


async def test_a_client_that_is_behind_gets_no_direct_frames() -> None:
    writer = Writer()
    real = BufferedTransport()
    writer.transport = real
    cork = FrameCork(writer)
    real.buffered = 10  # the kernel did not take everything: the queue (and its budget) takes over
    assert not cork.write_now("42")
    real.buffered = 0
    cork.hold()  # the writer is sending a batch: nothing may pass it
    assert not cork.write_now("42")


async def test_direct_frames_are_bounded_within_a_turn() -> None:
    writer = Writer()
    real = BufferedTransport()
    writer.transport = real
    cork = FrameCork(writer)
    big = "x" * 40_000
    assert cork.write_now(big) and cork.write_now(big)
    assert not cork.write_now(big)  # past 64 KiB in one turn: queued instead


async def test_long_frames_get_the_extended_length_header() -> None:
    import asyncio

    writer = Writer()
    real = BufferedTransport()
    writer.transport = real
    cork = FrameCork(writer)
    assert cork.write_now("y" * 300)
    await asyncio.sleep(0)
    assert real.writes[0][:4] == b"\x81\x7e\x01\x2c" and len(real.writes[0]) == 304
