"""On PostgreSQL: invoice numbers stay gapless and unique under concurrency,
and two clicks on "post" racing each other post once."""
import random
import threading
from datetime import date

import sqlalchemy as sa

from tests.conftest import needs_postgres
from tests.factories import create_org
from tests.inventory.helpers import product, receive
from tests.sales.helpers import customer, invoice
from webapp.core.errors import DomainError
from webapp.core.tenancy import tenant
from webapp.extensions import db
from webapp.ledger.models import JournalEntry
from webapp.ledger.queries import trial_balance
from webapp.sales import services
from webapp.sales.models import SalesDocument


def _setup(app, n_orgs=2):
    out = []
    with app.app_context():
        for _ in range(n_orgs):
            org_id, _ = create_org(fiscal_year_start_month=4)
            with tenant(org_id):
                p = product(sale_price="10", tax_rate="18")
                receive(p, 5000, "4", on=date(2026, 5, 1))
                c = customer()
                db.session.commit()
                out.append((org_id, p.id, c.id))
    return out


@needs_postgres
def test_500_invoices_from_10_threads_with_rollbacks_are_numbered_1_to_n(app):
    orgs = _setup(app)
    committed = {org_id: [] for org_id, _, _ in orgs}
    errors, lock = [], threading.Lock()

    def worker(seed):
        rnd = random.Random(seed)
        with app.app_context():
            for k in range(50):
                org_id, product_id, customer_id = orgs[(seed + k) % len(orgs)]
                with tenant(org_id):
                    try:
                        from webapp.catalog.models import Product
                        from webapp.parties.models import Party
                        doc = invoice(db.session.get(Party, customer_id), (db.session.get(Product, product_id), 1),
                                      on=date(2026, 5, 2))
                        db.session.commit()
                        services.post_invoice(doc)
                        if rnd.random() < 0.2:
                            db.session.rollback()  # forced: the number must come back
                            continue
                        number = doc.number
                        db.session.commit()
                        with lock:
                            committed[org_id].append(number)
                    except Exception as exc:
                        db.session.rollback()
                        with lock:
                            errors.append(repr(exc))
            db.session.remove()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(10)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors, errors[:3]
    total = 0
    for org_id, numbers in committed.items():
        seq = sorted(int(n.rsplit("-", 1)[1]) for n in numbers)
        assert seq == list(range(1, len(seq) + 1)), f"gaps or duplicates in org {org_id}"
        total += len(seq)
        with app.app_context(), tenant(org_id):
            posted = db.session.scalars(sa.select(SalesDocument.number).where(SalesDocument.status == "posted")).all()
            assert sorted(posted) == sorted(numbers)
            assert trial_balance(date(2026, 4, 1), date(2026, 5, 31)).balanced
    assert 300 < total < 500  # about a fifth rolled back


@needs_postgres
def test_two_racing_posts_of_one_invoice_post_it_once(app):
    (org_id, product_id, customer_id), = _setup(app, 1)
    with app.app_context(), tenant(org_id):
        from webapp.catalog.models import Product
        from webapp.parties.models import Party
        doc = invoice(db.session.get(Party, customer_id), (db.session.get(Product, product_id), 1))
        db.session.commit()
        doc_id = doc.id
    results, barrier = [], threading.Barrier(4)

    def click():
        with app.app_context(), tenant(org_id):
            barrier.wait()
            try:
                services.post_invoice(db.session.get(SalesDocument, doc_id))
                db.session.commit()
                results.append("posted")
            except DomainError as exc:
                db.session.rollback()
                results.append(type(exc).__name__)
            db.session.remove()

    threads = [threading.Thread(target=click) for _ in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(results) == ["AlreadyPosted"] * 3 + ["posted"]
    with app.app_context(), tenant(org_id):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(JournalEntry)
                                 .where(JournalEntry.source_type == "invoice")) == 1
