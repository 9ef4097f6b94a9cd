"""Postings that share products and the journal never deadlock (PostgreSQL): every posting locks
the products' cost pools (in product order) before the journal's counter."""
import threading
from datetime import date

import pytest

from tests.conftest import needs_postgres
from tests.factories import create_org
from tests.inventory.helpers import product, receive
from tests.sales.helpers import customer, invoice
from webapp.core.tenancy import tenant
from webapp.extensions import db
from webapp.sales import services as sales


def _run(app, org_id, *workers):
    errors, lock = [], threading.Lock()

    def guarded(work):
        with app.app_context(), tenant(org_id):
            try:
                work()
            except Exception as exc:          # any deadlock, or anything else, fails the test
                db.session.rollback()
                with lock:
                    errors.append(repr(getattr(exc, "orig", exc))[:200])
            db.session.remove()
    threads = [threading.Thread(target=guarded, args=(w,)) for w in workers]
    [t.start() for t in threads]
    [t.join() for t in threads]
    return errors


@needs_postgres
@pytest.mark.parametrize("other", ["receipts", "cancellations"])
def test_invoices_posted_beside_receipts_or_cancellations_never_deadlock(app, other):
    with app.app_context():
        org_id, _ = create_org()
        with tenant(org_id):
            a, b = product(costing="fifo"), product(costing="average")
            receive(a, 100_000, "4", on=date(2026, 5, 1))
            receive(b, 100_000, "6", on=date(2026, 5, 1))
            c = customer()
            drafts = [invoice(c, (a, 1), (b, 1), on=date(2026, 5, 2)).id for _ in range(60)]
            posted = [invoice(c, (b, 2), (a, 2), on=date(2026, 5, 2), post=True).id for _ in range(30)]
            db.session.commit()
            ids = a.id, b.id

    def post(some):
        def work():
            from webapp.sales.models import SalesDocument
            for doc_id in some:
                sales.post_invoice(db.session.get(SalesDocument, doc_id))
                db.session.commit()
        return work

    def receive_some():
        from webapp.catalog.models import Product
        for n in range(25):
            for pid in (ids[n % 2], ids[1 - n % 2]):
                receive(db.session.get(Product, pid), 1, "5", on=date(2026, 5, 2))
                db.session.commit()

    def cancel(some):
        def work():
            from webapp.sales.models import SalesDocument
            for doc_id in some:
                sales.cancel_invoice(db.session.get(SalesDocument, doc_id), reason="test", on=date(2026, 5, 3))
                db.session.commit()
        return work
    others = [receive_some, receive_some] if other == "receipts" else [cancel(posted[k::2]) for k in range(2)]
    errors = _run(app, org_id, *[post(drafts[k::4]) for k in range(4)], *others)
    assert not errors, errors[:3]
