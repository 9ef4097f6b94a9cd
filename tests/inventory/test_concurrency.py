"""Concurrency on PostgreSQL: 20 threads make 200 attempts to sell the last 10 units."""
import threading
from datetime import date
from decimal import Decimal as D

import sqlalchemy as sa

from tests.conftest import needs_postgres
from tests.factories import create_org
from tests.inventory.helpers import product, receive, sell
from webapp.core.errors import DomainError
from webapp.core.tenancy import tenant
from webapp.extensions import db
from webapp.inventory.models import StockBalance
from webapp.ledger import queries as ledger


@needs_postgres
def test_exactly_ten_of_two_hundred_attempts_sell_the_last_ten_units(app):
    with app.app_context():
        org_id, _ = create_org()
        with tenant(org_id):
            p = product(costing="fifo")
            receive(p, 10, "25.50", on=date(2026, 5, 1))
            db.session.commit()
            product_id = p.id
    sold, refused, errors, lows = [], [], [], []
    lock = threading.Lock()
    barrier = threading.Barrier(20)

    def worker():
        with app.app_context(), tenant(org_id):
            from webapp.catalog.models import Product
            barrier.wait()
            for _ in range(10):
                try:
                    sell(db.session.get(Product, product_id), 1, on=date(2026, 5, 2))
                    db.session.commit()
                    with lock:
                        sold.append(1)
                except DomainError as exc:
                    db.session.rollback()
                    with lock:
                        refused.append(exc.message)
                except Exception as exc:  # anything else is a failure of the test
                    db.session.rollback()
                    with lock:
                        errors.append(repr(exc))
                q = db.session.scalar(sa.select(sa.func.min(StockBalance.quantity)))
                db.session.rollback()
                with lock:
                    lows.append(q)
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(20)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors, errors[:3]
    assert len(sold) == 10 and len(refused) == 190
    assert all("Insufficient stock" in m for m in refused)
    assert min(lows) >= 0
    with app.app_context(), tenant(org_id):
        assert db.session.scalar(sa.select(StockBalance.quantity)) == D("0")
        tb = ledger.trial_balance(date(2026, 4, 1), date(2026, 5, 31))
        assert tb.balanced
        assert ledger.balance_of_role("cogs", date(2026, 5, 31)) == D("255.00")
        assert ledger.balance_of_role("inventory", date(2026, 5, 31)) == D("0.00")
