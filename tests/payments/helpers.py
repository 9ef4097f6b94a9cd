"""Invoices and bills with round totals (no tax, no stock) for payment tests."""
from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import sqlalchemy as sa

from tests.purchases.helpers import supplier
from tests.sales.helpers import customer, invoice
from webapp.core.trade import LineValues
from webapp.extensions import db
from webapp.ledger.models import Account
from webapp.ledger.services import account_for
from webapp.payments import services as payments
from webapp.purchases import services as purchases
from webapp.sales import services as sales

__all__ = ["customer", "supplier", "sale", "bill", "receive", "pay", "bank", "cash"]


def sale(cust, amount, on, *, due=None):
    """A posted invoice for `amount` (a service line, 0 % tax), due `due` (else from the customer's terms)."""
    doc = invoice(cust, (None, 1, str(amount), None, None, "0"), on=on)
    if due is not None:
        sales.update_header(doc, customer=cust, on=on, due_date=due)
    sales.post_invoice(doc, override_credit=True)
    return doc


_bills = iter(range(1, 10**6))


def bill(supp, amount, on, *, due=None):
    """A posted supplier bill for `amount` (rent, 0 % tax)."""
    doc = purchases.create_document("bill", on=on, supplier=supp)
    rent = db.session.scalars(sa.select(Account).where(Account.code == "5400")).one()
    purchases.update_line(doc, doc.lines[0], LineValues(None, "Rent", D(1), D(str(amount)), None, None, D(0)),
                          account=rent)
    purchases.update_header(doc, supplier=supp, on=on, due_date=due, supplier_reference=f"R-{next(_bills)}")
    purchases.post_bill(doc)
    return doc


def bank():
    return account_for("bank")


def cash():
    return account_for("cash")


def receive(cust, amount, on, allocations=(), **kw):
    return payments.record_payment(direction="in", party=cust, amount=D(str(amount)), account=kw.pop("account", bank()),
                                   method=kw.pop("method", "bank_transfer"), on=on,
                                   allocations=[(d, D(str(a))) for d, a in allocations], **kw)


def pay(supp, amount, on, allocations=(), **kw):
    return payments.record_payment(direction="out", party=supp, amount=D(str(amount)), account=kw.pop("account", bank()),
                                   method=kw.pop("method", "bank_transfer"), on=on,
                                   allocations=[(d, D(str(a))) for d, a in allocations], **kw)


def today_date() -> date:
    from webapp.core.clock import today
    return today()
