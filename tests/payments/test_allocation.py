"""Payments and allocations worked out by hand.

Metro Clinic (30 days' terms) is invoiced, with no tax:
  A  1 May 2026  1,000.00  due 31 May
  B 10 May 2026  2,500.00  due 9 Jun
  C 20 May 2026    800.00  due 25 May (agreed: due in five days)

A payment of 3,000 on 12 Jun is spread:
  FIFO (oldest invoice first):      A 1,000 (paid), B 2,000 (500 left), C 0.
  LIFO (newest first):              C 800 (paid), B 2,200 (300 left), A 0.
  By due date (earliest due first): C 800, A 1,000, B 1,200 (1,300 left).
  Manual, typed B 500:              B 500 and nothing else; 2,500 unallocated.
  FIFO with B typed 100:            B 100 stands; the other 2,900 go A 1,000, C 800; 1,100 unallocated.

Then, for real: 4,000 received FIFO → A and B paid, C 500 (300 left), no credit.
Then 1,000 more on 15 Jun → C 300 (paid), 700 credit carried forward; a new invoice D of
600 on 1 Jul takes 600 of the credit; 100 is refunded; 0 is left.
Receivables: 1,000 + 2,500 + 800 + 600 − 4,000 − 1,000 + 100 = 0.
"""
from datetime import date
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from tests.factories import create_org
from tests.payments.helpers import bank, bill, customer, pay, receive, sale, supplier
from webapp.core.errors import DomainError
from webapp.core.tenancy import tenant
from webapp.extensions import db
from webapp.ledger.models import JournalEntry
from webapp.ledger.queries import balance_of_role
from webapp.payments import queries, services
from webapp.payments.models import Allocation, Payment


@pytest.fixture
def books(app, ctx):
    org_id, _ = create_org("Lotus Pharmacy")
    with tenant(org_id):
        metro = customer("Metro Clinic", payment_terms_days=30)
        a = sale(metro, 1000, date(2026, 5, 1))
        b = sale(metro, 2500, date(2026, 5, 10))
        c = sale(metro, 800, date(2026, 5, 20), due=date(2026, 5, 25))
        yield dict(org=org_id, metro=metro, a=a, b=b, c=c)


def spread(books, policy, typed=None):
    items = queries.open_items(books["metro"], "in")
    result = services.plan(D(3000), items, policy, typed)
    by_number = {r.item.id: r.amount for r in result.rows}
    return [by_number[books[k].id] for k in "abc"], result.remainder, result.ok


def test_the_four_policies_spread_a_payment_as_worked_out(books):
    assert [i.outstanding for i in queries.open_items(books["metro"], "in")] == [D(1000), D(2500), D(800)]
    assert spread(books, "fifo") == ([D(1000), D(2000), D(0)], D(0), True)
    assert spread(books, "lifo") == ([D(0), D(2200), D(800)], D(0), True)
    assert spread(books, "due") == ([D(1000), D(1200), D(800)], D(0), True)
    assert spread(books, "manual", {books["b"].id: D(500)}) == ([D(0), D(500), D(0)], D(2500), True)
    assert spread(books, "fifo", {books["b"].id: D(100)}) == ([D(1000), D(100), D(800)], D(1100), True)
    # Typed amounts that cannot be: over the outstanding, negative, over the payment.
    _, _, ok = spread(books, "manual", {books["c"].id: D(801)})
    assert not ok
    _, _, ok = spread(books, "manual", {books["c"].id: D(-1)})
    assert not ok
    items = queries.open_items(books["metro"], "in")
    too_much = services.plan(D(500), items, "manual", {books["a"].id: D(400), books["b"].id: D(400)})
    assert not too_much.ok and "more than the payment" in too_much.errors[0]


