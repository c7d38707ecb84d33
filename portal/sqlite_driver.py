"""SQLAlchemy's aiosqlite dialect with one trip to SQLite's thread per statement.

aiosqlite runs each call on the connection in its own thread; SQLAlchemy's adapter makes
four such calls per statement (open a cursor, execute, fetch, close) and one per rollback,
even when no transaction is open, as when the pool takes back a connection that only read.
Each trip wakes a thread and the event loop again, and on a busy process that costs more
than the query: a signed-in dashboard made 28 of them (measured, see the README's speed
table). Here a statement is one trip (cursor, execute, fetch and close together, in the
thread), and a rollback or commit with nothing open is no trip at all: SQLite's own
``in_transaction``, read in the thread after each statement, says whether one is open.

Only the cursor's way of reaching the thread changes; SQL, types, isolation and errors are
SQLAlchemy's. :func:`portal.database.create_engine` uses it for every ``sqlite+aiosqlite``
URL.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from typing import Any

from sqlalchemy.connectors.asyncio import AsyncAdapt_dbapi_connection
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

DRIVER = "dockyard_aiosqlite"

# What one trip brings back: description, rows, rowcount, lastrowid, in_transaction.
_Outcome = tuple[Any, list[Any], int, int | None, bool]


def _run(connection: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> _Outcome:
    """In aiosqlite's thread: the whole statement, so the loop waits for one answer."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        else:
            cursor.execute(operation, () if parameters is None else parameters)
        rows = cursor.fetchall() if cursor.description else []
        open_now = connection.in_transaction
        return cursor.description, rows, cursor.rowcount, cursor.lastrowid, open_now
    finally:
        cursor.close()


def _finish(connection: sqlite3.Connection, commit: bool) -> None:
    if commit:
        connection.commit()
    else:
        connection.rollback()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A cursor whose statement runs in one trip; results are kept here, as the parent
    keeps fetched rows, so reading them needs no trip either."""

    __slots__ = ("_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: AsyncAdapt_dbapi_connection) -> None:
        # The parent opens an aiosqlite cursor here (a trip); a statement opens its own.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]  # None before an INSERT, as sqlite3

    @property
    def arraysize(self) -> int:
        return 1

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        pass  # every row is fetched in the statement's trip

    async def _async_soft_close(self) -> None:
        pass  # nothing stays open in the thread

    def close(self) -> None:
        self._rows.clear()

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        return self._trip(operation, parameters, many=False)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        return self._trip(operation, seq_of_parameters, many=True)

    def _trip(self, operation: Any, parameters: Any, many: bool) -> None:
        adapt = self._adapt_connection
        assert isinstance(adapt, OneTripConnection)
        try:
            outcome = await_(adapt.call(_run, operation, parameters, many))
        except Exception as error:
            adapt._handle_exception(error)
        self._description, rows, self._rowcount, self._lastrowid, adapt.open = outcome
        self._rows = deque(rows)


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    """Knows whether SQLite has a transaction open, so ending none costs nothing."""

    __slots__ = ("open",)
    _cursor_cls = OneTripCursor

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        # Unknown until the first statement says: assume open, so it is ended for sure.
        self.open = True

    def cursor(self, server_side: bool = False) -> Any:
        if server_side:  # the parent's streaming cursor: its statements are not seen here
            self.open = True
        return super().cursor(server_side)

    async def call(self, function: Any, *arguments: Any) -> Any:
        """``function(sqlite3 connection, *arguments)`` in aiosqlite's thread, one at a
        time on this connection (the parent's lock, as its cursors take it)."""
        async with self._execute_mutex:
            return await self._connection._execute(function, self._connection._conn, *arguments)

    def rollback(self) -> None:
        self._end(commit=False)

    def commit(self) -> None:
        self._end(commit=True)

    def _end(self, commit: bool) -> None:
        if not self.open or not self._connection._connection:
            return
        try:
            await_(self.call(_finish, commit))
        except Exception as error:
            self._handle_exception(error)
        self.open = False


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        adapted = super().connect(*arg, **kw)
        return OneTripConnection(self, adapted._connection)


class OneTripDialect(SQLiteDialect_aiosqlite):
    driver = DRIVER
    supports_statement_cache = True  # SQLAlchemy asks each dialect class to say so itself

    @classmethod
    def import_dbapi(cls) -> OneTripDBAPI:
        return OneTripDBAPI(__import__("aiosqlite"), __import__("sqlite3"))


registry.register(f"sqlite.{DRIVER}", __name__, "OneTripDialect")
