"""Helpers for sales tests: customers and invoices through the real services."""
from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal as D

from webapp.core.trade import LineValues
from webapp.parties import services as parties
from webapp.sales import services as sales
from webapp.sales.models import INVOICE

_n = itertools.count(1)


def customer(name=None, **kw):
    n = next(_n)
    values = dict(code=f"C{n:04d}", name=name or f"Customer {n}", is_customer=True)
    values.update(kw)
    return parties.create_party(**values)


def invoice(cust, *lines, on=date(2026, 5, 10), post=False, doc_type=INVOICE, **post_kw):
    """lines: (product, qty, price=None, discount_percent=None, discount_amount=None, tax_rate=None)."""
    doc = sales.create_document(doc_type, on=on, customer=cust)
    for i, spec in enumerate(lines):
        product, qty, *rest = spec
        rest += [None] * (4 - len(rest))
        price, pct, amt, rate = rest
        line = doc.lines[0] if i == 0 else sales.add_line(doc, None)
        # First choose the product (its price and rate fill in), then set what the test says.
        if product is not None:
            sales.update_line(doc, line, LineValues(product, None, D(str(qty)), None, None, None, None))
        sales.update_line(doc, line, LineValues(
            product, None if product else "Free text line", D(str(qty)),
            D(str(price)) if price is not None else line.unit_price,
            D(str(pct)) if pct is not None else None, D(str(amt)) if amt is not None else None,
            D(str(rate)) if rate is not None else line.tax_rate))
    if post:
        sales.post_invoice(doc, **post_kw)
    return doc
