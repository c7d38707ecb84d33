"""Sessions kept in the database, so that ending one is real.

litestar's server-side sessions keep only a random id in the browser's cookie; the data
lives here, one ``web_sessions`` row per signed-in browser. Deleting the row signs that
browser out whatever its cookie says: at sign-out, at a new password, and when the owner
or an operator signs an account out everywhere.

- Rows are keyed by the sha256 of the cookie's id: the table alone opens no session.
- Only signed-in sessions are kept (a session holding a ``uid``); a visitor's empty one
  is never written, so browsing the public pages writes nothing.
- A request reads its row once, at its start (``get``), with the row's user in the same
  query (``read_here``: the viewer needs no query of its own). litestar stores the
  session on every response; ``set`` compares with what that read found, so a row is
  rewritten only when its data changed or it was last seen more than ``SEEN_EVERY``
  ago, and a signed-in page costs that one read, neither a second read nor a write.
- Every request reads the row again: a row ended elsewhere (sign-out everywhere, a new
  password) ends the session at the next request, whichever process serves it; and a
  row ended while a request was running is not written back by that request's ``set``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta

from litestar.stores.base import Store
from sqlalchemy import bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from portal.accounts.models import User, WebSession

SEEN_EVERY = timedelta(minutes=5)


def session_key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _seconds(value: int | timedelta | None, default: timedelta) -> timedelta:
    if value is None:
        return default
    return value if isinstance(value, timedelta) else timedelta(seconds=value)


@dataclass(frozen=True, slots=True)
class SessionRead:
    """A ``web_sessions`` row as this request's ``get`` found it, with its user (None:
    the user is gone). ``live``: not expired when read."""

    data: bytes
    user_id: str
    user: User | None
    last_seen_at: datetime
    live: bool


@dataclass(frozen=True, slots=True)
class _Read:
    key: str  # the cookie's session id
    row: SessionRead | None  # None: no row


# What ``get`` found, for the rest of the same request (each request runs in a task of
# its own, so this never reaches another request; ``key`` is checked all the same).
_READ: ContextVar[_Read | None] = ContextVar("dockyard_session_read", default=None)


def read_here() -> SessionRead | None:
    """The session row (and its user) read at the start of this request, if any."""
    read = _READ.get()
    return read.row if read is not None else None


# A session's row and its user in one query, built once (building costs more than running).
_ROW_AND_USER = (
    select(
        WebSession.data,
        WebSession.user_id,
        WebSession.last_seen_at,
        WebSession.expires_at,
        User,
    )
    .outerjoin(User, User.id == WebSession.user_id)
    .where(WebSession.id == bindparam("key"))
)


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
        read = _READ.get()
        seen = read if read is not None and read.key == key else None
        if seen is not None:
            _READ.set(None)
            if not isinstance(user_id, str) and seen.row is None:
                return  # a visitor's session, and no row to delete: nothing to do
            if isinstance(user_id, str) and _unchanged(seen.row, data, now):
                return
        async with self._open() as session, session.begin():
            row = await session.get(WebSession, session_key(key))
            if not isinstance(user_id, str):  # a visitor's session: nothing to keep
                if row is not None:
                    await session.delete(row)
                return
            expires = now + _seconds(expires_in, self.lifetime)
            if row is None:
                if seen is not None and seen.row is not None:
                    return  # ended while this request ran (signed out everywhere): stays so
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
            found = (await session.execute(_ROW_AND_USER, {"key": session_key(key)})).first()
        if found is None:
            _READ.set(_Read(key, None))
            return None
        data, user_id, last_seen_at, expires_at, user = found
        live = expires_at > self.clock()
        _READ.set(_Read(key, SessionRead(data, user_id, user, last_seen_at, live)))
        return data if live else None

    async def delete(self, key: str) -> None:
        read = _READ.get()
        if read is not None and read.key == key:
            _READ.set(_Read(key, None))
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


def _unchanged(row: SessionRead | None, data: bytes, now: datetime) -> bool:
    """Whether a signed-in session's row, as read, already holds ``data`` and was seen
    recently enough: then it is left as it is (what the database path would do too)."""
    return (
        row is not None and row.live and row.data == data and row.last_seen_at >= now - SEEN_EVERY
    )


def _content(data: bytes) -> dict[str, object]:
    try:
        content = json.loads(data) if data else {}
    except ValueError:
        return {}
    return content if isinstance(content, dict) else {}
