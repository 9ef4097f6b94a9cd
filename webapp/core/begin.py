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
the app writes that way. Code that uses the psycopg connection directly calls
`begin_now` (or `take`, as `core.pipeline` does) before its first statement.
Where a pipeline cannot carry the first statement, the BEGIN goes on its own
first, as psycopg's did: a server-side cursor, and a statement without
parameters (it may be several, which only the simple query protocol takes).
A connection lent with `execution_options(isolation_level="AUTOCOMMIT")` gets
no BEGIN. One lent with another isolation level leaves autocommit mode (SQLAlchemy
sets the level through psycopg) and begins as psycopg does, the mark ignored;
it is put back in autocommit mode when it returns to the pool.
"""
from __future__ import annotations

import psycopg
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


def begin_now(raw) -> None:
    """Send the pending BEGIN on its own, if there is one: for code that uses the psycopg
    connection directly (not through SQLAlchemy or `core.pipeline`), before its first statement;
    without it such a statement would run in autocommit mode."""
    begin = take(raw)
    if begin is not None:
        raw.execute(begin)


def _send_after_begin(cursor, send) -> bool:
    """Send the statement behind the pending BEGIN, if any (True: sent, False: SQLAlchemy sends it).
    A server-side cursor cannot be opened in a pipeline: its BEGIN goes first, on its own."""
    raw = cursor.connection
    begin = take(raw)
    if begin is None:
        return False
    if isinstance(cursor, psycopg.ServerCursor):
        raw.execute(begin)
        return False
    with raw.pipeline():
        raw.execute(begin)
        send()
    return True


def install(engine) -> None:
    if engine.dialect.name != "postgresql":
        return

    @event.listens_for(engine, "connect")
    def _autocommit(dbapi_connection, record):
        dbapi_connection.autocommit = True

    @event.listens_for(engine, "begin")
    def _mark(conn):
        # A connection asked to run in autocommit mode gets no BEGIN: each statement commits as it runs.
        if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            return
        setattr(conn.connection.driver_connection, _MARK, True)

    def _unmark(conn):
        # An invalidated connection (lost mid-transaction) is being rolled back and will be replaced:
        # asking for its DBAPI connection would try to reconnect first, and fail.
        if conn.invalidated:
            return
        setattr(conn.connection.driver_connection, _MARK, False)
    event.listen(engine, "commit", _unmark)
    event.listen(engine, "rollback", _unmark)

    @event.listens_for(engine, "checkin")
    def _returned(dbapi_connection, record):
        if dbapi_connection is None:
            return
        setattr(dbapi_connection, _MARK, False)
        # SQLAlchemy puts back the isolation level a connection was lent with by leaving psycopg's
        # autocommit mode (psycopg would then send its own BEGIN for the rest of the connection's life).
        if not dbapi_connection.autocommit and \
                dbapi_connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
            dbapi_connection.autocommit = True
            dbapi_connection.isolation_level = None

    @event.listens_for(engine, "do_execute")
    def _execute(cursor, statement, parameters, context):
        if not parameters:
            # Without parameters the statement may be several (psycopg sends it by the simple
            # query protocol), which a pipeline does not take: the BEGIN goes first, on its own.
            begin_now(cursor.connection)
            return None
        return _send_after_begin(cursor, lambda: cursor.execute(statement, parameters)) or None

    @event.listens_for(engine, "do_execute_no_params")
    def _execute_no_params(cursor, statement, context):
        begin_now(cursor.connection)
        return None

    @event.listens_for(engine, "do_executemany")
    def _executemany(cursor, statement, parameters, context):
        return _send_after_begin(cursor, lambda: cursor.executemany(statement, parameters)) or None
