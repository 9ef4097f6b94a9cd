"""Property-based: random invoices, bills, payments, allocations, unallocations, refunds and cancellations keep
every party's balance equal to its open documents less its credits, the sum of them equal to the control
account (receivables, payables), every document's status and amount paid equal to its allocations, and the aged
reports equal to the control accounts — on SQLite and on PostgreSQL."""
import dataclasses
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal as D

import sqlalchemy as sa
from hypothesis import HealthCheck, event, given, settings, strategies as st

from tests.conftest import is_postgres
from tests.factories import create_org
from tests.payments.helpers import bank, bill, customer, sale, supplier
from webapp.core.clock import today
from webapp.core.errors import DomainError
from webapp.core.tenancy import tenant
from webapp.extensions import db
from webapp.ledger.models import Account, JournalLine
from webapp.ledger.queries import balance_of_role
from webapp.parties.queries import balances
from webapp.payments import aging, queries, services
from webapp.payments.models import Allocation, Payment
from webapp.purchases.models import PurchaseDocument
from webapp.sales.models import SalesDocument
from webapp.sales import services as sales

money = st.decimals(min_value=D("0.01"), max_value=D("5000"), places=2)
ops = st.lists(st.tuples(
    st.sampled_from(["invoice", "invoice", "bill", "receive", "receive", "pay", "unallocate", "allocate", "refund",
                     "cancel_invoice", "cancel_payment"]),
    st.integers(0, 1), money, st.sampled_from(["fifo", "lifo", "due", "manual"]), st.integers(0, 1000)),
    min_size=4, max_size=16)


def _status_ok(doc) -> bool:
    if doc.grand_total == 0:
        return doc.payment_status == "paid"      # nothing to pay
    if doc.amount_paid == 0:
        return doc.payment_status == "unpaid"
    return doc.payment_status == ("paid" if doc.amount_paid == doc.grand_total else "partly_paid")


def snapshot_days() -> list[date]:
    """Past days kept (payments/aging.py) through the random operations, which are dated from 97 days
    ago on: most of them are back-dated for some of these days."""
    return [today() - timedelta(days=n) for n in (95, 61, 30, 1)]


def _by_party(stmt) -> dict:
    """{party: (buckets…, unallocated)} of a statement of sums per party, parties with something only."""
    return {party_id: tuple(D(a) for a in amounts) for party_id, *amounts in db.session.execute(stmt)
            if party_id is not None and any(amounts)}


