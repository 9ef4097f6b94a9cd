"""Helpers for stock tests: products and stock through the real services."""
from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal as D

from webapp.catalog import services as catalog
from webapp.inventory import services
from webapp.inventory.models import ISSUE, RECEIPT, RETURN_IN, TRANSFER
from webapp.inventory.services import MoveSpec
from webapp.ledger.services import post_entry

_n = itertools.count(1)


def product(name=None, *, costing="fifo", batches=False, **kw):
    n = next(_n)
    values = dict(sku=f"P{n:04d}", name=name or f"Product {n}", unit="pcs", tax_rate="18", sale_price="100",
                  kind="stocked", costing_method=costing, tracks_batches=batches, active=True)
    values.update(kw)
    return catalog.create_product(**values)


def move(kind, prod, qty, *, on=date(2026, 5, 1), src=None, dst=None, cost=None, batch=None, allow_expired=False,
         source="test"):
    """Apply one move and post its ledger lines, as a document would."""
    loc = services.default_location()
    if kind in (RECEIPT, RETURN_IN, "opening", "adjustment_in"):
        dst = dst or loc
    elif kind == TRANSFER:
        src = src or loc
    else:
        src = src or loc
    spec = MoveSpec(kind, prod, D(str(qty)), from_location=src, to_location=dst,
                    unit_cost=D(str(cost)) if cost is not None else None, batch=batch)
    result = services.apply([spec], on=on, source_type=source, allow_expired=allow_expired)
    if result.ledger_lines:
        post_entry(date=on, memo=kind, lines=result.ledger_lines, source_type=source)
    return result


def receive(prod, qty, cost, **kw):
    return move(RECEIPT, prod, qty, cost=cost, **kw)


def sell(prod, qty, **kw):
    return move(ISSUE, prod, qty, **kw)
