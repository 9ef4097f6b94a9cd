"""The audit trail: who changed what, when, from where, old and new values.

Models that set `__audited__ = True` are recorded automatically: after each
flush, every inserted, updated or deleted row of such a model becomes one
audit row with the changed columns' old and new values, in the same
transaction as the change (so a rolled-back change leaves no audit row, and a
committed one always has its row). Services add business events that are not
column changes (an override, an export, a login) with `record_event`.

Who, IP and user agent come from the actor context, set once per request or
job. High-volume append-only rows (journal lines, stock moves) are not audited
row by row; their documents are.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.orm.attributes import PASSIVE_NO_INITIALIZE

from webapp.core.clock import now
from webapp.core.tenancy import TenantScoped, current_org_id_or_none
from webapp.extensions import db


@dataclass(frozen=True)
class Actor:
    user_id: int | None = None
    ip: str | None = None
    user_agent: str | None = None


_actor: ContextVar[Actor] = ContextVar("smepulse_actor", default=Actor())
_action: ContextVar[str | None] = ContextVar("smepulse_audit_action", default=None)


class AuditLog(TenantScoped, db.Model):
    """One recorded change or event."""

    __tablename__ = "audit_log"
    __table_args__ = (
        sa.Index("ix_audit_log_org_at", "org_id", "at"),
        sa.Index("ix_audit_log_org_record", "org_id", "record_type", "record_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=now)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    #: e.g. "create", "update", "delete", or a business event such as "invoice.post".
    action: Mapped[str] = mapped_column(sa.String(60))
    record_type: Mapped[str] = mapped_column(sa.String(60))
    record_id: Mapped[int | None]
    old: Mapped[dict | None] = mapped_column(sa.JSON)
    new: Mapped[dict | None] = mapped_column(sa.JSON)
    ip: Mapped[str | None] = mapped_column(sa.String(64))
    user_agent: Mapped[str | None] = mapped_column(sa.String(300))


def set_actor(user_id: int | None, ip: str | None = None, user_agent: str | None = None):
    return _actor.set(Actor(user_id, ip, (user_agent or "")[:300] or None))


def reset_actor(token) -> None:
    _actor.reset(token)


def current_actor() -> Actor:
    return _actor.get()


@contextmanager
def acting_as(user_id: int | None, ip: str | None = None, user_agent: str | None = None):
    token = set_actor(user_id, ip, user_agent)
    try:
        yield
    finally:
        _actor.reset(token)


@contextmanager
def action(name: str):
    """Name the business action behind the changes flushed inside the block."""
    token = _action.set(name)
    try:
        yield
    finally:
        _action.reset(token)


def _plain(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"<{len(value)} bytes>"
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


#: Columns never copied into the trail.
SECRET_COLUMNS = {"password_hash", "token_hash", "data", "content"}


_COLUMN_LISTS: dict[type, tuple[str, ...]] = {}


def _column_list(cls) -> tuple[str, ...]:
    """The audited columns of a model, in order, worked out once."""
    found = _COLUMN_LISTS.get(cls)
    if found is None:
        found = _COLUMN_LISTS[cls] = tuple(c.key for c in sa.inspect(cls).column_attrs
                                           if c.key not in SECRET_COLUMNS)
    return found


def _row(record_type, record_id, action_name, old, new, org_id):
    actor = _actor.get()
    return {"org_id": org_id, "at": now(), "user_id": actor.user_id, "action": action_name,
            "record_type": record_type, "record_id": record_id, "old": old, "new": new,
            "ip": actor.ip, "user_agent": actor.user_agent}


def created_row(obj, name: str | None = None) -> dict:
    """The audit row of a new audited object (every column), as written after the flush that
    inserts it; for rows written without a flush (`core.pipeline`)."""
    new = {k: _plain(getattr(obj, k)) for k in _column_list(type(obj))}
    return _row(obj.__tablename__, getattr(obj, "id", None), name or _action.get() or "create", None, new,
                getattr(obj, "org_id", None))


def changed_row(record, old: dict, new: dict, *, record_id: int | None = None, org_id: int | None = None,
                name: str | None = None) -> dict:
    """The audit row of a change written without a flush: the columns' values before and after
    (`record_id` and `org_id` given, the record's own are not read)."""
    return _row(record.__tablename__, record_id if record_id is not None else record.id,
                name or _action.get() or "update", _jsonable(old), _jsonable(new),
                org_id if org_id is not None else getattr(record, "org_id", None))


def record_event(name: str, record=None, *, record_type: str | None = None,
                 record_id: int | None = None, old: dict | None = None, new: dict | None = None) -> None:
    """Write one business event (an override, an export, a login) to the trail."""
    org_id = getattr(record, "org_id", None) or current_org_id_or_none()
    if org_id is None:
        return
    rtype = record_type or (record.__tablename__ if record is not None else "event")
    rid = record_id if record_id is not None else getattr(record, "id", None)
    db.session.execute(sa.insert(AuditLog.__table__).values(
        **_row(rtype, rid, name, _jsonable(old), _jsonable(new), org_id)))


def _jsonable(values):
    if values is None:
        return None
    return {k: _plain(v) for k, v in values.items()}


_VERSIONS = "smepulse_audit_versions"


def history(state, key: str):
    """An attribute's unflushed history, as `state.attrs[key].history` gives it, without building
    `state.attrs` (an AttributeState for every attribute of the object, on first use) for one."""
    return state.get_history(key, PASSIVE_NO_INITIALIZE)


def _version_change(state) -> tuple | None:
    """(old, new) of a versioned document's version, from its unflushed history."""
    if state.mapper.version_id_col is None or "version" not in state.committed_state:
        return None
    hist = history(state, "version")
    if not hist.has_changes():
        return None
    return (hist.deleted[0] if hist.deleted else None), (hist.added[0] if hist.added else None)


def update_row(obj, name: str | None = None, versions: dict | None = None) -> dict | None:
    """The audit row of an audited object's unflushed changes (None when nothing audited changed).
    `versions`: versioned documents' version changes noted before a flush (by then the ORM has
    settled the version, and its history is gone)."""
    if not getattr(obj, "__audited__", False):
        return None
    state = sa.inspect(obj)
    # Only the attributes changed since the row was loaded have their old value kept
    # (`committed_state`; an in-place change of a mutable value is flagged into it): the
    # others have no history, so they are not asked one by one.
    changed = state.committed_state
    versioned = state.mapper.version_id_col is not None
    version = (versions.get(id(obj)) if versions is not None else _version_change(state)) if versioned else None
    if not changed and version is None:
        return None
    old, new = {}, {}
    for key in _column_list(type(obj)):
        if key not in changed or versioned and key == "version":
            continue
        hist = history(state, key)
        if hist.has_changes():
            old[key] = _plain(hist.deleted[0] if hist.deleted else None)
            new[key] = _plain(hist.added[0] if hist.added else None)
    if version is not None:
        old["version"], new["version"] = _plain(version[0]), _plain(version[1])
    if not new:
        return None
    return _row(obj.__tablename__, obj.id, name or _action.get() or "update", old, new, getattr(obj, "org_id", None))


def install() -> None:
    if getattr(install, "done", False):
        return
    install.done = True

    @event.listens_for(Session, "before_flush")
    def _note_versions(session, flush_context, instances):
        session.info[_VERSIONS] = {id(obj): change for obj in session.dirty
                                   if getattr(obj, "__audited__", False)
                                   and (change := _version_change(sa.inspect(obj))) is not None}

    @event.listens_for(Session, "after_flush")
    def _record_changes(session, flush_context):
        rows = []
        name = _action.get()
        versions = session.info.pop(_VERSIONS, {})
        for obj in session.new:
            if getattr(obj, "__audited__", False):
                rows.append(created_row(obj, name or "create"))
        for obj in session.dirty:
            row = update_row(obj, name, versions)
            if row is not None:
                rows.append(row)
        for obj in session.deleted:
            if getattr(obj, "__audited__", False):
                old = {k: _plain(getattr(obj, k)) for k in _column_list(type(obj))}
                rows.append(_row(obj.__tablename__, obj.id, name or "delete", old, None,
                                 getattr(obj, "org_id", None)))
        rows = [r for r in rows if r["org_id"] is not None]
        if not rows:
            return
        conn = session.connection()
        current = current_org_id_or_none()
        foreign = [r for r in rows if r["org_id"] != current]
        if conn.dialect.name == "postgresql" and foreign:
            # A row filed under an organization other than the active one
            # (the organization being created at sign-up): the audit writer
            # tells row-level security which organization it writes for.
            for org_id in {r["org_id"] for r in foreign}:
                conn.exec_driver_sql("SELECT set_config('app.org_id', %s, true)", (str(org_id),))
                conn.execute(sa.insert(AuditLog.__table__), [r for r in foreign if r["org_id"] == org_id])
            conn.exec_driver_sql("SELECT set_config('app.org_id', %s, true)",
                                 ("" if current is None else str(current),))
            rows = [r for r in rows if r["org_id"] == current]
        if rows:
            conn.execute(sa.insert(AuditLog.__table__), rows)
