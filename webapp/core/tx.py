"""A service's writes all happen or none do: on any exception, nothing it did stays.

Services flush and never commit; the request commits once. A service whose
checks can only finish half-way through writing (stock running out on the
third line of a receipt) wraps its writes in `atomic()`, so that a refusal
leaves the session exactly as it found it, even for a caller that catches the
error and carries on.

How, at the outermost `atomic()` of a session:

* when the transaction has done nothing yet that a rollback would undo for
  the caller (the usual case: a request reads what it needs, then calls one
  service), no savepoint is made; an exception rolls the whole transaction
  back, which undoes exactly the service's writes (the objects the caller
  holds are expired and read again when next used). That saves the two round
  trips of SAVEPOINT and RELEASE on every write of the app. It is tracked per
  connection: since the transaction began, any statement other than a plain
  SELECT (or transaction control) counts, and so do row locks (`FOR UPDATE`,
  `FOR SHARE`), advisory locks and settings other than the tenant's (which
  every transaction writes again as it begins), and unflushed changes in the
  session;
* otherwise, or with `atomic(savepoint=True)`, a savepoint.

An inner `atomic()` (posting an invoice inside a counter sale, the stock
movements inside a posting) is already covered by the outer one, since an
exception that leaves the inner block leaves the outer one too. Code that
catches an exception *inside* an `atomic()` block and carries on (rather
than letting it out) needs its own savepoint: `atomic(savepoint=True)` (see
`payments.services.record_payment`).
"""
from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm.exc import StaleDataError

from webapp.core.errors import StaleData

from webapp.extensions import db

_DEPTH = "smepulse_atomic_depth"
WROTE = "smepulse_wrote"
READS = ("SELECT", "BEGIN", "PRAGMA", "SAVEPOINT", "RELEASE", "ROLLBACK")


@event.listens_for(Engine, "begin")
def _transaction_begins(conn):
    conn.info[WROTE] = False


def is_write(statement: str) -> bool:
    """Whether rolling this statement back matters to whoever sent it (see the module's docstring)."""
    text = statement.lstrip().upper()
    if not text.startswith(READS):
        return True
    if not text.startswith("SELECT"):
        return False
    return (" FOR UPDATE" in text or " FOR SHARE" in text or " FOR NO KEY UPDATE" in text
            or " FOR KEY SHARE" in text or "PG_ADVISORY" in text
            or ("SET_CONFIG" in text and "'APP.ORG_ID'" not in text))


@event.listens_for(Engine, "before_cursor_execute")
def _note_writes(conn, cursor, statement, parameters, context, executemany):
    if not conn.info.get(WROTE) and is_write(statement):
        conn.info[WROTE] = True


def _nothing_written(session) -> bool:
    """True when rolling the whole transaction back would undo nothing but reads."""
    if session.new or session.deleted or session.dirty:
        return False
    if not session.in_transaction():
        return True
    if session.in_nested_transaction():
        return False
    return not session.connection().info.get(WROTE, True)


@contextmanager
def atomic(*, savepoint: bool = False):
    """`savepoint=True`: a savepoint even inside another atomic() (for a caller that catches an
    error raised inside and carries on in the same transaction)."""
    session = db.session()
    info = session.info
    depth = info.get(_DEPTH, 0)
    if depth and not savepoint:
        info[_DEPTH] = depth + 1
        try:
            yield
        finally:
            info[_DEPTH] = depth
        return
    if not depth and not savepoint and _nothing_written(session):
        info[_DEPTH] = 1
        try:
            yield
        except BaseException as exc:
            session.rollback()
            _refuse_stale(exc)
            raise
        finally:
            info[_DEPTH] = 0
        return
    try:
        with session.begin_nested():
            info[_DEPTH] = depth + 1
            try:
                yield
            finally:
                info[_DEPTH] = depth
    except StaleDataError as exc:
        _refuse_stale(exc)
        raise


def _refuse_stale(exc: BaseException) -> None:
    """A row changed by someone else between reading and writing it (a document's version moved
    on): the person is told, as for a stale form, instead of seeing an error page."""
    if isinstance(exc, StaleDataError):
        raise StaleData("Someone else changed this document since you opened it. Reload the page to see "
                        "their changes.") from exc
