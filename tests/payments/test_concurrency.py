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


@needs_postgres
def test_recording_a_payment_over_ten_invoices_is_two_round_trips(app):
    """Reads and locks in one pipeline, writes in another: no statement of its own besides."""
    from webapp.core import pipeline
    from webapp.orgs.queries import current_organization
    with app.app_context():
        org_id, _ = create_org()
        with tenant(org_id):
            c = customer()
            invoices = [sale(c, 100, date(2026, 5, 1 + n)) for n in range(10)]
            account = bank()
            db.session.commit()
            # Loaded at the start of the request, as the view does (and kept, as in `g`).
            org = current_organization()
            account.org_id, c.name, org.lock_date  # noqa: B018
            sent = []

            def before(conn, cursor, statement, *args):
                if not statement.startswith(("SAVEPOINT", "RELEASE")):     # core.tx's, around services
                    sent.append(statement)
            sa.event.listen(db.engine, "before_cursor_execute", before)
            pipeline.SENT.append(sent.append)
            try:
                p = services.record_payment(direction="in", party=c, amount=D(1000), account=account, method="upi",
                                            on=date(2026, 6, 1), idempotency_key="form-2",
                                            allocations=[(inv, D(100)) for inv in invoices])
            finally:
                sa.event.remove(db.engine, "before_cursor_execute", before)
                pipeline.SENT.remove(sent.append)
            assert [s if isinstance(s, str) else list for s in sent] == [list, list]
            assert p.allocated_amount == D(1000) and all(inv.payment_status == "paid" for inv in invoices)
            db.session.commit()


@needs_postgres
def test_payments_recorded_at_once_over_one_invoice_never_over_pay_it_nor_leave_a_gap(app):
    with app.app_context():
        org_id, _ = create_org()
        with tenant(org_id):
            c = customer()
            invoice_id = sale(c, 1000, date(2026, 5, 1)).id
            db.session.commit()
            customer_id = c.id
    from webapp.parties.models import Party
    outcomes, lock, barrier = [], threading.Lock(), threading.Barrier(8)

    def submit():
        with app.app_context(), tenant(org_id):
            barrier.wait()
            try:
                services.record_payment(direction="in", party=db.session.get(Party, customer_id), amount=D(800),
                                        account=bank(), method="upi", on=date(2026, 5, 3),
                                        allocations=[(db.session.get(SalesDocument, invoice_id), D(800))])
                db.session.commit()
                result = "ok"
            except DomainError as exc:
                db.session.rollback()
                result = exc.message
            finally:
                db.session.remove()
            with lock:
                outcomes.append(result)

    _run([threading.Thread(target=submit) for _ in range(8)])
    assert outcomes.count("ok") == 1
    assert all("has only 200.00 outstanding" in o for o in outcomes if o != "ok")
    with app.app_context(), tenant(org_id):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Payment)) == 1
        doc = db.session.get(SalesDocument, invoice_id)
        assert doc.amount_paid == D(800) and doc.payment_status == "partly_paid"
        # The refused ones gave their numbers back: the next payment has the next number.
        first = db.session.scalars(sa.select(Payment.number)).one()
        second = receive(doc.customer, 200, date(2026, 5, 4), [(doc, 200)]).number
        assert (first[-5:], second[-5:]) == ("00001", "00002")


@needs_postgres
def test_a_payment_and_a_cancellation_of_its_invoice_at_once_one_wins(app):
    """Recording locks the invoice before it takes its numbers, as cancelling does: whichever
    comes first wins, the other is refused; they never wait on each other in a circle."""
    from webapp.parties.models import Party
    from webapp.sales import services as sales
    with app.app_context():
        org_id, _ = create_org()
        with tenant(org_id):
            c = customer()
            invoice_ids = [sale(c, 500, date(2026, 5, 1)).id for _ in range(6)]
            db.session.commit()
            customer_id = c.id
    outcomes, lock = [], threading.Lock()

    def run(what, invoice_id, barrier):
        with app.app_context(), tenant(org_id):
            barrier.wait()
            try:
                doc = db.session.get(SalesDocument, invoice_id)
                if what == "pay":
                    services.record_payment(direction="in", party=db.session.get(Party, customer_id),
                                            amount=D(500), account=bank(), method="cash", on=date(2026, 5, 2),
                                            allocations=[(doc, D(500))])
                else:
                    sales.cancel_invoice(doc, reason="mistake", on=date(2026, 5, 2))
                db.session.commit()
                result = (invoice_id, what)
            except DomainError as exc:
                db.session.rollback()
                result = (invoice_id, "refused: " + exc.message)
            finally:
                db.session.remove()
            with lock:
                outcomes.append(result)

    threads = []
    for invoice_id in invoice_ids:
        barrier = threading.Barrier(2)
        threads += [threading.Thread(target=run, args=(what, invoice_id, barrier)) for what in ("pay", "cancel")]
    _run(threads)
    assert len(outcomes) == 12
    for invoice_id in invoice_ids:
        won = [o for i, o in outcomes if i == invoice_id and not o.startswith("refused")]
        assert len(won) == 1
    with app.app_context(), tenant(org_id):
        for invoice_id in invoice_ids:
            doc = db.session.get(SalesDocument, invoice_id)
            paid = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Allocation.amount), 0))
                                     .where(Allocation.invoice_id == invoice_id))
            assert (doc.status, doc.amount_paid, paid) in (("cancelled", 0, 0), ("posted", D(500), D(500)))
        assert balance_of_role("receivables", date(2026, 5, 31)) == 0