def test_payments_credits_and_a_refund(books):
    b = books
    first = receive(b["metro"], 4000, date(2026, 6, 12), [(b["a"], 1000), (b["b"], 2500), (b["c"], 500)])
    assert (b["a"].payment_status, b["b"].payment_status, b["c"].payment_status) == ("paid", "paid", "partly_paid")
    assert (first.allocated_amount, first.unallocated) == (D(4000), D(0))
    entry = db.session.get(JournalEntry, first.entry_id)
    assert sorted((l.account.role, l.debit, l.credit, l.party_id) for l in entry.lines) == [
        ("bank", D(4000), D(0), None), ("receivables", D(0), D(4000), b["metro"].id)]
    second = receive(b["metro"], 1000, date(2026, 6, 15), [(b["c"], 300)])
    assert b["c"].payment_status == "paid" and second.unallocated == D(700)
    assert [p.id for p in queries.credits(b["metro"], "in")] == [second.id]
    assert balance_of_role("receivables", date(2026, 6, 30)) == D(-700)  # the customer has a credit
    d = sale(b["metro"], 600, date(2026, 7, 1))
    services.allocate(second, d, D(600))
    assert d.payment_status == "paid" and second.unallocated == D(100)
    back = services.refund(second, D(100), account=bank(), method="upi", on=date(2026, 7, 2), reference="UPI 7781")
    assert back.direction == "out" and back.refund_of_id == second.id and second.unallocated == 0
    assert sorted((l.account.role, l.debit, l.credit) for l in db.session.get(JournalEntry, back.entry_id).lines) == [
        ("bank", D(0), D(100)), ("receivables", D(100), D(0))]
    assert balance_of_role("receivables", date(2026, 7, 31)) == D(0)
    assert queries.credits(b["metro"], "in") == []
    # Undo one allocation: C is partly paid again, and the 300 is a credit again.
    allocation = db.session.scalars(sa.select(Allocation).where(Allocation.invoice_id == b["c"].id,
                                                               Allocation.payment_id == second.id)).one()
    services.unallocate(allocation)
    assert b["c"].payment_status == "partly_paid" and b["c"].amount_due == D(300) and second.unallocated == D(300)
    with pytest.raises(DomainError, match="already undone"):
        services.unallocate(allocation)
    # The customer's ledger runs to the same balance as the control account.
    ledger = queries.party_ledger(b["metro"], "receivables", date(2026, 5, 1), date(2026, 7, 31))
    assert ledger.opening == 0 and ledger.closing == balance_of_role("receivables", date(2026, 7, 31)) == 0
    assert [r.balance for r in ledger.rows] == [D(1000), D(3500), D(4300), D(300), D(-700), D(-100), D(0)]


def test_refusals_write_nothing(books):
    b = books
    other_customer = customer("Someone Else")
    theirs = sale(other_customer, 50, date(2026, 5, 2))
    payment = receive(b["metro"], 1000, date(2026, 6, 1))
    count = db.session.scalar(sa.select(sa.func.count()).select_from(Allocation))
    cases = [
        ([(b["a"], D(1001))], "has only 1,000.00 outstanding"),
        ([(b["a"], D(600)), (b["b"], D(600))], "more than the 1,000.00 left of the payment"),
        ([(theirs, D(10))], "another party's invoice"),
        ([(b["a"], D(-5))], "more than zero"),
        ([(b["a"], D("0.001"))], "decimal places"),
    ]
    for parts, message in cases:
        with pytest.raises(DomainError, match=message):
            services.allocate_many(payment, parts)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Allocation)) == count
        assert (payment.allocated_amount, b["a"].amount_paid, b["b"].amount_paid) == (0, 0, 0)
    supp = supplier("Landlord")
    rent = bill(supp, 700, date(2026, 5, 3))
    with pytest.raises(DomainError, match="settles invoices only"):
        services.allocate(payment, rent, D(10))
    with pytest.raises(DomainError, match="not a supplier"):
        pay(b["metro"], 10, date(2026, 6, 1))
    with pytest.raises(DomainError, match="more than zero"):
        receive(b["metro"], -10, date(2026, 6, 1))
    # A locked period: nothing is recorded, not even the number.
    from webapp.orgs.queries import current_organization
    current_organization().lock_date = date(2026, 6, 30)
    payments_before = db.session.scalar(sa.select(sa.func.count()).select_from(Payment))
    with pytest.raises(DomainError, match="locked"):
        receive(b["metro"], 100, date(2026, 6, 20), [(b["a"], 100)])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Payment)) == payments_before
    assert b["a"].amount_paid == 0
    current_organization().lock_date = None


