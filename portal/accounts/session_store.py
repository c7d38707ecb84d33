"""Sessions kept in the database, so that ending one is real.

litestar's server-side sessions keep only a random id in the browser's cookie; the data
lives here, one ``web_sessions`` row per signed-in browser. Deleting the row signs that
browser out whatever its cookie says: at sign-out, at a new password, and when the owner
or an operator signs an account out everywhere.

- Rows are keyed by the sha256 of the cookie's id: the table alone opens no session.
- Only signed-in sessions are kept (a session holding a ``uid``); a visitor's empty one
  is never written, so browsing the public pages writes nothing.
- litestar stores the session on every response; a row is rewritten only when its data
  changed or it was last seen more than ``SEEN_EVERY`` ago, so a signed-in page costs
  one read, not a write.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta

from litestar.stores.base import Store
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from portal.accounts.models import WebSession

SEEN_EVERY = timedelta(minutes=5)


def session_key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _seconds(value: int | timedelta | None, default: timedelta) -> timedelta:
    if value is None:
        return default
    return value if isinstance(value, timedelta) else timedelta(seconds=value)


class DatabaseSessionStore(Store):
    """litestar's ``Store`` over the ``web_sessions`` table. The app makes it before its
    database opens (in the lifespan), which then hands it ``factory``."""

    def __init__(self, clock: Callable[[], datetime], lifetime: int) -> None:
        self.factory: async_sessionmaker[AsyncSession] | None = None
        self.clock = clock
        self.lifetime = timedelta(seconds=lifetime)

    def _open(self) -> AsyncSession:
        if self.factory is None:
            raise RuntimeError("the session store was used before the database opened")
        return self.factory()

    async def set(
        self, key: str, value: str | bytes, expires_in: int | timedelta | None = None
    ) -> None:
        data = value.encode() if isinstance(value, str) else value
        content = _content(data)
        user_id = content.get("uid")
        now = self.clock()
        async with self._open() as session, session.begin():
            row = await session.get(WebSession, session_key(key))
            if not isinstance(user_id, str):  # a visitor's session: nothing to keep
                if row is not None:
                    await session.delete(row)
                return
            expires = now + _seconds(expires_in, self.lifetime)
            if row is None:
                session.add(
                    WebSession(
                        id=session_key(key),
                        user_id=user_id,
                        data=data,
                        user_agent=str(content.get("ua", ""))[:200],
                        created_at=now,
                        last_seen_at=now,
                        expires_at=expires,
                    )
                )
            elif row.data != data or row.last_seen_at < now - SEEN_EVERY:
                row.data, row.last_seen_at, row.expires_at = data, now, expires

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        async with self._open() as session:
            row = await session.get(WebSession, session_key(key))
            if row is None or row.expires_at <= self.clock():
                return None
            return row.data

    async def delete(self, key: str) -> None:
        async with self._open() as session, session.begin():
            await session.execute(delete(WebSession).where(WebSession.id == session_key(key)))

    async def delete_all(self) -> None:
        async with self._open() as session, session.begin():
            await session.execute(delete(WebSession))

    async def exists(self, key: str) -> bool:
        return await self.get(key) is not None

    async def expires_in(self, key: str) -> int | None:
        async with self._open() as session:
            expires = await session.scalar(
                select(WebSession.expires_at).where(WebSession.id == session_key(key))
            )
        if expires is None:
            return None
        return max(0, int((expires - self.clock()).total_seconds()))


def _content(data: bytes) -> dict[str, object]:
    try:
        content = json.loads(data) if data else {}
    except ValueError:
        return {}
    return content if isinstance(content, dict) else {}
