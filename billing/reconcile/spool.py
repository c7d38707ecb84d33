"""The invoices a reconciliation has read so far, on disk, one JSON line each.

Stripe is read page by page and the checkpoint only says where to go on. A run that stops
halfway (a network error, Ctrl-C) must not forget what it already read, or the resumed
run would report only the second half; so every invoice read is appended here first, and
a resumed run replays the file before reading on. Replaying streams the file: memory
stays one invoice, plus the set of ids that drops an invoice read twice around a crash.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from billing.reconcile.lines import ActualInvoice, ActualLine, LineKind


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} in the spool")


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _line(data: dict[str, Any]) -> ActualLine:
    return ActualLine(
        **{
            **data,
            "kind": LineKind(data["kind"]),
            "period_start": datetime.fromisoformat(data["period_start"]),
            "period_end": datetime.fromisoformat(data["period_end"]),
        }
    )


def _invoice(data: dict[str, Any]) -> ActualInvoice:
    created = _moment(data["created"])
    assert created is not None
    return ActualInvoice(
        **{
            **data,
            "created": created,
            "due_date": _moment(data["due_date"]),
            "lines": tuple(_line(line) for line in data["lines"]),
            "credit_notes": tuple(data.get("credit_notes", ())),
        }
    )


class Spool:
    def __init__(self, path: Path) -> None:
        self.path = path

    def replay(self) -> Iterator[ActualInvoice]:
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8") as lines:
            for number, text in enumerate(lines, start=1):
                if not text.strip():
                    continue
                try:
                    yield _invoice(json.loads(text))
                except (ValueError, KeyError, TypeError) as error:
                    # A line cut short by a crash mid-write: that invoice is read again.
                    if number > 0 and not text.endswith("\n"):
                        return
                    raise ValueError(f"{self.path}:{number}: unreadable ({error})") from None

    def append(self, invoice: ActualInvoice) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(asdict(invoice), default=_encode) + "\n")

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
