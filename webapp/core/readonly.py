"""Requests that only read run in a READ ONLY transaction on PostgreSQL, ended by COMMIT.

A GET, HEAD or OPTIONS request writes nothing. Until now it ended with ROLLBACK,
which was meant to throw away anything written by mistake. On PostgreSQL that
had a cost on every page: psycopg forgets all its prepared statements on every
ROLLBACK (`Connection.rollback` clears its cache, lest a statement refer to an
object the rolled-back transaction created), so a statement never reached the
five executions after which psycopg prepares it, and every statement of every
page was parsed and planned again (the sign-in look-up alone, four tables
joined, plans in about 0.5 ms).

So, on PostgreSQL, such a request's transactions begin `BEGIN READ ONLY`
(psycopg's `read_only`, set as each transaction begins): the database itself
refuses any write (`ReadOnlySqlTransaction`, a loud bug instead of a silent
loss), and a transaction that cannot have written anything can end with COMMIT,
which keeps the prepared statements. `ends_by_commit` says when: a read-only
transaction with nothing waiting in the ORM session (an object changed in
memory stays unwritten: that request still ends with ROLLBACK, as before) and
not already failed. SQLite keeps ROLLBACK (its reads begin a deferred
transaction: `core.sqlite`).

What a page keeps the first time it is read (the aged sums of a day) is written in a
transaction of its own, read-write: `writing()`.

Jobs, the CLI and tests outside a request are unaffected: the flag is per
request (a context variable), read afresh at every transaction's start.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import event
from sqlalchemy.engine import Engine

_reading: ContextVar[bool] = ContextVar("smepulse_read_only", default=False)


def set_reading(value: bool):
    return _reading.set(value)


def reset_reading(token) -> None:
    _reading.reset(token)


@contextmanager
def writing():
    """A short read-write transaction inside a request that reads, for what a page keeps the first
    time it is read (the aged sums of a day: `payments.aging.ready`). The read-only transaction in
    progress is ended first (COMMIT: it wrote nothing); the block's transaction begins read-write
    and is committed on leaving the block (rolled back on an exception); after it, the request
    reads on in a new read-only transaction. Outside a reading request it only commits on leaving."""
    from webapp.extensions import db
    session = db.session()
    if _reading.get() and session.in_transaction():
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("a reading request changed objects before writing()")
        session.commit()
    token = _reading.set(False)
    try:
        yield
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        _reading.reset(token)


def ends_by_commit(session) -> bool:
    """Whether COMMIT may end this `Session`'s transaction in place of ROLLBACK (see the module)."""
    if not _reading.get() or session.new or session.dirty or session.deleted:
        return False
    transaction = session.get_transaction()
    if transaction is None:
        return False           # nothing began: nothing to end
    if not transaction.is_active:
        return False           # failed: only a rollback ends it
    return session.get_bind().dialect.name == "postgresql"


def install() -> None:
    if getattr(install, "done", False):
        return
    install.done = True

    @event.listens_for(Engine, "begin")
    def _begin(conn):
        if conn.dialect.name != "postgresql":
            return
        dbapi_connection = conn.connection.dbapi_connection
        # True: psycopg begins with BEGIN READ ONLY; None: a plain BEGIN (the server's default).
        wanted = True if _reading.get() else None
        if dbapi_connection.read_only is not wanted:
            dbapi_connection.read_only = wanted
