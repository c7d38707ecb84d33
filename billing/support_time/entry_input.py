"""What a support entry must be to be recorded: whole minutes up to a day, a note, the
staff member, a known category, and a moment in the past given in UTC."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from billing.errors import InvalidEntry
from billing.models import EntryCategory

MAX_ENTRY_MINUTES = 24 * 60


def new_entry_id() -> str:
    return "se_" + secrets.token_hex(8)


def category_of(value: EntryCategory | str) -> EntryCategory:
    try:
        return EntryCategory(value)
    except ValueError:
        choices = ", ".join(c.value for c in EntryCategory)
        raise InvalidEntry(f"unknown category {value!r}: choose one of {choices}") from None


def validate(minutes: int, note: str, staff: str, at: datetime, now: datetime) -> None:
    if isinstance(minutes, bool) or not isinstance(minutes, int):
        raise InvalidEntry(f"minutes must be a whole number, not {minutes!r}")
    if not 1 <= minutes <= MAX_ENTRY_MINUTES:
        raise InvalidEntry(
            f"an entry is 1 to {MAX_ENTRY_MINUTES} minutes (one day), not {minutes}; "
            "log longer work as one entry per day"
        )
    if not note.strip():
        raise InvalidEntry("an entry needs a note saying what was done")
    if not staff.strip():
        raise InvalidEntry("an entry needs the name of the staff member who did the work")
    if at > now:
        raise InvalidEntry(f"worked_at {at.isoformat()} is in the future; log work once done")


def in_utc(at: datetime) -> datetime:
    """``at`` in UTC; a moment without a timezone, or one whose offset takes it off the
    calendar (year 1 at +05:00, year 9999 at -05:00), is refused as an entry error."""
    if at.tzinfo is None:
        raise InvalidEntry(f"worked_at {at.isoformat()} has no timezone; give it in UTC")
    try:
        return at.astimezone(UTC)
    except OverflowError:
        raise InvalidEntry(
            f"worked_at {at.isoformat()} is outside the calendar once in UTC"
        ) from None