def test_supplier_payments_settle_bills(app, ctx):
    org_id, _ = create_org("Lotus Pharmacy")
    with tenant(org_id):
        landlord = supplier("Jayanagar Properties", payment_terms_days=5)
        june = bill(landlord, 45000, date(2026, 6, 1))
        july = bill(landlord, 45000, date(2026, 7, 1))
        assert balance_of_role("payables", date(2026, 7, 31)) == D(-90000)
        p = pay(landlord, 60000, date(2026, 7, 3), [(june, 45000), (july, 15000)])
        assert (june.payment_status, july.payment_status, july.amount_due) == ("paid", "partly_paid", D(30000))
        entry = db.session.get(JournalEntry, p.entry_id)
        assert sorted((l.account.role, l.debit, l.credit) for l in entry.lines) == [
            ("bank", D(0), D(60000)), ("payables", D(60000), D(0))]
        assert balance_of_role("payables", date(2026, 7, 31)) == D(-30000)
        aged = queries.aged("supplier", date(2026, 7, 31))
        # July's bill was due on 6 Jul: 25 days past due on 31 Jul.
        assert [(r.name, r.d1_30, r.total) for r in aged.rows] == [("Jayanagar Properties", D(30000), D(30000))]
        assert -aged.totals.total == balance_of_role("payables", date(2026, 7, 31))


def test_aged_receivables_as_of_any_day(books):
    b = books
    receive(b["metro"], 1500, date(2026, 6, 12), [(b["a"], 1000)])  # and 500 on account
    # 30 Jun: A paid; B (due 9 Jun) 21 days late; C (due 25 May) 36 days late; a credit of 500.
    aged = queries.aged("customer", date(2026, 6, 30))
    (row,) = aged.rows
    assert (row.current, row.d1_30, row.d31_60, row.credit, row.total) == (0, D(2500), D(800), D(-500), D(2800))
    assert aged.totals.total == balance_of_role("receivables", date(2026, 6, 30)) == D(2800)
    # 1 Jun, before the payment: A due 31 May is 1 day late, B not due yet, C 7 days late.
    aged = queries.aged("customer", date(2026, 6, 1))
    (row,) = aged.rows
    assert (row.current, row.d1_30, row.credit, row.total) == (D(2500), D(1800), 0, D(4300))
    assert aged.totals.total == balance_of_role("receivables", date(2026, 6, 1))
    # 15 Sep: B is 98 days late and C 113: both over 90.
    aged = queries.aged("customer", date(2026, 9, 15))
    assert (aged.rows[0].over_90, aged.rows[0].d61_90) == (D(3300), 0)
    docs, credit_rows = queries.aged_documents("customer", b["metro"], date(2026, 6, 30))
    assert [(d.doc.id, d.outstanding, d.days_overdue, d.bucket) for d in docs] == [
        (b["c"].id, D(800), 36, "d31_60"), (b["b"].id, D(2500), 21, "d1_30")]
    assert [a for _, a in credit_rows] == [D(500)]


