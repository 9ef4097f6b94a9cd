"""Home page cards: sales this month, what customers owe, overdue invoices."""
from __future__ import annotations

import sqlalchemy as sa
from flask import url_for

from webapp.core.clock import today
from webapp.core.money import format_amount
from webapp.core.permissions import allowed
from webapp.dashboard.routes import card
from webapp.extensions import db
from webapp.sales.models import INVOICE, POSTED, SalesDocument
from webapp.payments.queries import overdue_count


@card
def sales_this_month(org, role):
    if not allowed(role, "sales.view"):
        return None
    start = today().replace(day=1)
    total = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(SalesDocument.taxable_total), 0)).where(
        SalesDocument.doc_type == INVOICE, SalesDocument.status == POSTED, SalesDocument.date >= start))
    return {"label": "Sales this month (before tax)", "value": format_amount(total, org.base_currency, symbol=True),
            "url": url_for("sales.invoices", date_from=start.isoformat())}


@card
def receivable(org, role):
    if not allowed(role, "sales.view"):
        return None
    due = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(SalesDocument.grand_total - SalesDocument.amount_paid), 0))
                            .where(SalesDocument.doc_type == INVOICE, SalesDocument.status == POSTED))
    return {"label": "Customers owe", "value": format_amount(due, org.base_currency, symbol=True),
            "url": url_for("sales.invoices", status="unpaid")}


@card
def overdue(org, role):
    if not allowed(role, "sales.view"):
        return None
    n = overdue_count(today())
    return {"label": "Overdue invoices", "value": str(n), "tone": "danger" if n else "ok",
            "url": url_for("sales.invoices", status="overdue")}
