"""Reading the engine's stream on one thread while another hashes and writes it.

A backup is a socket read, checksums and a disk write in a row; done one after the
other, the disk waited for the engine and the engine for the disk. A thread reads up to
``DEPTH`` chunks ahead instead (both sides mostly wait on the kernel, without the GIL).
If the consumer stops early (a full disk), the reader stops too and closes its source,
so the engine's helper container is still removed.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
DEPTH = 8  # chunks of the engine's 2 MB: 16 MB in flight at most
_POLL_SECONDS = 0.1


@dataclass(frozen=True, slots=True)
class _Failed:
    error: BaseException


@dataclass(frozen=True, slots=True)
class _Item(Generic[T]):
    value: T


_END = object()


def read_ahead(source: Iterator[T], depth: int = DEPTH) -> Generator[T, None, None]:
    slots: queue.Queue[object] = queue.Queue(depth)
    stop = threading.Event()

    def offer(item: object) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=_POLL_SECONDS)
            except queue.Full:
                continue
            return True
        return False

    def pump() -> None:
        try:
            for value in source:
                if not offer(_Item(value)):
                    return
            offer(_END)
        except BaseException as error:  # handed to the consumer, raised there
            offer(_Failed(error))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    reader = threading.Thread(target=pump, name="dockyard-backup-read", daemon=True)
    reader.start()
    try:
        while True:
            item = slots.get()
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.error
            assert isinstance(item, _Item)
            yield item.value
    finally:
        stop.set()
        reader.join()