def test_recording_writes_the_payment_its_allocations_and_their_audit_trail(app, ctx):
    """On PostgreSQL a payment is recorded in two pipelines (reads and locks; writes); on SQLite
    through the ORM: either way the same rows, the objects as written, and an audit trail of the
    payment, each allocation and each invoice's amount paid."""
    from webapp.core import audit
    from webapp.core.audit import AuditLog
    from webapp.sales.models import SalesDocument
    org_id, user_id = create_org("Lotus Pharmacy")
    with tenant(org_id), audit.acting_as(user_id):
        c = customer("Metro Clinic")
        invoices = [sale(c, 100 + n, date(2026, 5, 1 + n)) for n in range(10)]
        parts = [(inv, inv.grand_total - (50 if n % 2 else 0)) for n, inv in enumerate(invoices)]
        allocated = sum((a for _, a in parts), D(0))
        db.session.commit()
        p = receive(c, 2000, date(2026, 6, 1), parts, reference=" NEFT 4471 ", idempotency_key="form-1")
        assert not (db.session.new or db.session.dirty)        # nothing left to flush
        assert (p.number, p.reference, p.allocated_amount, p.unallocated) == \
            ("RCT-2026-27-00001", "NEFT 4471", allocated, D(2000) - allocated)
        assert [(a.invoice_id, a.amount, a.date, a.active) for a in p.allocations] == \
            [(inv.id, a, date(2026, 6, 1), True) for inv, a in parts]
        assert [(inv.amount_paid, inv.payment_status) for inv in invoices] == \
            [(a, "paid" if n % 2 == 0 else "partly_paid") for n, (_, a) in enumerate(parts)]
        db.session.commit()
        # What the database holds is what the objects said.
        db.session.expire_all()
        fresh = db.session.get(Payment, p.id)
        assert (fresh.number, fresh.amount, fresh.allocated_amount, fresh.idempotency_key, fresh.created_by_id) == \
            ("RCT-2026-27-00001", D(2000), allocated, "form-1", user_id)
        entry = db.session.get(JournalEntry, fresh.entry_id)
        assert (entry.source_type, entry.source_id, entry.source_number) == ("payment", p.id, p.number)
        assert [(a.invoice_id, a.amount) for a in fresh.allocations] == [(inv.id, a) for inv, a in parts]
        assert [db.session.get(SalesDocument, inv.id).amount_paid for inv in invoices] == [a for _, a in parts]
        trail = db.session.execute(sa.select(AuditLog.action, AuditLog.record_type, AuditLog.record_id,
                                             AuditLog.user_id, AuditLog.new)
                                   .where(AuditLog.record_type.in_(("payment", "allocation", "sales_document")),
                                          AuditLog.at >= fresh.created_at)
                                   .order_by(AuditLog.id)).all()
        created = [t for t in trail if t.action == "create"]
        assert [(t.record_type, t.record_id) for t in created] == \
            [("payment", p.id)] + [("allocation", a.id) for a in fresh.allocations]
        assert D(created[0].new["amount"]) == D(2000)
        assert created[0].new["number"] == p.number and created[0].new["party_id"] == c.id
        assert {t.user_id for t in trail} == {user_id}
        paid = {t.record_id: t.new for t in trail if t.record_type == "sales_document"}
        assert {k: D(v["amount_paid"]) for k, v in paid.items()} == {inv.id: a for inv, a in parts}
        assert {k: v.get("payment_status") for k, v in paid.items()} == \
            {inv.id: "paid" if n % 2 == 0 else "partly_paid" for n, inv in enumerate(invoices)}
        # The payment as the whole trail has it at the end: what was written.
        last = {}
        for t in trail:
            if t.record_type == "payment":
                last.update(t.new)
        assert D(last["allocated_amount"]) == allocated and last["entry_id"] == fresh.entry_id


def test_a_refused_recording_takes_no_number(books):
    """The checks after the documents are locked refuse: nothing is written, and the next payment
    gets the number the refused one would have had."""
    b = books
    cases = [([(b["a"], D(1001))], "has only 1,000.00 outstanding"),
             ([(b["a"], D(600)), (b["b"], D(600))], "more than the 1,000.00 left of the payment"),
             ([(sale(customer("Someone Else"), 50, date(2026, 5, 2)), D(10))], "another party's invoice")]
    for parts, message in cases:
        with pytest.raises(DomainError, match=message):
            receive(b["metro"], 1000, date(2026, 6, 1), [(d, a) for d, a in parts])
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Payment)) == 0
        assert (b["a"].amount_paid, b["b"].amount_paid) == (0, 0)
    p = receive(b["metro"], 1000, date(2026, 6, 1), [(b["a"], D(1000))])
    assert p.number == "RCT-2026-27-00001" and b["a"].payment_status == "paid"
