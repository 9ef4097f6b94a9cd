"""Several statements in one round trip to PostgreSQL (psycopg's pipeline mode).

A posting reads a handful of things it needs at once (its number, the
accounts, the stock it takes from) and then writes a dozen rows to several
tables (moves, on hand, cost layers, the journal, the document, the audit
trail). Sent one after another, every statement waits for its answer: on a
small server that round trip, not the work, is most of a posting. A
`Pipeline` queues statements and sends them together; the server runs them
in order, inside the caller's transaction, and the answers come back
together.

Only what does not depend on an earlier answer of the same batch goes in one
pipeline: a caller queues its reads, runs them, works out in Python what to
write, then queues and runs the writes. The server runs a pipeline's
statements one after the other, so a lock taken by one statement is held
when the next runs (the stock engine locks its cost pools, then reads the
layers they guard, in one pipeline).

PostgreSQL only: the statements here are written for it. On SQLite (an
embedded file, where a statement costs no round trip) callers run their
SQLite statements directly instead; `on_postgres()` tells which.

Errors: a failing statement aborts the rest of its pipeline and is raised as
SQLAlchemy's exception of the same kind (IntegrityError…), as if the
statement had run through the session; the transaction must then be rolled
back, as after any failed statement (`core.tx.atomic` does).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from webapp.core import tx
from webapp.core.begin import take as take_begin
from webapp.extensions import db

_COMPILED: dict[sa.TextClause, str] = {}

#: Called with the SQL of each pipeline as it is sent (the benchmarks and tests count round trips).
SENT: list = []


def compiled(statement: sa.TextClause) -> str:
    """The psycopg SQL of a text statement written with :name parameters (made once)."""
    sql = _COMPILED.get(statement)
    if sql is None:
        from sqlalchemy.dialects.postgresql.psycopg import dialect
        sql = _COMPILED[statement] = str(statement.compile(dialect=dialect()))
    return sql


_COMPILED_CORE: dict[sa.Select, object] = {}


def _compiled_core(statement: sa.Select, params: dict) -> tuple[str, dict]:
    """The psycopg SQL of a Core statement made once (and kept: pass statements built once, not
    per call), with every parameter it needs: the given ones and those bound when it was built."""
    found = _COMPILED_CORE.get(statement)
    if found is None:
        from sqlalchemy.dialects.postgresql.psycopg import dialect
        if len(_COMPILED_CORE) > 5000:
            _COMPILED_CORE.clear()
        found = _COMPILED_CORE[statement] = statement.compile(dialect=dialect())
    return found.string, found.construct_params(params)


@dataclass
class Handle:
    """What one queued statement returned, once the pipeline has run."""
    rows: list = field(default_factory=list)
    rowcount: int = -1

    def one(self):
        if len(self.rows) != 1:
            raise RuntimeError(f"expected one row, got {len(self.rows)}")
        return self.rows[0]

    def scalar(self):
        return self.rows[0][0] if self.rows else None


@dataclass
class _Item:
    sql: str
    params: object
    many: bool
    returns: bool
    handle: Handle
    source: sa.TextClause


class Pipeline:
    """Statements queued with `add` and sent together by `run` (PostgreSQL)."""

    def __init__(self):
        self._items: list[_Item] = []
        self._after: list = []
        #: Whether statements may be queued (PostgreSQL); on SQLite callers run theirs directly.
        self.postgres = db.session.get_bind().dialect.name == "postgresql"

    def __bool__(self) -> bool:
        return bool(self._items or self._after)

    def add(self, statement: sa.TextClause | sa.Select | str, params: dict | None = None, *,
            many: list[dict] | None = None, returns: bool = True) -> Handle:
        """Queue a statement: a text() with :name parameters, a Core select built once, or
        psycopg's SQL as a string (`many`: the same statement for each set of parameters; not for
        a select). `returns`: keep the rows it returns (a SELECT, or RETURNING)."""
        handle = Handle()
        if isinstance(statement, sa.Select):
            sql, params = _compiled_core(statement, params or {})
        else:
            sql = statement if isinstance(statement, str) else compiled(statement)
        self._items.append(_Item(sql, many if many is not None else (params or {}), many is not None, returns,
                                 handle, statement))
        return handle

    def then(self, check) -> None:
        """Call `check()` once the statements have run (to refuse what their answers show)."""
        self._after.append(check)

    def run(self) -> None:
        items, after = self._items, self._after
        self._items, self._after = [], []
        if items:
            self._send(items)
        for check in after:
            check()

    def _send(self, items: list[_Item]) -> None:
        import psycopg
        for listener in SENT:
            listener([it.sql for it in items])
        conn = db.session.connection()
        if any(tx.is_write(it.sql) for it in items):
            conn.info[tx.WROTE] = True
        raw = conn.connection.driver_connection
        begin = take_begin(raw)
        cursors = []
        try:
            with raw.pipeline():
                if begin is not None:
                    raw.execute(begin)      # the transaction's first statements: core.begin
                for it in items:
                    cur = raw.cursor()
                    if it.many:
                        cur.executemany(it.sql, it.params, returning=it.returns)
                    else:
                        cur.execute(it.sql, it.params)
                    cursors.append(cur)
            for it, cur in zip(items, cursors):
                if it.returns:
                    if it.many:
                        rows = []
                        while True:
                            if cur.pgresult is not None and cur.description is not None:
                                rows.extend(cur.fetchall())
                            if not cur.nextset():
                                break
                        it.handle.rows = rows
                    elif cur.description is not None:
                        it.handle.rows = cur.fetchall()
                it.handle.rowcount = cur.rowcount
        except psycopg.Error as exc:
            # psycopg raises a refused statement's error when the pipeline syncs, at a later statement
            # or at the end, so the error names the whole pipeline, not one statement of it.
            sql = "\n".join(f"{n}. {' '.join(it.sql.split())[:200]}" for n, it in enumerate(items, 1))
            raise sa.exc.DBAPIError.instance(f"(a pipeline of {len(items)} statements)\n{sql}", None, exc,
                                             psycopg.Error) from exc


# ---------------------------------------------------------------- objects of the session

_UPDATES: dict[tuple, str] = {}


def _dialect():
    found = _UPDATES.get(("dialect",))
    if found is None:
        from sqlalchemy.dialects.postgresql.psycopg import dialect
        found = _UPDATES[("dialect",)] = dialect()
    return found


_PROCESSORS: dict = {}


def _processor(column, dialect):
    """What SQLAlchemy does to a column's value before the driver gets it (a JSON wrapper, the
    exactness check of a decimal column, a datetime in UTC), or None."""
    try:
        return _PROCESSORS[column]
    except KeyError:
        found = _PROCESSORS[column] = column.type.dialect_impl(dialect).bind_processor(dialect)
        return found


def _cast(column, name: str) -> str:
    return f"CAST(%({name})s AS json)" if isinstance(column.type, sa.JSON) else f"%({name})s"


#: Called as hook(pipe, obj, changed column keys) for each object `queue_updates` writes: what an
#: after-flush event of the app does for a flushed row, done in the pipeline (sales/search.py).
UPDATE_HOOKS: list = []


def _plain_update(obj, org_id) -> bool:
    """An update of plain columns of a loaded row of the current organization (the audit trail of
    any other row, or of one of no organization, is the flush's to write)."""
    state = sa.inspect(obj)
    if not state.persistent or getattr(obj, "org_id", None) != org_id:
        return False
    attrs = state.mapper.attrs
    return all(isinstance(attrs.get(k), sa.orm.ColumnProperty) and k != "org_id" for k in state.committed_state)


def flush(pipe: Pipeline | None = None) -> None:
    """Flush the session. On PostgreSQL, when every pending change is an update of plain columns of
    loaded rows (editing a draft's line changes the line and the document's totals), the updates
    and their audit rows go in one pipeline, `pipe` if given (run by the caller), else one of
    their own: one round trip instead of one per row and one for the audit trail. Anything else
    (new or deleted rows, relationships) is a normal flush."""
    session = db.session()
    if session.get_bind().dialect.name != "postgresql" or session.new or session.deleted:
        session.flush()
        return
    dirty = list(session.dirty)
    if not dirty:
        return
    from webapp.core.tenancy import current_org_id_or_none
    org_id = current_org_id_or_none()
    if org_id is None or not all(_plain_update(obj, org_id) for obj in dirty):
        session.flush()
        return
    # The app's before-flush checks (tenancy, posted entries are immutable) hold for these too.
    session.dispatch.before_flush(session, None, None)
    own = pipe is None
    pipe = Pipeline() if own else pipe
    queue_updates(pipe, dirty)
    if own:
        pipe.run()


def queue_updates(pipe: Pipeline, objects) -> None:
    """Write the changed columns of these objects of the session, and the audit rows of the audited
    ones (`core.audit`), in the pipeline: what a flush of them would write, one statement each,
    with no round trip of their own. Once the pipeline has run they are as if flushed.

    For objects loaded from the database whose changes are their own columns only (posting
    changes a document's status, number and figures); anything else is refused."""
    from webapp.core import audit
    from webapp.core.tenancy import TenantScoped
    dialect = _dialect()
    written, audits, touched = [], [], []
    # Documents (the rows with a version) before their lines, as the ORM orders a flush: two
    # transactions writing one document and its lines lock them in the same order, so one waits
    # for the other instead of both waiting for each other.
    for obj in sorted(objects, key=lambda o: sa.inspect(o).mapper.version_id_col is None):
        state = sa.inspect(obj)
        if not state.committed_state:
            continue
        touched.append(state)
        if not state.persistent:
            raise RuntimeError(f"{obj!r} is not a row of the database yet: flush it")
        mapper, values = state.mapper, {}
        for key in state.committed_state:
            prop = mapper.attrs.get(key)
            if not isinstance(prop, sa.orm.ColumnProperty) or len(prop.columns) != 1:
                raise RuntimeError(f"{type(obj).__name__}.{key} is not a plain column: flush the object instead")
            hist = audit.history(state, key)
            if hist.has_changes():
                values[key] = (prop.columns[0], hist.added[0] if hist.added else None)
        if not values:
            continue
        row = audit.update_row(obj)
        if row is not None:
            audits.append(row)
        table = mapper.local_table
        keys = tuple(sorted(values))
        version = mapper.version_id_col
        shape = (table.name, keys)
        sql = _UPDATES.get(shape)
        if sql is None:
            sets = ", ".join(f"{values[k][0].name} = {_cast(values[k][0], 'v_' + k)}" for k in keys)
            where = "id = %(pk)s" + (" AND org_id = %(org)s" if isinstance(obj, TenantScoped) else "")
            if version is not None:       # as the ORM does for a mapper's version column
                where += f" AND {version.name} = %(version)s"
            sql = _UPDATES[shape] = f"UPDATE {table.name} SET {sets} WHERE {where}"
        params = {"pk": obj.id, "org": getattr(obj, "org_id", None)}
        if version is not None:
            key = mapper.get_property_by_column(version).key
            hist = audit.history(state, key)
            params["version"] = hist.deleted[0] if hist.deleted else getattr(obj, key)
        for k in keys:
            column, value = values[k]
            process = _processor(column, dialect)
            params["v_" + k] = process(value) if process else value
        written.append((obj, {k: v for k, (_, v) in values.items()}, pipe.add(sql, params, returns=False)))
        for hook in UPDATE_HOOKS:
            hook(pipe, obj, keys)
    if audits:
        table = audit.AuditLog.__table__
        json_out = _processor(table.c.new, dialect) or (lambda v: v)
        at = _processor(table.c.at, dialect) or (lambda v: v)
        pipe.add(_AUDIT_INSERT, many=[{**r, "old": json_out(r["old"]), "new": json_out(r["new"]),
                                       "at": at(r["at"])} for r in audits], returns=False)

    def committed():
        for obj, values, handle in written:
            if handle.rowcount != 1:
                raise sa.orm.exc.StaleDataError(f"{type(obj).__name__} {obj.id} was changed or removed meanwhile")
        # What a flush does once it has written an object: its values are now the database's, and
        # it is no longer among the session's modified objects (also those whose attributes were
        # set to the values they had, which a flush would otherwise go through for nothing).
        identity_map = db.session().identity_map
        for state in touched:
            state._commit_all(state.dict, identity_map)
    pipe.then(committed)


_AUDIT_INSERT = sa.text(
    "INSERT INTO audit_log (org_id, at, user_id, action, record_type, record_id, old, new, ip, user_agent) "
    "VALUES (:org_id, :at, :user_id, :action, :record_type, :record_id, CAST(:old AS json), CAST(:new AS json), "
    ":ip, :user_agent)")
