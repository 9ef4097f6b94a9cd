"""Past days' aged balances kept per party (payments/aging.py, migration 0013): on PostgreSQL a past
day's snapshot, once built, equals adding up the documents, allocations and payments of that day
(both ways: from what is stored now plus the changes since, and every document of then) after
every kind of change dated on or before it (back-dated invoices, payments, allocations, undoing,
refunds, cancellations); a build racing with such changes loses none of them. On SQLite nothing
is kept and the report adds up."""
import threading
from datetime import timedelta
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from tests.conftest import is_postgres, needs_postgres
from tests.factories import create_org, login
from tests.payments.helpers import bank, bill, customer, pay, receive, sale, supplier, today_date
from tests.payments.test_aging import _rows, _thread
from webapp.core.tenancy import tenant
from webapp.extensions import db
from webapp.ledger.queries import balance_of_role
from webapp.parties.models import Party
from webapp.payments import aging, queries, services
from webapp.payments.models import AgedSnapshot, AgedSnapshotDay, Payment
from webapp.sales import services as sales
from webapp.sales.models import SalesDocument


def kept_days(kind: str) -> list:
    return sorted(db.session.scalars(sa.select(AgedSnapshotDay.day).where(AgedSnapshotDay.kind == kind)))


def _by_party(stmt) -> dict:
    """{party: (buckets…, unallocated)} of a statement of sums per party, parties with something only."""
    out = {}
    for party_id, *amounts in db.session.execute(stmt):
        if party_id is not None and any(amounts):
            out[party_id] = tuple(D(a) for a in amounts)
    return out


def snapshot_is_true(kind: str, day) -> queries.Aged:
    """The day's snapshot equals adding up the documents and payments of that day, party by party;
    the report from it equals the report that adds up; its total equals the control account."""
    assert day in kept_days(kind)
    # kept == from what is stored now plus the changes since == every document and allocation of then
    assert _by_party(aging.snapshot_sums(kind, day)) == _by_party(queries.sums_added_up(kind, day)) == \
        _by_party(queries.sums_added_up(kind, day, direct=True))
    kept, added = queries.aged(kind, day, kept=True), queries.aged(kind, day)
    assert _rows(kept) == _rows(added)
    assert (kept.totals.total, kept.count) == (added.totals.total, added.count)
    role, sign = ("receivables", 1) if kind == "customer" else ("payables", -1)
    assert kept.totals.total == sign * balance_of_role(role, day)
    return kept


@needs_postgres
def test_every_back_dated_change_reaches_the_snapshots(app):
    t = today_date()
    days = sorted({aging.last_month_end(t), t - timedelta(days=45), t - timedelta(days=10), t - timedelta(days=1)})
    with app.app_context():
        org_id, _ = create_org()
        with tenant(org_id):
            a, b = customer(name="Anand Stores"), customer(name="Bharat Medicals")
            s = supplier(name="Chitra Wholesale")
            old = sale(a, 1000, t - timedelta(days=120), due=t - timedelta(days=95))
            mid = sale(b, 500, t - timedelta(days=50), due=t - timedelta(days=40))
            b1 = bill(s, 2000, t - timedelta(days=70), due=t - timedelta(days=65))
            for kind in aging.KINDS:
                for day in days:
                    assert aging.snapshot(kind, day)
            assert not aging.snapshot("customer", days[0])       # kept already

            def check():
                for kind in aging.KINDS:
                    for day in days:
                        snapshot_is_true(kind, day)

            check()
            report = snapshot_is_true("customer", t - timedelta(days=45))
            assert [(r.name, r.d31_60, r.current, r.total) for r in report.rows] == [
                ("Anand Stores", D(1000), 0, D(1000)), ("Bharat Medicals", 0, D(500), D(500))]

            # Each kind of change, dated before some snapshot days and after others.
            inv60 = sale(a, 300, t - timedelta(days=60), due=t - timedelta(days=30))        # a back-dated invoice
            check()
            p = receive(a, 700, t - timedelta(days=30), [(old, 600)])                       # a part, 100 on account
            check()
            assert snapshot_is_true("customer", t - timedelta(days=10)).rows[0].credit == D(-100)
            services.allocate_many(p, [(inv60, D(100))], on=t - timedelta(days=20))         # the credit, later
            check()
            (first,) = [x for x in p.allocations if x.invoice_id == old.id]
            services.unallocate(first, on=t - timedelta(days=5))                             # undone since
            check()
            short = sale(b, 250, t - timedelta(days=15))
            sales.cancel_invoice(short, reason="wrong customer", on=t - timedelta(days=8))  # counted a week
            check()
            advance = receive(b, 400, t - timedelta(days=40))
            back = services.refund(advance, D(150), account=bank(), method="cash", on=t - timedelta(days=12))
            check()
            services.cancel_payment(back, reason="refund not made", on=t - timedelta(days=3))
            check()
            services.cancel_payment(receive(a, 50, t - timedelta(days=25)), reason="duplicate",
                                    on=t - timedelta(days=6))
            check()
            # A document's row changed with plain SQL is counted too (triggers, not the ORM).
            db.session.execute(sa.update(SalesDocument).where(SalesDocument.id == mid.id)
                               .values(due_date=t - timedelta(days=2)))
            check()
            # Bills and supplier payments: the payables side.
            pay(s, 1000, t - timedelta(days=33), [(b1, 1000)])
            bill(s, 800, t - timedelta(days=3), due=t + timedelta(days=27))
            check()
            # Dated today or later: no past day changes.
            before = {day: _by_party(aging.snapshot_sums("customer", day)) for day in days}
            sale(b, 900, t)
            receive(b, 60, t + timedelta(days=2), [(mid, 60)])
            assert {day: _by_party(aging.snapshot_sums("customer", day)) for day in days} == before
            check()
            db.session.rollback()


