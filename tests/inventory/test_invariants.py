"""Property-based: random receipts, issues, transfers and adjustments keep
on hand equal to the sum of the moves (per product, batch and location), the
stock value equal to the inventory account, and the cost layers equal to the
pool — on SQLite and on PostgreSQL."""
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal as D

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.factories import create_org
from tests.inventory.helpers import move, product
from webapp.core.errors import DomainError
from webapp.core.tenancy import tenant
from webapp.extensions import db
from webapp.inventory import queries, services
from webapp.inventory.models import (ADJUSTMENT_IN, ADJUSTMENT_OUT, ISSUE, RECEIPT, TRANSFER, WRITE_OFF, CostLayer,
                                     ProductStock, StockBalance, StockMove)
from webapp.ledger.queries import balance_of_role

qty = st.decimals(min_value=D("0.001"), max_value=D("50"), places=3)
cost = st.decimals(min_value=D("0"), max_value=D("999.999999"), places=6)
ops = st.lists(st.tuples(st.sampled_from([RECEIPT, RECEIPT, ISSUE, TRANSFER, ADJUSTMENT_IN, ADJUSTMENT_OUT, WRITE_OFF]),
                         st.integers(0, 2), st.integers(0, 1), qty, cost, st.integers(0, 20)),
               min_size=1, max_size=15)


def check(products):
    t = StockMove
    signed_in = sa.select(t.product_id, t.batch_id, t.to_location_id.label("loc"), t.quantity).where(
        t.to_location_id.is_not(None))
    signed_out = sa.select(t.product_id, t.batch_id, t.from_location_id.label("loc"), -t.quantity).where(
        t.from_location_id.is_not(None))
    totals = defaultdict(lambda: D(0))
    for pid, bid, loc, q in db.session.execute(signed_in.union_all(signed_out)):
        totals[(pid, bid, loc)] += D(q)
    balances = {(b.product_id, b.batch_id, b.location_id): b.quantity for b in db.session.scalars(sa.select(StockBalance))}
    assert {k: v for k, v in totals.items() if v} == {k: v for k, v in balances.items() if v}
    for p in products:
        ps = db.session.scalars(sa.select(ProductStock).where(ProductStock.product_id == p.id)).first()
        if ps is None:
            continue
        assert ps.on_hand == sum((v for (pid, _, _), v in balances.items() if pid == p.id), D(0))
        if p.costing_method != "average":
            layers = db.session.scalars(sa.select(CostLayer).where(CostLayer.product_id == p.id)).all()
            assert sum((l.remaining_quantity for l in layers), D(0)) == ps.pool_quantity
            assert sum((l.remaining_value for l in layers), D(0)) == ps.pool_value
    rows, total = queries.valuation(date(2027, 12, 31))
    assert total == balance_of_role("inventory", date(2027, 12, 31))
    assert total == sum((m for m in db.session.scalars(sa.select(StockMove.value_change))), D(0))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(ops=ops, negative=st.booleans())
def test_random_stock_operations_keep_quantities_and_values_consistent(app, ops, negative):
    with app.app_context():
        org_id, _ = create_org()
        with tenant(org_id):
            from webapp.orgs.queries import current_organization
            services.set_allow_negative_stock(current_organization(), negative)
            products = [product(costing=m) for m in ("fifo", "lifo", "average")]
            locs = [services.default_location(), services.add_location("SHOP", "Shop floor", "store")]
            start = date(2026, 4, 1)
            for kind, pi, li, q, c, day in ops:
                p, here, there = products[pi], locs[li], locs[1 - li]
                on = start + timedelta(days=day)
                try:
                    if kind in (RECEIPT, ADJUSTMENT_IN):
                        move(kind, p, q, cost=c, dst=here, on=on)
                    elif kind == TRANSFER:
                        move(TRANSFER, p, q, src=here, dst=there, on=on)
                    else:
                        move(kind, p, q, src=here, on=on)
                except DomainError as exc:
                    assert "Insufficient stock" in exc.message and not negative
                check(products)
            db.session.rollback()
