"""Reads of quotes, orders and invoices."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from webapp.extensions import db
from webapp.parties.models import Party
from webapp.payments.models import Allocation, Payment
from webapp.sales.models import CANCELLED, DRAFT, INVOICE, PAID, PARTLY_PAID, POSTED, UNPAID, SalesDocument

PAGE = 50
SORTS = {
    "date": (SalesDocument.date.desc(), SalesDocument.id.desc()),
    "date_asc": (SalesDocument.date, SalesDocument.id),
    "number": (SalesDocument.number.desc(), SalesDocument.id.desc()),
    "total": (SalesDocument.grand_total.desc(), SalesDocument.id.desc()),
    "due": (SalesDocument.due_date, SalesDocument.id),
}
INVOICE_STATUSES = {"draft": "Draft", "unpaid": "Unpaid", "partly_paid": "Partly paid", "overdue": "Overdue",
                    "paid": "Paid", "cancelled": "Cancelled"}
ORDER_STATUSES = {"draft": "Draft", "confirmed": "Confirmed", "partly_invoiced": "Partly invoiced",
                  "invoiced": "Invoiced", "cancelled": "Cancelled"}


@dataclass
class DocFilter:
    doc_type: str = INVOICE
    status: str = ""
    customer_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    q: str = ""
    sort: str = "date"
    page: int = 1


def _status_clause(f: DocFilter, today: date):
    d = SalesDocument
    if f.doc_type != INVOICE:
        return [d.status == f.status] if f.status in ORDER_STATUSES else []
    not_due = sa.or_(d.due_date.is_(None), d.due_date >= today)
    return {
        "draft": [d.status == DRAFT],
        "unpaid": [d.status == POSTED, d.payment_status == UNPAID, not_due],
        "partly_paid": [d.status == POSTED, d.payment_status == PARTLY_PAID, not_due],
        "overdue": [d.status == POSTED, d.payment_status != PAID, d.due_date < today],
        "paid": [d.status == POSTED, d.payment_status == PAID],
        "cancelled": [d.status == CANCELLED],
    }.get(f.status, [])


def documents(f: DocFilter, today: date) -> tuple[list[SalesDocument], bool]:
    d = SalesDocument
    stmt = sa.select(d).where(d.doc_type == f.doc_type, *_status_clause(f, today))
    if f.customer_id:
        stmt = stmt.where(d.customer_id == f.customer_id)
    if f.date_from:
        stmt = stmt.where(d.date >= f.date_from)
    if f.date_to:
        stmt = stmt.where(d.date <= f.date_to)
    if f.q:
        like = "%" + f.q.strip()[:60].replace("%", "").replace("_", "") + "%"
        stmt = stmt.where(sa.or_(d.number.ilike(like), d.reference.ilike(like),
                                 d.customer_id.in_(sa.select(Party.id).where(Party.name.ilike(like)))))
    page = max(1, min(f.page, 10_000))
    rows = list(db.session.scalars(stmt.order_by(*SORTS.get(f.sort, SORTS["date"]))
                                   .offset((page - 1) * PAGE).limit(PAGE + 1)
                                   .options(sa.orm.lazyload(d.lines))))
    return rows[:PAGE], len(rows) > PAGE


def allocations_of(doc: SalesDocument) -> list[tuple[Allocation, Payment]]:
    return db.session.execute(sa.select(Allocation, Payment).join(Payment, Payment.id == Allocation.payment_id)
                              .where(Allocation.invoice_id == doc.id).order_by(Allocation.id)).all()


def derived_documents(doc: SalesDocument) -> list[SalesDocument]:
    return list(db.session.scalars(sa.select(SalesDocument).where(SalesDocument.source_id == doc.id)
                                   .order_by(SalesDocument.id).options(sa.orm.lazyload(SalesDocument.lines))))


def overdue_count(today: date) -> int:
    d = SalesDocument
    return db.session.scalar(sa.select(sa.func.count()).select_from(d).where(
        d.doc_type == INVOICE, d.status == POSTED, d.payment_status != PAID, d.due_date < today))