def check(on: date):
    for model, col, role, direction in ((SalesDocument, Allocation.invoice_id, "receivables", "in"),
                                        (PurchaseDocument, Allocation.bill_id, "payables", "out")):
        active = defaultdict(lambda: D(0))
        for doc_id, amount in db.session.execute(sa.select(col, Allocation.amount).where(
                col.is_not(None), Allocation.unallocated_at.is_(None))):
            active[doc_id] += amount
        open_by_party = defaultdict(lambda: D(0))
        for doc in db.session.scalars(sa.select(model).where(model.status.in_(("posted", "cancelled")))):
            assert doc.amount_paid == active[doc.id] and 0 <= doc.amount_paid <= doc.grand_total
            assert _status_ok(doc)
            if doc.status == "posted":
                open_by_party[services.party_of(doc)] += doc.grand_total - doc.amount_paid
        for p in db.session.scalars(sa.select(Payment).where(Payment.direction == direction)):
            if p.refund_of_id is None and p.status == "posted":
                open_by_party[p.party_id] -= p.unallocated
        account_id = db.session.scalars(sa.select(Account.id).where(Account.role == role)).one()
        sign = 1 if role == "receivables" else -1
        ledger = defaultdict(lambda: D(0))
        for party_id, debit, credit in db.session.execute(sa.select(JournalLine.party_id, JournalLine.debit,
                                                                    JournalLine.credit)
                                                          .where(JournalLine.account_id == account_id)):
            assert party_id is not None  # the control account has no line without its party
            ledger[party_id] += sign * (debit - credit)
        assert {k: v for k, v in ledger.items() if v} == {k: v for k, v in open_by_party.items() if v}
        # What a posting's credit check reads (the sums kept by the trigger on journal_line).
        owed = balances(list(ledger), role)
        assert {k: v for k, v in owed.items() if v} == {k: v for k, v in ledger.items() if v}
        control = sign * balance_of_role(role, on)
        assert sum(ledger.values(), D(0)) == control
        kind = "customer" if direction == "in" else "supplier"
        assert queries.aged(kind, on).totals.total == control
        if is_postgres():
            # The sums kept by the triggers for today (payments/aging.py) equal adding up the documents.
            kept, added = queries.aged(kind, today(), kept=True), queries.aged(kind, today())
            assert [dataclasses.astuple(r) for r in kept.rows] == [dataclasses.astuple(r) for r in added.rows]
            assert dataclasses.astuple(kept.totals) == dataclasses.astuple(added.totals)
            # So do the snapshots of past days, kept by the triggers since before the first document.
            for day in snapshot_days():
                # kept == from what is stored now plus the changes since == every document of then
                assert _by_party(aging.snapshot_sums(kind, day)) == _by_party(queries.sums_added_up(kind, day)) \
                    == _by_party(queries.sums_added_up(kind, day, direct=True))
                kept, added = queries.aged(kind, day, kept=True), queries.aged(kind, day)
                assert [dataclasses.astuple(r) for r in kept.rows] == [dataclasses.astuple(r) for r in added.rows]
                assert dataclasses.astuple(kept.totals) == dataclasses.astuple(added.totals)
                assert kept.totals.total == sign * balance_of_role(role, day)
    for p in db.session.scalars(sa.select(Payment)):
        used = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Allocation.amount), 0)).where(
            Allocation.payment_id == p.id, Allocation.unallocated_at.is_(None)))
        assert p.allocated_amount == D(used) and p.allocated_amount + p.refunded_amount <= p.amount


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(ops=ops)
def test_random_payments_keep_balances_statuses_and_controls_consistent(app, ops):
    with app.app_context():
        org_id, _ = create_org()
        with tenant(org_id):
            customers = [customer(payment_terms_days=t) for t in (0, 15, 45)]
            suppliers = [supplier(payment_terms_days=t) for t in (7, 30, 60)]
            for kind in aging.KINDS:
                aging.refresh(kind, today())      # from here on the triggers keep today's sums
                for day in (snapshot_days() if is_postgres() else ()):
                    aging.snapshot(kind, day)     # and those of these past days
            # Around today, so that today's report has documents in every bucket.
            on = today() - timedelta(days=100)
            for n, (op, i, amount, policy, pick) in enumerate(ops):
                on = on + timedelta(days=3)
                try:
                    if op == "invoice":
                        sale(customers[i], amount, on)
                    elif op == "bill":
                        bill(suppliers[i], amount, on)
                    elif op in ("receive", "pay"):
                        direction = "in" if op == "receive" else "out"
                        party = (customers if direction == "in" else suppliers)[i]
                        items = queries.open_items(party, direction)
                        # Manual: the person types some amounts (one in three open items).
                        typed = {it.id: min(it.outstanding, amount) for k, it in enumerate(items)
                                 if policy == "manual" and (k + pick) % 3 == 0}
                        plan = services.plan(amount, items, policy, typed)
                        docs = queries.documents_by_id(direction, [r.item.id for r in plan.rows if r.amount])
                        parts = [(docs[r.item.id], r.amount) for r in plan.rows if r.amount > 0]
                        try:
                            services.record_payment(direction=direction, party=party, amount=amount, account=bank(),
                                                    method="upi", on=on, allocations=parts,
                                                    idempotency_key=f"k{n}" if pick % 2 else None)
                        except DomainError as exc:
                            assert not plan.ok and "more than" in exc.message
                    elif op == "unallocate":
                        active = db.session.scalars(sa.select(Allocation).where(Allocation.unallocated_at.is_(None))
                                                    .order_by(Allocation.id)).all()
                        if active:
                            services.unallocate(active[pick % len(active)], on=on)
                            event("unallocated")
                    elif op == "allocate":
                        credits = [p for p in db.session.scalars(sa.select(Payment).order_by(Payment.id))
                                   if p.unallocated > 0]
                        if credits:
                            p = credits[pick % len(credits)]
                            plan = services.plan(p.unallocated, queries.open_items(p.party, p.direction), policy)
                            docs = queries.documents_by_id(p.direction, [r.item.id for r in plan.rows if r.amount])
                            parts = [(docs[r.item.id], r.amount) for r in plan.rows if r.amount > 0]
                            if parts:
                                services.allocate_many(p, parts, on=on)
                                event("credit allocated")
                    elif op == "refund":
                        credits = [p for p in db.session.scalars(sa.select(Payment).order_by(Payment.id))
                                   if p.unallocated > 0]
                        if credits:
                            p = credits[pick % len(credits)]
                            services.refund(p, min(p.unallocated, amount), account=bank(), method="cash", on=on)
                            event("refunded")
                    elif op == "cancel_invoice":
                        unpaid = db.session.scalars(sa.select(SalesDocument).where(
                            SalesDocument.status == "posted", SalesDocument.amount_paid == 0)
                            .order_by(SalesDocument.id)).all()
                        if unpaid:
                            sales.cancel_invoice(unpaid[pick % len(unpaid)], reason="test", on=on)
                    elif op == "cancel_payment":
                        idle = [p for p in db.session.scalars(sa.select(Payment).where(Payment.status == "posted")
                                                              .order_by(Payment.id))
                                if p.allocated_amount == 0 and p.refunded_amount == 0]
                        if idle:
                            services.cancel_payment(idle[pick % len(idle)], reason="test", on=on)
                except services.AlreadyRecorded:
                    pass
                check(on)
                # And as of an earlier day: the aged reports still equal the control accounts.
                earlier = on - timedelta(days=pick % 20)
                for kind, role, sign in (("customer", "receivables", 1), ("supplier", "payables", -1)):
                    assert queries.aged(kind, earlier).totals.total == sign * balance_of_role(role, earlier)
                    assert _by_party(queries.sums_added_up(kind, earlier)) == \
                        _by_party(queries.sums_added_up(kind, earlier, direct=True))
            # Today's report reads the stored amounts (a different query): the same totals.
            for kind, role, sign in (("customer", "receivables", 1), ("supplier", "payables", -1)):
                assert queries.aged(kind, today()).totals.total == sign * balance_of_role(role, today())
                assert queries.aged(kind, today()).totals.total == queries.aged(kind, on).totals.total
            db.session.rollback()
