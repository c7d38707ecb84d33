"""The engine's multiplexed output, read as it arrives in pieces of any size."""

from __future__ import annotations

from portal.ssh.output import HEADER, STDERR, STDOUT, FrameReader


def frame(stream: int, payload: bytes) -> bytes:
    return HEADER.pack(stream, len(payload)) + payload


def test_frames_split_anywhere_come_out_whole_and_in_order() -> None:
    data = frame(STDOUT, b"hello ") + frame(STDERR, b"oops\n") + frame(STDOUT, b"world\n")
    reader = FrameReader()

    frames = [found for byte in range(len(data)) for found in reader.feed(data[byte : byte + 1])]

    assert frames == [(STDOUT, b"hello "), (STDERR, b"oops\n"), (STDOUT, b"world\n")]
    assert reader.feed(b"") == []
