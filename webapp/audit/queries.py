"""Reads of the audit trail."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

import sqlalchemy as sa

from webapp.auth.models import User
from webapp.core.audit import AuditLog
from webapp.extensions import db

PAGE_SIZE = 50


@dataclass
class AuditFilter:
    record_type: str | None = None
    record_id: int | None = None
    user_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None

    def as_params(self) -> dict:
        return {k: (v.isoformat() if isinstance(v, date) else v)
                for k, v in self.__dict__.items() if v not in (None, "")}


def _where(f: AuditFilter):
    conds = []
    if f.record_type:
        conds.append(AuditLog.record_type == f.record_type)
    if f.record_id is not None:
        conds.append(AuditLog.record_id == f.record_id)
    if f.user_id is not None:
        conds.append(AuditLog.user_id == f.user_id)
    if f.date_from:
        conds.append(AuditLog.at >= datetime.combine(f.date_from, time.min, timezone.utc))
    if f.date_to:
        conds.append(AuditLog.at < datetime.combine(f.date_to + timedelta(days=1), time.min, timezone.utc))
    return conds


def audit_entries(f: AuditFilter, *, before_id: int | None = None, limit: int = PAGE_SIZE):
    """Newest first, keyset-paginated by id; returns (rows with user names, next cursor)."""
    stmt = (sa.select(AuditLog, User.name, User.email).outerjoin(User, User.id == AuditLog.user_id)
            .where(*_where(f)).order_by(AuditLog.id.desc()).limit(limit + 1))
    if before_id:
        stmt = stmt.where(AuditLog.id < before_id)
    rows = db.session.execute(stmt).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1][0].id if more and rows else None)


def audit_entries_all(f: AuditFilter, batch: int = 2000):
    """Every matching entry, oldest first, in batches (for the export job)."""
    last = 0
    while True:
        stmt = (sa.select(AuditLog, User.email).outerjoin(User, User.id == AuditLog.user_id)
                .where(*_where(f), AuditLog.id > last).order_by(AuditLog.id).limit(batch))
        rows = db.session.execute(stmt).all()
        if not rows:
            return
        yield rows
        last = rows[-1][0].id


def count_entries(f: AuditFilter) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog).where(*_where(f)))


def latest_id() -> int:
    return db.session.scalar(sa.select(sa.func.max(AuditLog.id))) or 0


def record_types() -> list[str]:
    return list(db.session.scalars(sa.select(AuditLog.record_type).distinct().order_by(AuditLog.record_type)))
