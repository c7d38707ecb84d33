"""A hosting plan's ``backups:`` block: when its data is backed up and how many to keep.

    backups: {daily_at: "03:00", keep: 7}     # once a day, at 03:00 UTC
    backups: {every_hours: 6, keep: 12}       # every 6 hours

Exactly one of ``daily_at`` and ``every_hours``; ``keep`` defaults to 7. A plan without
the block gets ``DEFAULT_BACKUPS`` (daily at 03:00 UTC, keep 7).
"""

from __future__ import annotations

from plans import reader as r
from plans.model import DEFAULT_BACKUPS, BackupPolicy

BACKUP_KEYS = ("daily_at", "every_hours", "keep")
MAX_KEEP = 1000


def parse_backups(where: r.Field) -> BackupPolicy | None:
    section = r.Section(where, BACKUP_KEYS)
    if not isinstance(where.node, r.Mapping):
        return None
    keep = section.optional("keep", r.integer(1, MAX_KEEP), DEFAULT_BACKUPS.keep)
    daily = section.optional("daily_at", r.clock_time, None)
    every = section.optional("every_hours", r.integer(1, 24 * 7), None)
    unknown = any(key.text not in BACKUP_KEYS for key, _ in where.node.entries)
    broken = unknown or any(
        section.has(key) and value is None
        for key, value in (("keep", keep), ("daily_at", daily), ("every_hours", every))
    )
    if broken or keep is None:
        return None
    if section.has("daily_at") == section.has("every_hours"):
        where.fail(
            "say when backups are taken with exactly one of daily_at (a UTC time such as "
            '"03:00") or every_hours (a whole number of hours)'
        )
        return None
    return BackupPolicy(keep=keep, daily_at=daily, every_hours=every)