@needs_postgres
def test_the_first_report_of_a_past_day_keeps_it_and_the_next_ones_read_it(app, client):
    t = today_date()
    past = t - timedelta(days=20)
    with app.app_context():
        org_id, _ = create_org(email="past.owner@example.com")
        with tenant(org_id):
            c = customer(name="Devi Textiles")
            inv = sale(c, 1234, t - timedelta(days=50), due=t - timedelta(days=45))
            receive(c, 234, t - timedelta(days=5), [(inv, 234)])
            db.session.commit()
            party_id, invoice_id = c.id, inv.id
    login(client, "past.owner@example.com")
    body = client.get(f"/payments/aged/customer?as_of={past.isoformat()}").get_data(as_text=True)
    assert "Devi Textiles" in body and "1,234.00" in body
    with app.app_context(), tenant(org_id):
        # The GET rolled back its own transaction, but the snapshot was committed first.
        assert kept_days("customer") == [past]
        assert db.session.scalar(sa.select(AgedSnapshot.d1_30)) == D(1234)
        # A payment dated before it, made later, reaches it.
        receive(db.session.get(Party, party_id), 100, past - timedelta(days=1),
                [(db.session.get(SalesDocument, invoice_id), 100)])
        db.session.commit()
    body = client.get(f"/payments/aged/customer?as_of={past.isoformat()}").get_data(as_text=True)
    assert "1,134.00" in body
    with app.app_context(), tenant(org_id):
        assert kept_days("customer") == [past]
        snapshot_is_true("customer", past)


@needs_postgres
def test_month_ends_stay_and_only_the_latest_other_days(app, monkeypatch):
    monkeypatch.setattr(aging, "KEEP_DAYS", 2)
    t = today_date()
    month_end = aging.last_month_end(aging.last_month_end(t))
    others = [d for d in (t - timedelta(days=n) for n in range(70, 0, -1)) if not aging.is_month_end(d)][-5:]
    with app.app_context():
        org_id, _ = create_org()
        with tenant(org_id):
            sale(customer(), 100, t - timedelta(days=80))
            aging.snapshot("customer", month_end)
            for day in others[:3]:
                aging.snapshot("customer", day)
            assert kept_days("customer") == [month_end, others[1], others[2]]
            aging.snapshot("customer", others[0])       # an older day asked for: kept, the oldest other goes
            assert kept_days("customer") == [month_end, others[0], others[2]]
            assert sorted(db.session.scalars(sa.select(AgedSnapshot.day).distinct())) == kept_days("customer")
            for day in kept_days("customer"):
                snapshot_is_true("customer", day)
            # Rebuilt on demand, the same.
            assert aging.snapshot("customer", others[2], force=True)
            snapshot_is_true("customer", others[2])
            db.session.rollback()


@needs_postgres
def test_a_build_racing_with_back_dated_payments_loses_none_of_them(app):
    """Ten threads record payments dated before the snapshot day on their own invoices while
    another builds the day's snapshot over and over (dropping and adding it up again): at the end
    the snapshot equals adding up."""
    t = today_date()
    day = t - timedelta(days=10)
    with app.app_context():
        org_id, _ = create_org()
        with tenant(org_id):
            parties = [customer(name=f"Race {n}") for n in range(10)]
            invoices = {p.id: [sale(p, 100, t - timedelta(days=60 + k), due=t - timedelta(days=40 + k)).id
                               for k in range(12)] for p in parties}
            aging.snapshot("customer", day)
            db.session.commit()
    errors, stop, made = [], threading.Event(), []

    def payer(party_id, invoice_ids):
        for n, doc_id in enumerate(invoice_ids):
            services.record_payment(direction="in", party=db.session.get(Party, party_id), amount=D(40),
                                    account=bank(), method="upi", on=day - timedelta(days=n % 3),
                                    allocations=[(db.session.get(SalesDocument, doc_id), D(40 - n))])
            db.session.commit()
            made.append(doc_id)
            if len(made) >= 60:
                stop.set()

    def builder():
        while not stop.is_set():
            aging.snapshot("customer", day, force=True)
            db.session.commit()

    threads = [_thread(app, org_id, errors, payer, p, ids) for p, ids in invoices.items()]
    build = _thread(app, org_id, errors, builder)
    build.start()
    [t_.start() for t_ in threads]
    [t_.join() for t_ in threads]
    stop.set()
    build.join()
    assert errors == [] and len(made) == 120
    with app.app_context(), tenant(org_id):
        report = snapshot_is_true("customer", day)
        # Each party paid 40 twelve times and allocated 40, 39, … 29 of them: 66 on account.
        assert report.count == 10 and report.totals.credit == D(-66 * 10)


