"""PostgreSQL: a transaction's BEGIN travels with its first statement.

psycopg begins a transaction by sending BEGIN on its own and waiting for the
answer before it sends the first statement: one round trip of every request,
for nothing (a page's statements wait on several round trips already, and on
a small virtual machine each costs ~0.1-0.2 ms, most of it the idle CPU waking
up to read the answer).

So on PostgreSQL the app's connections are in psycopg's autocommit mode
(psycopg sends no BEGIN of its own) and the BEGIN is the app's: when
SQLAlchemy begins a transaction (its `begin` event, before any statement),
the connection is marked; the first statement sent on it, through SQLAlchemy
(the `do_execute` events) or in a `core.pipeline`, goes in one pipeline with
the BEGIN before it: one round trip for both. COMMIT and ROLLBACK are
psycopg's own, which look at the server's transaction status (in a
transaction: sent; not in one, because no statement ran: nothing to send).
The BEGIN carries what psycopg's would: the connection's `isolation_level`,
`read_only` (`core.readonly`) and `deferrable`.

A statement sent while no transaction was begun by SQLAlchemy (the pool's
ping of an idle connection) runs on its own, as autocommit does; nothing of
the app writes that way. A connection whose isolation level SQLAlchemy sets
(execution_options(isolation_level=...)) leaves autocommit mode and begins
as psycopg does; the mark is then ignored, so nothing is begun twice.
"""
from __future__ import annotations

from sqlalchemy import event

_MARK = "_smepulse_begin"


def start_command(raw) -> str:
    """The BEGIN psycopg would send for this connection's settings."""
    parts = ["BEGIN"]
    if raw.isolation_level is not None:
        parts.append("ISOLATION LEVEL " + raw.isolation_level.name.replace("_", " "))
    if raw.read_only is not None:
        parts.append("READ ONLY" if raw.read_only else "READ WRITE")
    if raw.deferrable is not None:
        parts.append("DEFERRABLE" if raw.deferrable else "NOT DEFERRABLE")
    return " ".join(parts)


def take(raw) -> str | None:
    """The BEGIN to send before the next statement on this psycopg connection, once (None: none)."""
    if not getattr(raw, _MARK, False):
        return None
    setattr(raw, _MARK, False)
    if not raw.autocommit:
        return None            # psycopg begins this one itself
    return start_command(raw)


def _with_begin(cursor, begin: str, send) -> None:
    raw = cursor.connection
    with raw.pipeline():
        raw.execute(begin)
        send()


def install(engine) -> None:
    if engine.dialect.name != "postgresql":
        return

    @event.listens_for(engine, "connect")
    def _autocommit(dbapi_connection, record):
        dbapi_connection.autocommit = True

    @event.listens_for(engine, "begin")
    def _mark(conn):
        setattr(conn.connection.driver_connection, _MARK, True)

    def _unmark(conn):
        setattr(conn.connection.driver_connection, _MARK, False)
    event.listen(engine, "commit", _unmark)
    event.listen(engine, "rollback", _unmark)

    @event.listens_for(engine, "checkin")
    def _returned(dbapi_connection, record):
        if dbapi_connection is not None:
            setattr(dbapi_connection, _MARK, False)

    @event.listens_for(engine, "do_execute")
    def _execute(cursor, statement, parameters, context):
        begin = take(cursor.connection)
        if begin is None:
            return None        # SQLAlchemy sends it as usual
        _with_begin(cursor, begin, lambda: cursor.execute(statement, parameters))
        return True

    @event.listens_for(engine, "do_execute_no_params")
    def _execute_no_params(cursor, statement, context):
        begin = take(cursor.connection)
        if begin is None:
            return None
        _with_begin(cursor, begin, lambda: cursor.execute(statement))
        return True

    @event.listens_for(engine, "do_executemany")
    def _executemany(cursor, statement, parameters, context):
        begin = take(cursor.connection)
        if begin is None:
            return None
        _with_begin(cursor, begin, lambda: cursor.executemany(statement, parameters))
        return True
