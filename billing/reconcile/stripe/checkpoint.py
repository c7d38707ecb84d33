"""How far a read of Stripe's invoices got, so a second read continues where it stopped.

Stripe lists invoices newest first and pages with ``starting_after=<invoice id>``: the id
of the last invoice handed to the caller is a complete cursor. A checkpoint holds it for
one window (created range and customer); used with another window it refuses rather than
skip invoices. With a ``path`` it is saved (atomically) when a page is done, when the read
fails and when it ends, so ``dockyard reconcile`` can resume in a new process.

Resuming only helps a caller that kept what it did with the invoices already read (the
same process, or state it saved itself): the stream never yields them again.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from billing.errors import CheckpointMismatch, UnreadableCheckpoint


def window_name(start: datetime, end: datetime, customer: str | None = None) -> str:
    name = f"invoices created {start.isoformat()} to {end.isoformat()}"
    return f"{name} of customer {customer}" if customer else name


def checkpoint_file(var_dir: Path, period: str, customer: str | None = None) -> Path:
    """Where ``dockyard reconcile`` keeps the checkpoint of one period (and customer)."""
    suffix = f"-{customer}" if customer else ""
    return var_dir / "reconcile" / f"{period}{suffix}.checkpoint.json"


@dataclass
class Checkpoint:
    window: str | None = None  # set by the first read that uses it
    after: str | None = None  # the last invoice id yielded: Stripe's ``starting_after``
    read: int = 0  # invoices yielded so far, over every read with this checkpoint
    complete: bool = False  # the window was read to its end
    path: Path | None = None

    @classmethod
    def at(cls, path: Path) -> Checkpoint:
        """The checkpoint saved in ``path``, or a fresh one that will be saved there."""
        if not path.exists():
            return cls(path=path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                window=data["window"],
                after=data["after"],
                read=int(data["read"]),
                complete=bool(data["complete"]),
                path=path,
            )
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise UnreadableCheckpoint(path, f"{type(error).__name__}: {error}") from None

    def bind(self, window: str) -> None:
        if self.window is None:
            self.window = window
        elif self.window != window:
            raise CheckpointMismatch(self.window, window, self.path)

    def advance(self, invoice_id: str) -> None:
        self.after = invoice_id
        self.read += 1

    def finish(self) -> None:
        self.complete = True
        self.save()

    def save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "window": self.window,
            "after": self.after,
            "read": self.read,
            "complete": self.complete,
        }
        partial = self.path.with_name(self.path.name + ".partial")
        partial.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        os.replace(partial, self.path)  # never half a checkpoint, even if killed mid-write

    def clear(self) -> None:
        """Forget the position (and the file): the next read starts from the beginning."""
        self.window, self.after, self.read, self.complete = None, None, 0, False
        if self.path is not None:
            self.path.unlink(missing_ok=True)