@needs_postgres
def test_a_back_dated_payment_made_while_a_day_is_built_is_counted_in_it(app):
    """The build has added up the day but not committed; a payment dated before the day comes: its
    triggers wait for the build (the aged day's row is locked) and then add it to the new
    snapshot."""
    t = today_date()
    day = t - timedelta(days=7)
    with app.app_context():
        org_id, _ = create_org()
        with tenant(org_id):
            c = customer(name="Eshwar Pharma")
            inv = sale(c, 100, t - timedelta(days=100), due=t - timedelta(days=90))
            db.session.commit()
            party_id, invoice_id = c.id, inv.id
    built, go, errors = threading.Event(), threading.Event(), []

    def build():
        aging.snapshot("customer", day)
        built.set()
        go.wait(10)
        db.session.commit()

    def payment():
        services.record_payment(direction="in", party=db.session.get(Party, party_id), amount=D(70),
                                account=bank(), method="cash", on=day - timedelta(days=2),
                                allocations=[(db.session.get(SalesDocument, invoice_id), D(40))])
        db.session.commit()

    b = _thread(app, org_id, errors, build, finally_set=built)
    b.start()
    assert built.wait(10)
    p = _thread(app, org_id, errors, payment)
    p.start()
    p.join(1.5)          # it waits for the build
    assert p.is_alive()
    go.set()
    b.join()
    p.join()
    assert errors == []
    with app.app_context(), tenant(org_id):
        report = snapshot_is_true("customer", day)
        assert [(r.d61_90, r.credit, r.total) for r in report.rows] == [(D(60), D(-30), D(30))]


@needs_postgres
def test_a_report_of_a_past_day_does_not_wait_long_for_postings_in_flight(app, monkeypatch):
    t = today_date()
    day = t - timedelta(days=4)
    with app.app_context():
        org_id, _ = create_org()
        with tenant(org_id):
            c = customer(name="Farooq Traders")
            sale(c, 500, t - timedelta(days=9))
            db.session.commit()
            customer_id = c.id
    holding, done, errors = threading.Event(), threading.Event(), []

    def slow_posting():
        sale(db.session.get(Party, customer_id), 70, day - timedelta(days=1))
        holding.set()
        done.wait(10)
        db.session.commit()

    th = _thread(app, org_id, errors, slow_posting, finally_set=holding)
    th.start()
    assert holding.wait(10)
    monkeypatch.setattr(aging, "WAIT", "200ms")
    try:
        with app.app_context(), tenant(org_id):
            assert aging.ready("customer", day) is False
            assert queries.aged("customer", day).totals.total == D(500)
            assert kept_days("customer") == []
            db.session.rollback()
    finally:
        done.set()
        th.join()
    assert errors == []
    with app.app_context(), tenant(org_id):
        assert aging.ready("customer", day)
        assert snapshot_is_true("customer", day).totals.total == D(570)


@needs_postgres
def test_the_morning_job_keeps_the_last_month_end(app):
    from tests.conftest import drain_jobs
    from webapp.core import jobs
    from webapp.payments.jobs import enqueue_overdue_check
    t = today_date()
    with app.app_context():
        org_id, _ = create_org()
        with tenant(org_id):
            sale(customer(), 100, t - timedelta(days=70))
            bill(supplier(), 60, t - timedelta(days=50))
            enqueue_overdue_check(t)
            db.session.commit()
            jobs.dispatch_pending()
    drain_jobs(app)
    with app.app_context(), tenant(org_id):
        for kind in aging.KINDS:
            assert kept_days(kind) == [aging.last_month_end(t)]
            snapshot_is_true(kind, aging.last_month_end(t))


def test_on_sqlite_no_past_day_is_kept(app):
    if is_postgres():
        pytest.skip("PostgreSQL keeps them (the tests above)")
    t = today_date()
    with app.app_context():
        org_id, _ = create_org()
        with tenant(org_id):
            c = customer()
            inv = sale(c, 10, t - timedelta(days=30))
            receive(c, 4, t - timedelta(days=2), [(inv, 4)])
            day = t - timedelta(days=5)
            assert aging.ready("customer", day) is False
            assert aging.snapshot("customer", day) is False
            assert db.session.scalar(sa.select(sa.func.count()).select_from(AgedSnapshot)) == 0
            assert queries.aged("customer", day).totals.total == D(10)
            assert db.session.scalar(sa.select(sa.func.count()).select_from(Payment)) == 1
            db.session.rollback()
