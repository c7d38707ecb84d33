"""The engine's output of a process run without a terminal: stdout and stderr
multiplexed in frames of an 8-byte header (stream, three zero bytes, a big-endian
length) and the payload. Read here incrementally, as bytes arrive."""

from __future__ import annotations

import struct

STDOUT, STDERR = 1, 2
HEADER = struct.Struct(">BxxxL")


class FrameReader:
    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        """The frames ``data`` completes, as (stream, payload); the rest is kept."""
        self._buffer += data
        frames: list[tuple[int, bytes]] = []
        while len(self._buffer) >= HEADER.size:
            stream, length = HEADER.unpack_from(self._buffer)
            end = HEADER.size + length
            if len(self._buffer) < end:
                break
            frames.append((stream, bytes(self._buffer[HEADER.size : end])))
            del self._buffer[:end]
        return frames
