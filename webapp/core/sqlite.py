"""SQLite connection settings for the embedded default.

Foreign keys on; write-ahead log so readers never wait for the writer. The
driver's own implicit transactions are replaced by explicit ones: a request
that may write (any non-GET) and every job begins `BEGIN IMMEDIATE`, taking
the write lock up front and waiting up to the busy timeout for it, instead of
failing half-way when a read transaction cannot be upgraded. Reads begin a
plain deferred transaction and never block.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import event
from sqlalchemy.engine import Engine

_write_intent: ContextVar[bool] = ContextVar("smepulse_sqlite_write_intent", default=True)


def set_write_intent(value: bool):
    return _write_intent.set(value)


def reset_write_intent(token) -> None:
    _write_intent.reset(token)


@contextmanager
def write_intent(value: bool):
    """Transactions begun inside the block take the write lock up front (or not)."""
    token = _write_intent.set(value)
    try:
        yield
    finally:
        _write_intent.reset(token)


def _is_sqlite(dbapi_connection) -> bool:
    return type(dbapi_connection).__module__.startswith("sqlite3")


def install() -> None:
    if getattr(install, "done", False):
        return
    install.done = True

    @event.listens_for(Engine, "connect")
    def _pragmas(dbapi_connection, connection_record):
        if not _is_sqlite(dbapi_connection):
            return
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(Engine, "begin")
    def _begin(conn):
        if conn.dialect.name != "sqlite":
            return
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _write_intent.get() else "BEGIN")
