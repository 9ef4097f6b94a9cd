"""On PostgreSQL, with threads: a payment is never over-allocated, an invoice never over-paid, and one
idempotency key records one payment, whatever the interleaving."""
import threading
from datetime import date
from decimal import Decimal as D

import sqlalchemy as sa

from tests.conftest import needs_postgres
from tests.factories import create_org
from tests.payments.helpers import bank, customer, receive, sale
from webapp.core.errors import DomainError
from webapp.core.tenancy import tenant
from webapp.extensions import db
from webapp.ledger.models import JournalEntry
from webapp.ledger.queries import balance_of_role
from webapp.payments import services
from webapp.payments.models import Allocation, Payment
from webapp.sales.models import SalesDocument


def _run(threads):
    [t.start() for t in threads]
    [t.join() for t in threads]


def _race_allocations(app, org_id, pairs, amount) -> list[str]:
    """Allocate `amount` for each (payment id, invoice id) at once, one thread each, released together;
    "ok" or the refusal's message per thread."""
    outcomes, lock, barrier = [], threading.Lock(), threading.Barrier(len(pairs))

    def worker(payment_id, invoice_id):
        with app.app_context(), tenant(org_id):
            barrier.wait()
            try:
                services.allocate(db.session.get(Payment, payment_id), db.session.get(SalesDocument, invoice_id),
                                  amount)
                db.session.commit()
                result = "ok"
            except DomainError as exc:
                db.session.rollback()
                result = exc.message
            finally:
                db.session.remove()
            with lock:
                outcomes.append(result)

    _run([threading.Thread(target=worker, args=pair) for pair in pairs])
    return outcomes


@needs_postgres
def test_50_threads_allocating_one_payment_never_exceed_it(app):
    with app.app_context():
        org_id, _ = create_org()
        with tenant(org_id):
            c = customer()
            invoice_ids = [sale(c, 100, date(2026, 5, 1)).id for _ in range(50)]
            payment_id = receive(c, 2550, date(2026, 5, 2)).id  # room for 25 full invoices and a half
            db.session.commit()
    outcomes = _race_allocations(app, org_id, [(payment_id, i) for i in invoice_ids], D(100))
    assert outcomes.count("ok") == 25
    assert all("left of the payment" in o for o in outcomes if o != "ok")
    with app.app_context(), tenant(org_id):
        payment = db.session.get(Payment, payment_id)
        total = db.session.scalar(sa.select(sa.func.sum(Allocation.amount)).where(Allocation.payment_id == payment_id))
        assert payment.allocated_amount == total == D(2500) and payment.unallocated == D(50)
        paid = db.session.scalar(sa.select(sa.func.count()).select_from(SalesDocument)
                                 .where(SalesDocument.payment_status == "paid"))
        assert paid == 25


@needs_postgres
def test_two_payments_racing_for_one_invoice_never_over_pay_it(app):
    with app.app_context():
        org_id, _ = create_org()
        with tenant(org_id):
            c = customer()
            invoice_id = sale(c, 1000, date(2026, 5, 1)).id
            payment_ids = [receive(c, 800, date(2026, 5, 2)).id for _ in range(8)]
            db.session.commit()
    outcomes = _race_allocations(app, org_id, [(p, invoice_id) for p in payment_ids], D(800))
    assert outcomes.count("ok") == 1
    assert all("has only 200.00 outstanding" in o for o in outcomes if o != "ok")
    with app.app_context(), tenant(org_id):
        doc = db.session.get(SalesDocument, invoice_id)
        assert doc.amount_paid == D(800) and doc.payment_status == "partly_paid"


@needs_postgres
def test_one_idempotency_key_records_one_payment_sequentially_and_concurrently(app):
    with app.app_context():
        org_id, _ = create_org()
        with tenant(org_id):
            c = customer()
            invoice_id = sale(c, 1000, date(2026, 5, 1)).id
            db.session.commit()
            customer_id = c.id
    from webapp.parties.models import Party
    outcomes, lock, barrier = [], threading.Lock(), threading.Barrier(10)

    def submit(wait=True):
        with app.app_context(), tenant(org_id):
            if wait:
                barrier.wait()
            try:
                p = services.record_payment(direction="in", party=db.session.get(Party, customer_id), amount=D(600),
                                            account=bank(), method="upi", on=date(2026, 5, 3),
                                            idempotency_key="form-key-1",
                                            allocations=[(db.session.get(SalesDocument, invoice_id), D(600))])
                db.session.commit()
                result = ("new", p.number)
            except services.AlreadyRecorded as exc:
                db.session.rollback()
                result = ("again", exc.details["payment"].number)
            finally:
                db.session.remove()
            with lock:
                outcomes.append(result)

    _run([threading.Thread(target=submit) for _ in range(10)])
    submit(wait=False)  # and once more, later
    assert [k for k, _ in outcomes].count("new") == 1
    assert len({n for _, n in outcomes}) == 1
    with app.app_context(), tenant(org_id):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Payment)) == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(JournalEntry)
                                 .where(JournalEntry.source_type == "payment")) == 1
        assert db.session.get(SalesDocument, invoice_id).amount_paid == D(600)
        assert balance_of_role("receivables", date(2026, 5, 31)) == D(400)
